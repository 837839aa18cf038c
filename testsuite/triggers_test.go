package testsuite

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/velaflow/velaflow/runs"
	"github.com/velaflow/velaflow/triggers"
	"github.com/velaflow/velaflow/workflows"
)

// startTriggers runs `velaflow serve-triggers` on a free port and returns
// its base URL.
func startTriggers(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(shared.cli, append([]string{"--address", shared.address, "serve-triggers", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM); _ = cmd.Wait() })
	line, err := bufio.NewReader(stderr).ReadString('\n')
	require.NoError(t, err, "serve-triggers said nothing")
	m := regexp.MustCompile(`on (http://[^/]+)/`).FindStringSubmatch(line)
	require.NotNil(t, m, line)
	go func() { _, _ = bufio.NewReader(stderr).WriteTo(new(bytes.Buffer)) }()
	return m[1]
}

func post(t *testing.T, url string, body string, headers map[string]string) (int, triggers.Answer) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var a triggers.Answer
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&a))
	return resp.StatusCode, a
}

func signed(secret, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func runsIn(t *testing.T, ns string) []runs.Summary {
	t.Helper()
	out, errOut, code := shared.velaflow(t, "list", "-n", ns, "-o", "json")
	require.Equal(t, 0, code, errOut)
	var list []runs.Summary
	require.NoError(t, json.Unmarshal([]byte(out), &list), out)
	return list
}

// The webhook trigger: a bearer token or a GitHub-style signature starts
// a run of the template with the body as its context (201, with the run's
// name and link); a redelivery starts nothing (200, the same run); wrong
// credentials get 401, bad bodies and unknown templates 400, and start
// nothing.
func TestTriggersWebhook(t *testing.T) {
	const ns = "hooks"
	base := startTriggers(t, "--templates", templatesDir(t),
		"--token-file", writeFile(t, "tokens", "# CI\nold-token\nci-token\n"),
		"--hmac-secret-file", writeFile(t, "secrets", "gh-secret\n"),
		"--web-ui", "http://ui.example:8233")
	url := base + "/v1/namespaces/" + ns + "/templates/release/runs"
	body := `{"app": "shop", "replicas": 3, "tag": "v1", "target": {"region": "eu-1"}}`

	code, a := post(t, url, body, map[string]string{"Authorization": "Bearer ci-token"})
	require.Equal(t, http.StatusCreated, code, "%+v", a)
	assert.Regexp(t, `^release-[a-z0-9]{5}$`, a.Name)
	assert.Equal(t, ns+"/"+a.Name, a.WorkflowID)
	assert.Equal(t, "http://ui.example:8233/namespaces/default/workflows/"+ns+"%2F"+a.Name, a.URL)
	st := shared.eventuallyIn(t, ns, a.Name, "it succeeded", func(s *workflows.Status) bool { return s.Phase == workflows.RunSucceeded })
	assert.Equal(t, "release shop in hooks: 3 replicas of v1, region eu-1", stepOf(st, "announce").Message)

	// Signed as GitHub signs, with a delivery ID; the redelivery is the
	// same run.
	headers := map[string]string{"X-Hub-Signature-256": signed("gh-secret", body), "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"}
	code, first := post(t, url, body, headers)
	require.Equal(t, http.StatusCreated, code, "%+v", first)
	code, again := post(t, url, body, headers)
	require.Equal(t, http.StatusOK, code, "%+v", again)
	assert.True(t, again.Existing)
	assert.Equal(t, first.Name, again.Name)
	shared.eventuallyIn(t, ns, first.Name, "it succeeded", func(s *workflows.Status) bool { return s.Phase == workflows.RunSucceeded })
	code, again = post(t, url, body, headers)
	require.Equal(t, http.StatusOK, code, "a redelivery after the run ended starts nothing either: %+v", again)
	require.Len(t, runsIn(t, ns), 2)
	require.Equal(t, 1, workflowRuns(t, first.WorkflowID), "one execution for the delivery")

	for _, c := range []struct {
		what    string
		url     string
		body    string
		headers map[string]string
		code    int
		want    string
	}{
		{"no credentials", url, body, nil, http.StatusUnauthorized, "bearer token"},
		{"a wrong token", url, body, map[string]string{"Authorization": "Bearer guess"}, http.StatusUnauthorized, "bearer token"},
		{"a signature of another body", url, body, map[string]string{"X-Hub-Signature-256": signed("gh-secret", "{}")}, http.StatusUnauthorized, "X-Hub-Signature-256"},
		{"a signature with another key", url, body, map[string]string{"X-Hub-Signature-256": signed("other", body)}, http.StatusUnauthorized, "X-Hub-Signature-256"},
		{"a body that is not JSON", url, `{"app": `, map[string]string{"Authorization": "Bearer ci-token"}, http.StatusBadRequest, "JSON object"},
		{"a JSON list", url, `[1, 2]`, map[string]string{"Authorization": "Bearer ci-token"}, http.StatusBadRequest, "JSON object"},
		{"an unknown template", base + "/v1/namespaces/" + ns + "/templates/nope/runs", body, map[string]string{"Authorization": "Bearer ci-token"}, http.StatusBadRequest, "invalid run of template hooks/nope"},
	} {
		code, a := post(t, c.url, c.body, c.headers)
		assert.Equal(t, c.code, code, "%s: %+v", c.what, a)
		assert.Contains(t, a.Error, c.want, c.what)
		if c.what == "an unknown template" {
			require.NotEmpty(t, a.Errors)
			assert.Contains(t, a.Errors[0], `no Workflow "nope"`)
		}
	}
	assert.Len(t, runsIn(t, ns), 2, "refused requests started nothing")
}
