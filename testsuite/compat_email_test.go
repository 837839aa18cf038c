package testsuite

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/velaflow/velaflow/workflows"
)

// vela/email against a real SMTP server: STARTTLS, PLAIN auth, sender,
// recipients, subject and body as sent; a step that re-executes after its
// suspension does not send again (new style and legacy op.#SendEmail).
func TestCompatSendEmail(t *testing.T) {
	t.Parallel()
	smtpd := startSMTP(t, "bot@example.com", "app-password")
	yaml := fmt.Sprintf(`
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: ce-email}
spec:
  workflowSpec:
    steps:
      - name: mail
        type: send-mail
        properties: {to: ["ops@example.com", "dev@example.com"], subject: "Deploy app ✓", body: "<b>app</b> is live"}
      - name: mail-legacy
        type: send-mail-legacy
        properties: {to: ["oncall@example.com"]}
---
apiVersion: core.oam.dev/v1beta1
kind: WorkflowStepDefinition
metadata: {name: send-mail}
spec:
  schematic:
    cue:
      template: |
        import ("vela/email", "vela/builtin")
        parameter: {to: [...string], subject: string, body: string}
        send: email.#SendEmail & {$params: {
          from: {address: "bot@example.com", alias: "Release Bot", password: "app-password", host: "127.0.0.1", port: %[1]s}
          to: parameter.to
          content: {subject: parameter.subject, body: parameter.body}
        }}
        hold: builtin.#Suspend & {$params: message: "sent, waiting for a resume"}
---
apiVersion: core.oam.dev/v1beta1
kind: WorkflowStepDefinition
metadata: {name: send-mail-legacy}
spec:
  schematic:
    cue:
      template: |
        import "vela/op"
        parameter: {to: [...string]}
        send: op.#SendEmail & {
          from: {address: "bot@example.com", password: "app-password", host: "127.0.0.1", port: %[1]s}
          to: parameter.to
          content: {subject: "legacy \(context.name)", body: "from \(context.stepName)"}
        }
`, smtpd.port())
	f := writeFile(t, "email.yaml", yaml)
	_, errOut, code := shared.velaflow(t, "run", "-f", f)
	require.Equal(t, 0, code, errOut)
	shared.eventually(t, "ce-email", "mail is suspended", func(st *workflows.Status) bool {
		return stepOf(st, "mail").Phase == workflows.StepSuspending
	})
	_, errOut, code = shared.velaflow(t, "resume", "ce-email")
	require.Equal(t, 0, code, errOut)
	st := shared.eventually(t, "ce-email", "the run ends", func(st *workflows.Status) bool { return st.Finished })
	require.Equal(t, workflows.RunSucceeded, st.Phase, "%+v", st)

	got := smtpd.received()
	require.Len(t, got, 2, "one message per step, none sent again on re-execution")
	m := got[0]
	assert.True(t, m.TLS, "STARTTLS was used")
	assert.Equal(t, "bot@example.com", m.User)
	assert.Equal(t, "bot@example.com", m.From)
	assert.Equal(t, []string{"ops@example.com", "dev@example.com"}, m.To)
	assert.Contains(t, m.Data, "From: \"Release Bot\" <bot@example.com>\r\n")
	assert.Contains(t, m.Data, "To: ops@example.com, dev@example.com\r\n")
	assert.Contains(t, m.Data, "Subject: =?utf-8?q?Deploy_app_=E2=9C=93?=\r\n")
	assert.Contains(t, m.Data, "Content-Type: text/html; charset=UTF-8")
	assert.True(t, strings.HasSuffix(m.Data, "\r\n\r\n<b>app</b> is live\r\n"), m.Data)

	l := got[1]
	assert.Equal(t, []string{"oncall@example.com"}, l.To)
	assert.Contains(t, l.Data, "Subject: legacy ce-email\r\n")
	assert.Contains(t, l.Data, "from mail-legacy")
}
