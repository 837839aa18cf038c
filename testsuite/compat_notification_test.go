package testsuite

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
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

// hookRecorder stands in for the Slack, DingTalk and Lark incoming
// webhooks: it keeps every body posted to a path and answers as the
// service does.
type hookRecorder struct {
	mu     sync.Mutex
	bodies map[string][]map[string]any
}

func startHooks(t *testing.T) (*hookRecorder, string) {
	h := &hookRecorder{bodies: map[string][]map[string]any{}}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv.URL
}

func (h *hookRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	h.bodies[r.URL.Path] = append(h.bodies[r.URL.Path], body)
	h.mu.Unlock()
	switch r.URL.Path {
	case "/slack":
		fmt.Fprint(w, "ok")
	case "/dingtalk":
		fmt.Fprint(w, `{"errcode":0,"errmsg":"ok"}`)
	case "/dingtalk-keyword":
		fmt.Fprint(w, `{"errcode":310000,"errmsg":"keywords not in content"}`)
	case "/lark":
		fmt.Fprint(w, `{"code":0,"msg":"success"}`)
	}
}

func (h *hookRecorder) got(path string) []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.bodies[path]
}

// notification to Slack (URL from a Secret), DingTalk, Lark and email
// (password from a Secret): each service receives its payload once.
func TestCompatNotification(t *testing.T) {
	t.Parallel()
	b := theKubeBed(t)
	const ns = "ce-notify"
	b.ksNamespace(t, ns, "shanghai")
	hooks, base := startHooks(t)
	smtpd := startSMTP(t, "bot@example.com", "mail-secret")
	_, err := b.ksClient(t, "shanghai").CoreV1().Secrets(ns).Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "hooks", Namespace: ns},
		Data:       map[string][]byte{"slack": []byte(base + "/slack"), "smtp": []byte("mail-secret")},
	}, metav1.CreateOptions{})
	require.NoError(t, err)

	r := b.ksStart(t, ns, "ce-notify", ksSteps("ce-notify", ns, fmt.Sprintf(`
      - name: notify
        type: notification
        properties:
          slack: {url: {secretRef: {name: hooks, key: slack}}, message: {text: "app v2 is live"}}
          dingding: {url: {value: %[1]q}, message: {msgtype: text, text: {content: "app v2 is live"}}}
          lark: {url: {value: %[2]q}, message: {msg_type: text, content: '{"text":"app v2 is live"}'}}
          email:
            from: {address: bot@example.com, alias: Deployer, password: {secretRef: {name: hooks, key: smtp}}, host: 127.0.0.1, port: %[3]s}
            to: [team@example.com]
            content: {subject: "app v2", body: "app v2 is live"}`, base+"/dingtalk", base+"/lark", smtpd.port())))
	st := r.end(t)
	require.Equal(t, workflows.RunSucceeded, st.Phase, r.describe(t))

	assert.Equal(t, []map[string]any{{"text": "app v2 is live"}}, hooks.got("/slack"))
	assert.Equal(t, []map[string]any{{"msgtype": "text", "text": map[string]any{"content": "app v2 is live"}}}, hooks.got("/dingtalk"))
	assert.Equal(t, []map[string]any{{"msg_type": "text", "content": map[string]any{"text": "app v2 is live"}}}, hooks.got("/lark"), "Lark wants content as an object")
	mails := smtpd.received()
	require.Len(t, mails, 1)
	assert.Equal(t, []string{"team@example.com"}, mails[0].To)
	assert.Contains(t, mails[0].Data, "Subject: app v2\r\n")
	assert.Contains(t, mails[0].Data, "From: \"Deployer\" <bot@example.com>")

	// DingTalk answers 200 with an error code: the step fails with it.
	r2 := b.ksStart(t, ns, "ce-notify-refused", ksSteps("ce-notify-refused", ns, fmt.Sprintf(
		`- {name: notify, type: notification, properties: {dingding: {url: {value: %q}, message: {text: {content: "hi"}}}}}`, base+"/dingtalk-keyword")))
	st = r2.end(t)
	require.Equal(t, workflows.RunFailed, st.Phase, r2.describe(t))
	assert.Contains(t, stepOf(st, "notify").Message, "keywords not in content")
}
