package testsuite

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/velaflow/velaflow/workflows"
)

// tls_config: the CA and client certificate come from a Secret, and a
// local HTTPS server that requires a client certificate answers. The
// Secret's keys may hold PEM, or PEM in base64 as KubeVela reads them.
func TestCompatHTTPClientCertificate(t *testing.T) {
	t.Parallel()
	b := theKubeBed(t)
	const ns = "ce-mtls"
	b.ksNamespace(t, ns, "shanghai")
	var mu sync.Mutex
	var clients []string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		clients = append(clients, r.TLS.PeerCertificates[0].Subject.CommonName)
		fmt.Fprintf(w, `{"hello": %q}`, r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	srv.TLS = testCA.serverTLS()
	srv.TLS.ClientAuth, srv.TLS.ClientCAs = tls.RequireAndVerifyClientCert, testCA.pool
	srv.StartTLS()
	defer srv.Close()

	_, crt, key := testCA.issue("deploy-bot", true)
	b64 := func(p []byte) []byte { return []byte(base64.StdEncoding.EncodeToString(p)) }
	for name, data := range map[string]map[string][]byte{
		"mtls-pem":    {"ca.crt": testCA.certPEM, "client.crt": crt, "client.key": key},
		"mtls-base64": {"ca.crt": b64(testCA.certPEM), "client.crt": b64(crt), "client.key": b64(key)},
	} {
		_, err := b.ksClient(t, "shanghai").CoreV1().Secrets(ns).Create(context.Background(),
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Data: data}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	r := b.ksStart(t, ns, "ce-mtls", ksSteps("ce-mtls", ns,
		fmt.Sprintf(`- {name: new-style, type: call-mtls, properties: {url: %q, secret: mtls-pem}, outputs: [{name: hello, valueFrom: body.hello}]}`, srv.URL),
		fmt.Sprintf(`- {name: legacy, type: call-mtls-legacy, properties: {url: %q, secret: mtls-base64}, outputs: [{name: status, valueFrom: get.response.statusCode}]}`, srv.URL),
	)+`---
apiVersion: core.oam.dev/v1beta1
kind: WorkflowStepDefinition
metadata: {name: call-mtls}
spec:
  schematic:
    cue:
      template: |
        import ("vela/http", "encoding/json")
        parameter: {url: string, secret: string}
        get: http.#HTTPGet & {$params: {url: parameter.url, tls_config: secret: parameter.secret}}
        body: json.Unmarshal(get.$returns.body)
---
apiVersion: core.oam.dev/v1beta1
kind: WorkflowStepDefinition
metadata: {name: call-mtls-legacy}
spec:
  schematic:
    cue:
      template: |
        import "vela/op"
        parameter: {url: string, secret: string}
        get: op.#HTTPGet & {url: parameter.url, tls_config: {secret: parameter.secret, namespace: context.namespace}}
`)
	st := r.end(t)
	require.Equal(t, workflows.RunSucceeded, st.Phase, r.describe(t))
	assert.Equal(t, "deploy-bot", stepOf(st, "new-style").Outputs["hello"])
	assert.EqualValues(t, 200, stepOf(st, "legacy").Outputs["status"])
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"deploy-bot", "deploy-bot"}, clients)
}

// request.ratelimiter: five steps call one URL at once with at most 2
// requests per 2s; the worker holds back what is over the limit (the step
// retries) so that no 2s window at the server sees more than 2.
func TestCompatHTTPRateLimiter(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var arrivals []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		arrivals = append(arrivals, time.Now())
		fmt.Fprint(w, `{"ok": true}`)
	}))
	defer srv.Close()
	step := `      - {name: call-%d, type: limited-get, properties: {url: %q}, retry: {limit: 30, backoff: 300ms, maxBackoff: 300ms}}` + "\n"
	yaml := "apiVersion: core.oam.dev/v1alpha1\nkind: WorkflowRun\nmetadata: {name: ce-ratelimit}\nspec:\n  mode: {steps: DAG}\n  workflowSpec:\n    steps:\n"
	for i := 1; i <= 5; i++ {
		yaml += fmt.Sprintf(step, i, srv.URL+"/limited?step="+fmt.Sprint(i))
	}
	yaml += `---
apiVersion: core.oam.dev/v1beta1
kind: WorkflowStepDefinition
metadata: {name: limited-get}
spec:
  schematic:
    cue:
      template: |
        import "vela/http"
        parameter: {url: string}
        get: http.#HTTPGet & {$params: {url: parameter.url, request: ratelimiter: {limit: 2, period: "2s"}}}
`
	_, errOut, code := shared.velaflow(t, "run", "-f", writeFile(t, "ratelimit.yaml", yaml), "--wait")
	require.Equal(t, 0, code, errOut)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, arrivals, 5, "every step sent its request once; none over the limit was sent")
	sort.Slice(arrivals, func(i, j int) bool { return arrivals[i].Before(arrivals[j]) })
	for i := 2; i < len(arrivals); i++ {
		// the worker measures before sending; allow for the time in flight
		assert.GreaterOrEqual(t, arrivals[i].Sub(arrivals[i-2]), 2*time.Second-100*time.Millisecond,
			"requests %d and %d fall in one 2s window", i-1, i+1)
	}
	for _, s := range shared.status(t, "ce-ratelimit").Status.Steps {
		assert.Equal(t, workflows.StepSucceeded, s.Phase, "%+v", s)
	}
}
