package testsuite

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/velaflow/velaflow/deploy/devstack"
	"github.com/velaflow/velaflow/runs"
	"github.com/velaflow/velaflow/translator"
	"github.com/velaflow/velaflow/worker"
	"github.com/velaflow/velaflow/workflows"
)

// A run whose steps wait for a long time continues as new when Temporal
// suggests it (here after 25 history events, on a dev server of its own),
// carrying its state: the waits go on, the POST done before is not sent
// again, and every execution's history stays short. The waiting step of
// the group continues as new in the group's own child workflow too.
func TestLongWaitsContinueAsNew(t *testing.T) {
	root, err := repoRoot()
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	srv, err := devstack.Start(ctx, devstack.Options{
		TemporalPath: filepath.Join(root, "bin", "temporal"),
		ExtraArgs:    []string{"--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=25"},
	})
	require.NoError(t, err, "start a dev server with a low continue-as-new threshold")
	defer srv.Stop()
	cfg := workflows.DefaultConfig()
	cfg.WaitBackoffInitial, cfg.WaitBackoffMax = 20*time.Millisecond, 50*time.Millisecond
	w := worker.New(srv.Client(), worker.Options{Engine: cfg})
	require.NoError(t, w.Start())
	defer w.Stop()

	var posts, pollsA, pollsB atomic.Int32
	poll := func(w http.ResponseWriter, n *atomic.Int32) {
		if n.Add(1) > 8 {
			w.Write([]byte("ready"))
			return
		}
		w.Write([]byte("building"))
	}
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/build":
			posts.Add(1)
			w.Write([]byte(`{"id":"7"}`))
		case "/a":
			poll(w, &pollsA)
		case "/b":
			poll(w, &pollsB)
		}
	}))
	defer svc.Close()

	file := writeFile(t, "long.yaml", fmt.Sprintf(`
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: long-wait}
spec:
  mode: {steps: DAG}
  workflowSpec:
    steps:
      - name: build
        type: request
        properties: {url: "%[1]s/build", method: POST}
        outputs: [{name: id, valueFrom: response.id}]
      - name: wait
        type: wait-status
        dependsOn: [build]
        properties: {url: "%[1]s/a"}
      - {name: hold, type: suspend, properties: {duration: 2s}}
      - name: grp
        type: step-group
        dependsOn: [wait]
        subSteps:
          - {name: wait-again, type: wait-status, properties: {url: "%[1]s/b"}}
      - name: done
        type: print-message-in-status
        dependsOn: [grp, hold]
        inputs: [{from: id, parameterKey: message}]
---
apiVersion: core.oam.dev/v1beta1
kind: WorkflowStepDefinition
metadata: {name: wait-status}
spec:
  schematic:
    cue:
      template: |
        import ("vela/builtin", "vela/http")
        parameter: url: string
        get: http.#HTTPGet & {$params: url: parameter.url}
        wait: builtin.#ConditionalWait & {$params: continue: get.$returns.body == "ready" && get.$returns.statusCode == 200}
`, svc.URL))
	plans, err := translator.Translate(translator.Options{Files: []string{file}})
	require.NoError(t, err)
	rc := runs.New(srv.Client(), "")
	run, err := rc.Start(ctx, plans[0])
	require.NoError(t, err)
	final, err := runs.FinalStatus(ctx, run)
	require.NoError(t, err)

	assert.Equal(t, workflows.RunSucceeded, final.Phase, "%+v", final)
	assert.Equal(t, "7", stepOf(final, "done").Message, "outputs survive continue-as-new")
	assert.EqualValues(t, 1, posts.Load(), "the POST is sent once")

	for _, id := range []string{"default/long-wait", "default/long-wait/grp"} {
		resp, err := srv.Client().ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: fmt.Sprintf("WorkflowId = '%s'", id)})
		require.NoError(t, err)
		continued := 0
		for _, e := range resp.Executions {
			if e.Status == enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
				continued++
			}
			assert.Less(t, e.HistoryLength, int64(120), "%s: each execution's history stays bounded", id)
		}
		assert.GreaterOrEqual(t, continued, 1, "%s continued as new", id)
	}
	desc, err := srv.Client().DescribeWorkflowExecution(ctx, "default/long-wait", "")
	require.NoError(t, err)
	assert.Contains(t, desc.WorkflowExecutionInfo.SearchAttributes.GetIndexedFields(), "VelaflowRunName", "search attributes carry over")
}
