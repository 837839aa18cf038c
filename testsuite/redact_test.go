package testsuite

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/velaflow/velaflow/activities/ops"
	"github.com/velaflow/velaflow/workflows"
)

// A webhook whose URL comes from a Secret, at a port where nothing
// listens: the step fails saying the connection was refused, without the
// URL (whose path is the webhook's credential); so does a template that
// reads a Secret itself and puts its value in a message, and a #Log line.
func TestSecretValuesAreRedacted(t *testing.T) {
	t.Parallel()
	b := theKubeBed(t)
	const ns = "redact"
	b.ksNamespace(t, ns, "shanghai")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := l.Addr().String()
	require.NoError(t, l.Close()) // refused from now on
	hook := fmt.Sprintf("http://%s/services/T0AAA/B0BBB/%s", closed, randHex(t))
	password := "pw-" + randHex(t)
	_, err = b.ksClient(t, "shanghai").CoreV1().Secrets(ns).Create(context.Background(),
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "hooks", Namespace: ns},
			Data: map[string][]byte{"slack": []byte(hook + "\n"), "password": []byte(password)}},
		metav1.CreateOptions{})
	require.NoError(t, err)

	r := b.ksStart(t, ns, "redact", ksSteps("redact", ns,
		`- {name: tell, type: webhook, properties: {url: {secretRef: {name: hooks, key: slack}}, data: {text: deployed}}}`,
		`- {name: leak, type: leak-password, if: always}`,
		`- {name: refuse, type: leak-password, if: always, properties: {fail: true}}`,
	)+`---
apiVersion: core.oam.dev/v1beta1
kind: WorkflowStepDefinition
metadata: {name: leak-password}
spec:
  schematic:
    cue:
      template: |
        import ("vela/kube", "vela/builtin", "vela/util", "encoding/base64")
        secret: kube.#Read & {$params: value: {apiVersion: "v1", kind: "Secret", metadata: {name: "hooks", namespace: context.namespace}}}
        password: base64.Decode(null, secret.$returns.value.data.password)
        log: util.#Log & {$params: data: "logging in with \(password)"}
        parameter: fail: *false | bool
        if !parameter.fail {
          msg: builtin.#Message & {$params: message: "logged in with password \(password)"}
        }
        if parameter.fail {
          fail: builtin.#Fail & {$params: message: "login refused for password \(password)"}
        }
`)
	st := r.end(t)
	tell, leak := stepOf(st, "tell"), stepOf(st, "leak")
	assert.Equal(t, workflows.StepFailed, tell.Phase)
	assert.Contains(t, tell.Message, "connection refused", "the error still says what went wrong")
	assert.Contains(t, tell.Message, ops.Redacted)
	assert.NotContains(t, tell.Message, "T0AAA/B0BBB", "the webhook's URL is not in the step's message")
	assert.NotContains(t, tell.Message, hook)

	assert.Equal(t, workflows.StepSucceeded, leak.Phase)
	assert.Equal(t, "logged in with password "+ops.Redacted, leak.Message)
	refuse := stepOf(st, "refuse")
	assert.Equal(t, workflows.StepFailed, refuse.Phase)
	assert.Equal(t, "login refused for password "+ops.Redacted, refuse.Message)
	out, errOut, code := b.velaflow(t, "logs", "-n", ns, "redact", "--step", "leak")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "logging in with "+ops.Redacted)
	assert.False(t, strings.Contains(out+errOut, password), "velaflow logs shows the password:\n%s", out)
}
