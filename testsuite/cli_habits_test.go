package testsuite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/velaflow/velaflow/runs"
	"github.com/velaflow/velaflow/workflows"
)

const logDefinition = `
apiVersion: core.oam.dev/v1beta1
kind: WorkflowStepDefinition
metadata:
  name: say-and-log
spec:
  schematic:
    cue:
      template: |
        import "vela/util"
        parameter: line: string
        log: util.#Log & {$params: data: parameter.line}
`

func habitsRun(ns, name, middle string) string {
	return fmt.Sprintf(`apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata:
  name: %s
  namespace: %s
spec:
  workflowSpec:
    steps:
      - name: first
        type: say-and-log
        properties: {line: first line}
      - name: middle
%s
      - name: last
        type: say-and-log
        properties: {line: last line}
---
%s`, name, ns, middle, strings.TrimSpace(logDefinition))
}

// list filters by namespace (-n, -A) and phase, and prints JSON, YAML
// and a wide table with the workflow IDs.
func TestListNamespacesPhasesAndFormats(t *testing.T) {
	const ns = "cli-list"
	_, errOut, code := shared.velaflow(t, "run", "-f", writeFile(t, "a.yaml", habitsRun(ns, "done", "        type: say-and-log\n        properties: {line: middle}")), "--wait")
	require.Equal(t, 0, code, errOut)
	_, errOut, code = shared.velaflow(t, "run", "-f", writeFile(t, "b.yaml", habitsRun(ns, "held", "        type: suspend")))
	require.Equal(t, 0, code, errOut)
	shared.eventuallyID(t, ns+"/held", "held suspends", func(st *workflows.Status) bool { return st.Phase == workflows.RunSuspending })

	// Visibility is eventually consistent: wait until both are listed.
	var list []runs.Summary
	deadline := time.Now().Add(30 * time.Second)
	for len(list) < 2 && time.Now().Before(deadline) {
		out, errOut, code := shared.velaflow(t, "list", "-n", ns, "-o", "json")
		require.Equal(t, 0, code, errOut)
		require.NoError(t, json.Unmarshal([]byte(out), &list), out)
	}
	require.Len(t, list, 2)
	assert.Equal(t, ns+"/held", list[0].WorkflowID, "newest first")

	out, _, code := shared.velaflow(t, "list", "-n", ns, "--phase", "suspending")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "held")
	assert.NotContains(t, out, "done")
	out, _, _ = shared.velaflow(t, "list", "-n", ns, "-o", "wide")
	assert.Regexp(t, `WORKFLOW ID`, out)
	assert.Regexp(t, ns+`\s+done\s+succeeded\s+\S+\s+\S+\s+`+ns+`/done`, out)
	out, _, _ = shared.velaflow(t, "list", "-A")
	assert.Contains(t, out, ns)
	out, _, _ = shared.velaflow(t, "list", "-n", ns, "-o", "yaml")
	assert.Contains(t, out, "workflowID: "+ns+"/held")
	out, _, _ = shared.velaflow(t, "list")
	assert.NotContains(t, out, ns, "without -n or -A, the default namespace")
	_, errOut, code = shared.velaflow(t, "list", "--phase", "sleeping")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "want one of pending, executing, suspending")
	_, _, _ = shared.velaflow(t, "terminate", "held", "-n", ns)
}

// delete terminates a run that still runs and removes it and its groups'
// history: it leaves list, and asking for it again is "not found" (3).
func TestDeleteRun(t *testing.T) {
	const ns = "cli-delete"
	_, errOut, code := shared.velaflow(t, "run", "-f", writeFile(t, "d.yaml", habitsRun(ns, "doomed", "        type: step-group\n        subSteps:\n          - {name: wait, type: suspend}")))
	require.Equal(t, 0, code, errOut)
	shared.eventuallyID(t, ns+"/doomed", "the group holds", func(st *workflows.Status) bool { return st.Phase == workflows.RunSuspending })

	out, errOut, code := shared.velaflow(t, "delete", "doomed", "-n", ns)
	require.Equal(t, 0, code, "%s %s", out, errOut)
	assert.Contains(t, out, "deleted run cli-delete/doomed")
	began := time.Now()
	for _, id := range []string{ns + "/doomed", ns + "/doomed/middle"} {
		deadline := time.Now().Add(90 * time.Second)
		for {
			_, err := shared.client.DescribeWorkflowExecution(context.Background(), id, "")
			var nf *serviceerror.NotFound
			if errors.As(err, &nf) {
				break
			}
			require.True(t, time.Now().Before(deadline), "%s is still there: %v", id, err)
			time.Sleep(200 * time.Millisecond)
		}
	}
	t.Logf("history gone %s after the delete", time.Since(began).Round(time.Millisecond))
	_, errOut, code = shared.velaflow(t, "delete", "doomed", "-n", ns)
	assert.Equal(t, 3, code, errOut)
	assert.Contains(t, errOut, "no run cli-delete/doomed")
}

// logs -f prints each line once as the steps log it, and ends when the
// run does.
func TestLogsFollow(t *testing.T) {
	const ns = "cli-logs"
	_, errOut, code := shared.velaflow(t, "run", "-f", writeFile(t, "l.yaml", habitsRun(ns, "chatty", "        type: suspend\n        properties: {duration: 2s}")))
	require.Equal(t, 0, code, errOut)
	out, errOut, code := shared.velaflow(t, "logs", "chatty", "-n", ns, "-f")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "first: first line\nlast: last line\n", out)

	out, _, code = shared.velaflow(t, "logs", "chatty", "-n", ns, "--step", "nope")
	assert.Equal(t, 3, code, out)
}

// Exit codes: 2 for invalid input and usage, 3 for a run that does not
// exist (4, a conflict, is in TestStartingARunThatStillRuns).
func TestExitCodes(t *testing.T) {
	_, _, code := shared.velaflow(t, "status", "no-such-run")
	assert.Equal(t, 3, code)
	_, _, code = shared.velaflow(t, "resume", "no-such-run")
	assert.Equal(t, 3, code)
	_, _, code = shared.velaflow(t, "run", "-f", writeFile(t, "bad.yaml", "kind: WorkflowRun\nspec: [\n"))
	assert.Equal(t, 2, code)
	_, _, code = shared.velaflow(t, "status", "a", "b")
	assert.Equal(t, 2, code)
	_, _, code = shared.velaflow(t, "list", "--no-such-flag")
	assert.Equal(t, 2, code)
	_, _, code = shared.velaflow(t, "no-such-command")
	assert.Equal(t, 2, code)
	_, _, code = shared.velaflow(t, "status", "x", "-o", "toml")
	assert.Equal(t, 2, code)
}

const badGatewayPage = `<!DOCTYPE html>
<html><head><title>502 Bad Gateway</title><style>h1 {color: red}</style></head>
<body><h1>Bad Gateway</h1><p>The upstream did not answer in time.</p></body></html>`

func debugRun(name, annotation, url string) string {
	return fmt.Sprintf(`apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata:
  name: %s
%s
spec:
  workflowSpec:
    steps:
      - name: ask
        type: request
        properties:
          url: %s/ok
        outputs:
          - name: answer
            valueFrom: response.answer
      - name: tell
        type: request
        properties:
          url: %s/fail
          method: POST
          body: {}
        inputs:
          - from: answer
            parameterKey: body.answer
`, name, annotation, url, url)
}

// debug shows a step's latest execution: its parameters and inputs, and
// in debug mode the template's values and each operation with what it
// gave back. An HTML error page is an excerpt in the status, whole in
// debug.
func TestDebugStep(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ok" {
			fmt.Fprint(w, `{"answer": 42}`)
			return
		}
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprint(w, badGatewayPage)
	}))
	defer srv.Close()

	file := writeFile(t, "debug.yaml", debugRun("debugged", "  annotations:\n    workflowrun.oam.dev/debug: \"true\"", srv.URL))
	_, _, code := shared.velaflow(t, "run", "-f", file, "--wait")
	require.Equal(t, 1, code)
	st := shared.status(t, "debugged").Status
	msg := stepOf(st, "tell").Message
	assert.NotContains(t, msg, "<", "the status shows the page's text")
	assert.Contains(t, msg, "502 Bad Gateway Bad Gateway The upstream did not answer in time.")

	out, errOut, code := shared.velaflow(t, "debug", "debugged", "--step", "tell")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "<h1>Bad Gateway</h1>", "the whole body")
	assert.Regexp(t, `(?m)^  answer: 42$`, out, "the input, under Inputs")
	assert.Regexp(t, `req\s+http\.do\s+\{"method":"POST"`, out)
	assert.Contains(t, out, "statusCode: 502", "the template's values")

	out, errOut, code = shared.velaflow(t, "debug", "debugged", "--step", "ask", "-o", "json")
	require.Equal(t, 0, code, errOut)
	var e workflows.StepExecution
	require.NoError(t, json.Unmarshal([]byte(out), &e))
	assert.Equal(t, "succeeded", e.Phase)
	assert.EqualValues(t, 42, e.Outputs["answer"])
	require.NotNil(t, e.Debug)
	require.Len(t, e.Debug.Operations, 1)
	assert.Equal(t, "http.do", e.Debug.Operations[0].Operation)

	file = writeFile(t, "plain.yaml", debugRun("undebugged", "", srv.URL))
	_, _, code = shared.velaflow(t, "run", "-f", file, "--wait")
	require.Equal(t, 1, code)
	out, errOut, code = shared.velaflow(t, "debug", "undebugged", "--step", "tell")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "url: "+srv.URL+"/fail")
	assert.Contains(t, out, "Whole message:")
	assert.Contains(t, out, "annotate the run workflowrun.oam.dev/debug")
	_, _, code = shared.velaflow(t, "debug", "undebugged", "--step", "nope")
	assert.Equal(t, 3, code)
}

// Shell completion offers run names, step names, step types and -o
// values (cobra's __complete is what the shells' scripts call).
func TestCompletion(t *testing.T) {
	_, errOut, code := shared.velaflow(t, "run", "-f", writeFile(t, "c.yaml", habitsRun("cli-complete", "completed", "        type: say-and-log\n        properties: {line: m}")), "--wait")
	require.Equal(t, 0, code, errOut)
	complete := func(args ...string) []string {
		out, errOut, code := shared.velaflow(t, append([]string{"__complete"}, args...)...)
		require.Equal(t, 0, code, errOut)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		return lines[:len(lines)-1] // the last line is the directive
	}
	assert.Contains(t, complete("status", "-n", "cli-complete", ""), "completed")
	assert.Equal(t, []string{"first", "middle", "last"}, complete("debug", "completed", "-n", "cli-complete", "--step", ""))
	assert.Contains(t, complete("def", "show", ""), "request")
	assert.Equal(t, []string{"json", "yaml", "wide"}, complete("list", "-o", ""))
	out, _, code := shared.velaflow(t, "completion", "bash")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "__start_velaflow")
}
