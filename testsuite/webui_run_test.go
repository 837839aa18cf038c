package testsuite

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"

	"github.com/velaflow/velaflow/localstack/devstack"
	"github.com/velaflow/velaflow/worker"
	"github.com/velaflow/velaflow/workflows"
)

// A run's page in the Web UI reads like the workflow: its summary and
// details say what the run is, its current details are a table of its
// steps with their phases and say how to resume it, and its timers say
// what they wait for.
func TestWebUIRunPage(t *testing.T) {
	root, err := repoRoot()
	require.NoError(t, err)
	uiPort := freePort(t)
	uiURL := "http://127.0.0.1:" + strconv.Itoa(uiPort)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := devstack.Start(ctx, devstack.Options{TemporalPath: filepath.Join(root, "bin", "temporal"), UIPort: uiPort})
	require.NoError(t, err, "start a dev server with the Web UI")
	t.Cleanup(func() { _ = srv.Stop() })
	w := worker.New(srv.Client(), worker.Options{Engine: harnessEngine()})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	run := writeFile(t, "page.yaml", `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata:
  name: on-the-page
spec:
  workflowSpec:
    steps:
      - name: build
        type: print-message-in-status
        properties: {message: image built}
      - name: soak
        type: suspend
        properties: {duration: 1s}
      - name: approve
        type: suspend
      - name: release
        type: print-message-in-status
        properties: {message: released}
`)
	out, errOut, code, err := runCLI(time.Now().Add(time.Minute), srv.FrontendHostPort(), "", "run", "-f", run)
	require.NoError(t, err)
	require.Equal(t, 0, code, "%s %s", out, errOut)
	id := "default/on-the-page"
	deadline := time.Now().Add(time.Minute)
	for {
		v, err := srv.Client().QueryWorkflow(ctx, id, "", workflows.QueryStatus)
		var st workflows.Status
		if err == nil && v.Get(&st) == nil && stepOf(&st, "approve").Phase == workflows.StepSuspending {
			break
		}
		require.True(t, time.Now().Before(deadline), "the run did not reach approve")
		time.Sleep(200 * time.Millisecond)
	}
	desc, err := srv.Client().DescribeWorkflowExecution(ctx, id, "")
	require.NoError(t, err)
	require.Equal(t, enums.WORKFLOW_EXECUTION_STATUS_RUNNING, desc.WorkflowExecutionInfo.Status)

	page := uiURL + "/namespaces/default/workflows/" + url.PathEscape(id) + "/" + desc.WorkflowExecutionInfo.Execution.RunId + "/user-metadata"
	text, png := webUIScreenshot(t, page, "", "velaflow resume on-the-page", "run-page.png")
	for _, want := range []string{
		"WorkflowRun default/on-the-page",        // static summary
		"4 steps (StepByStep)",                   // static details
		"velaflow resume on-the-page -n default", // current details
		"approve", "suspending", "image built",   // the step table
		"soak: suspended until", // the timer's summary
	} {
		assert.Contains(t, text, want)
	}
	info, err := os.Stat(png)
	require.NoError(t, err)
	assert.Greater(t, info.Size(), int64(10_000), "a screenshot of the page")
	if t.Failed() {
		t.Logf("page text:\n%s", strings.TrimSpace(text))
	}
}
