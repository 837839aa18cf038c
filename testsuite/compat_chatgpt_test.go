package testsuite

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/velaflow/velaflow/workflows"
)

// chatAPI is an OpenAI-compatible chat completions endpoint that answers
// with a fixed reply and keeps the requests it got.
type chatAPI struct {
	mu       sync.Mutex
	requests []map[string]any
	auths    []string
}

func (c *chatAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	c.mu.Lock()
	c.requests = append(c.requests, body)
	c.auths = append(c.auths, r.Header.Get("Authorization"))
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer sk-test" {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}`)
		return
	}
	fmt.Fprint(w, `{"id": "chatcmpl-1", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": "The image tag is latest; pin it."}, "finish_reason": "stop"}]}`)
}

// chat-gpt with the token from a Secret, a diagnose prompt over an object,
// against a local OpenAI-compatible server: one request, the answer as
// result and in the step's log; a refused token fails the step with the
// API's message.
func TestCompatChatGPT(t *testing.T) {
	t.Parallel()
	b := theKubeBed(t)
	const ns = "ce-chatgpt"
	b.ksNamespace(t, ns, "shanghai")
	api := &chatAPI{}
	srv := httptest.NewServer(api)
	defer srv.Close()
	_, err := b.ksClient(t, "shanghai").CoreV1().Secrets(ns).Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "openai", Namespace: ns}, Data: map[string][]byte{"token": []byte("sk-test")},
	}, metav1.CreateOptions{})
	require.NoError(t, err)

	r := b.ksStart(t, ns, "ce-chatgpt", ksSteps("ce-chatgpt", ns, fmt.Sprintf(`
      - name: ask
        type: chat-gpt
        properties:
          token: {secretRef: {name: openai, key: token}}
          baseURL: %q
          prompt: {type: diagnose, content: {apiVersion: apps/v1, kind: Deployment, spec: {template: {spec: {containers: [{name: app, image: "app:latest"}]}}}}}
        outputs: [{name: answer, valueFrom: result}]`, srv.URL+"/v1")))
	st := r.end(t)
	require.Equal(t, workflows.RunSucceeded, st.Phase, r.describe(t))
	assert.Equal(t, "The image tag is latest; pin it.", stepOf(st, "ask").Outputs["answer"])
	out, _, code := b.velaflow(t, "logs", "ce-chatgpt", "-n", ns)
	require.Equal(t, 0, code)
	assert.Contains(t, out, "The image tag is latest; pin it.")

	api.mu.Lock()
	require.Len(t, api.requests, 1)
	req := api.requests[0]
	assert.Equal(t, "gpt-3.5-turbo", req["model"])
	msgs, _ := req["messages"].([]any)
	require.Len(t, msgs, 1)
	msg := msgs[0].(map[string]any)
	assert.Equal(t, "user", msg["role"])
	assert.Contains(t, msg["content"], `"image":"app:latest"`, "the object is in the question")
	api.mu.Unlock()

	r2 := b.ksStart(t, ns, "ce-chatgpt-refused", ksSteps("ce-chatgpt-refused", ns, fmt.Sprintf(
		`- {name: ask, type: chat-gpt, properties: {token: {value: sk-wrong}, baseURL: %q, prompt: {content: "hello"}}}`, srv.URL+"/v1")))
	st = r2.end(t)
	require.Equal(t, workflows.RunFailed, st.Phase, r2.describe(t))
	assert.Equal(t, workflows.ReasonAction, stepOf(st, "ask").Reason)
	assert.Contains(t, stepOf(st, "ask").Message, "chat API answered 401: Incorrect API key provided")
}
