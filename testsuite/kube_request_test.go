package testsuite

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/velaflow/velaflow/workflows"
)

// request's headersFromSecret reads header values from Secrets of the
// run's namespace in the default cluster.
func TestKubeRequestHeadersFromSecret(t *testing.T) {
	b := theKubeBed(t)
	var got string
	var hits int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		got = r.Header.Get("Authorization")
		w.Write([]byte(`{"ok": true}`))
	}))
	defer srv.Close()
	cs, err := kubernetes.NewForConfig(b.clusters["shanghai"].RESTConfig())
	require.NoError(t, err)
	_, err = cs.CoreV1().Secrets("default").Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "api-token"},
		StringData: map[string]string{"token": "Bearer s3cr3t"},
	}, metav1.CreateOptions{})
	require.NoError(t, err)

	st := b.run(t, "kube-request-secret", fmt.Sprintf(`
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: kube-request-secret}
spec:
  workflowSpec:
    steps:
      - name: call
        type: request
        properties:
          url: %s
          headersFromSecret: [{header: Authorization, secret: api-token, key: token}]
`, srv.URL))
	require.Equal(t, workflows.RunSucceeded, st.Phase, "%+v", st)
	assert.Equal(t, "Bearer s3cr3t", got)

	st = b.run(t, "kube-request-nosecret", fmt.Sprintf(`
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: kube-request-nosecret}
spec:
  workflowSpec:
    steps:
      - name: call
        type: request
        properties:
          url: %s
          headersFromSecret: [{header: Authorization, secret: no-such-secret, key: token}]
`, srv.URL))
	call := stepOf(st, "call")
	assert.Equal(t, workflows.StepFailed, call.Phase)
	assert.Equal(t, workflows.ReasonExecute, call.Reason)
	assert.Contains(t, call.Message, "secret default/no-such-secret not found")
	assert.Equal(t, 1, hits, "a request whose secret is missing is not sent")
}

// webhook's url.secretRef reads the URL from a Secret of the run's
// namespace in the default cluster; a missing Secret fails the step and
// posts nothing.
func TestKubeWebhookURLFromSecret(t *testing.T) {
	b := theKubeBed(t)
	var posts int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts++
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	cs, err := kubernetes.NewForConfig(b.clusters["shanghai"].RESTConfig())
	require.NoError(t, err)
	_, err = cs.CoreV1().Secrets("default").Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "hook-url"},
		StringData: map[string]string{"url": srv.URL + "/hook"},
	}, metav1.CreateOptions{})
	require.NoError(t, err)

	run := func(name, secret string) *workflows.Status {
		return b.run(t, name, fmt.Sprintf(`
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: %s}
spec:
  workflowSpec:
    steps:
      - {name: notify, type: webhook, properties: {url: {secretRef: {name: %s, key: url}}, data: {event: done}}}
`, name, secret))
	}
	st := run("kube-webhook-secret", "hook-url")
	require.Equal(t, workflows.RunSucceeded, st.Phase, "%+v", st)
	assert.Equal(t, 1, posts)

	st = run("kube-webhook-nosecret", "no-such-hook")
	notify := stepOf(st, "notify")
	assert.Equal(t, workflows.StepFailed, notify.Phase)
	assert.Equal(t, workflows.ReasonExecute, notify.Reason)
	assert.Contains(t, notify.Message, "secret default/no-such-hook not found")
	assert.Equal(t, 1, posts, "nothing is posted without the URL")
}
