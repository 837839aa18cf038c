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

	"github.com/velaflow/velaflow/localstack/devstack"
	"github.com/velaflow/velaflow/runs"
	"github.com/velaflow/velaflow/translator"
	"github.com/velaflow/velaflow/worker"
	"github.com/velaflow/velaflow/workflows"
	temporaltest "go.temporal.io/sdk/testsuite"
)

// A run whose steps wait for a long time continues as new when Temporal
// suggests it (here after 25 history events, on a dev server of its own),
// carrying its state: the waits go on, the POST done before is not sent
// again, and every execution's history stays short. The waiting step of
// the group continues as new in the group's own child workflow too.
func TestLongWaitsContinueAsNew(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	srv := lowThresholdStack(t, ctx)

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
		assert.GreaterOrEqual(t, boundedExecutions(t, ctx, srv, id, 120), 1, "%s continued as new", id)
		assert.Zero(t, engineMarkers(t, ctx, srv.Client(), id).versions, "%s: each execution is handed the engine version", id)
	}
	desc, err := srv.Client().DescribeWorkflowExecution(ctx, "default/long-wait", "")
	require.NoError(t, err)
	assert.Contains(t, desc.WorkflowExecutionInfo.SearchAttributes.GetIndexedFields(), "VelaflowRunName", "search attributes carry over")
}

// lowThresholdStack starts a dev server of the test's own on which Temporal
// suggests continue-as-new after 25 history events, and a worker whose
// waits are short.
func lowThresholdStack(t *testing.T, ctx context.Context) *temporaltest.DevServer {
	root, err := repoRoot()
	require.NoError(t, err)
	srv, err := devstack.Start(ctx, devstack.Options{
		TemporalPath: filepath.Join(root, "bin", "temporal"),
		ExtraArgs:    []string{"--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=25"},
	})
	require.NoError(t, err, "start a dev server with a low continue-as-new threshold")
	t.Cleanup(func() { _ = srv.Stop() })
	cfg := workflows.DefaultConfig()
	cfg.WaitBackoffInitial, cfg.WaitBackoffMax = 20*time.Millisecond, 50*time.Millisecond
	w := worker.New(srv.Client(), worker.Options{Engine: cfg})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	return srv
}

// boundedExecutions asserts that every execution of the workflow ID has a
// history shorter than limit events, and returns how many continued as new.
func boundedExecutions(t *testing.T, ctx context.Context, srv *temporaltest.DevServer, id string, limit int64) int {
	resp, err := srv.Client().ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: fmt.Sprintf("WorkflowId = '%s'", id)})
	require.NoError(t, err)
	continued := 0
	for _, e := range resp.Executions {
		if e.Status == enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
			continued++
		}
		assert.Less(t, e.HistoryLength, limit, "%s: each execution's history stays bounded", id)
	}
	return continued
}

// A run continues as new while one of its groups runs: the group's child
// workflow outlives the run's execution and hands its result to the
// current one. Here a group waits through many polls while a sibling polls
// longer still; every execution of the run and of the group stays short,
// and the group's status reports to the run are only its phase changes.
func TestRunContinuesAsNewWhileItsGroupRuns(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	srv := lowThresholdStack(t, ctx)

	var pollsGroup, pollsSibling atomic.Int32
	poll := func(w http.ResponseWriter, n *atomic.Int32, until int32) {
		if n.Add(1) > until {
			w.Write([]byte("ready"))
			return
		}
		w.Write([]byte("building"))
	}
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/group":
			poll(w, &pollsGroup, 12)
		case "/sibling":
			poll(w, &pollsSibling, 20)
		}
	}))
	defer svc.Close()
	file := writeFile(t, "group-can.yaml", fmt.Sprintf(`
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: group-can}
spec:
  mode: {steps: DAG}
  workflowSpec:
    steps:
      - name: grp
        type: step-group
        subSteps:
          - {name: wait-in-group, type: wait-status, properties: {url: "%[1]s/group"}}
          - name: produce
            type: print-message-in-status
            dependsOn: [wait-in-group]
            properties: {message: from-the-group}
            outputs: [{name: msg, valueFrom: '"from-the-group"'}]
      - {name: sibling, type: wait-status, properties: {url: "%[1]s/sibling"}}
      - name: after
        type: print-message-in-status
        dependsOn: [grp, sibling]
        inputs: [{from: msg, parameterKey: message}]
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
	run, err := runs.New(srv.Client(), "").Start(ctx, plans[0])
	require.NoError(t, err)
	final, err := runs.FinalStatus(ctx, run)
	require.NoError(t, err)

	require.Equal(t, workflows.RunSucceeded, final.Phase, "%+v", final)
	assert.Equal(t, "from-the-group", stepOf(final, "after").Message, "the group's output reaches the run's latest execution")
	assert.Equal(t, workflows.StepSucceeded, findStep(final, "wait-in-group").Phase)
	assert.GreaterOrEqual(t, boundedExecutions(t, ctx, srv, "default/group-can", 120), 2,
		"the run continued as new, also while its group ran")
	t.Logf("group continued as new %d times", boundedExecutions(t, ctx, srv, "default/group-can/grp", 120))

	// The run continued as new before the group ended: an execution that
	// continued as new holds none of the group's result, yet the group was
	// started by the first.
	reports := 0
	resp, err := srv.Client().ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: "WorkflowId = 'default/group-can'"})
	require.NoError(t, err)
	startedIn, doneIn := -1, -1
	for i, e := range resp.Executions {
		it := srv.Client().GetWorkflowHistory(ctx, "default/group-can", e.Execution.RunId, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			require.NoError(t, err)
			if ev.GetStartChildWorkflowExecutionInitiatedEventAttributes() != nil {
				startedIn = i
			}
			if sig := ev.GetWorkflowExecutionSignaledEventAttributes(); sig != nil {
				switch sig.SignalName {
				case workflows.SignalGroupStatus:
					reports++
				case workflows.SignalGroupDone:
					doneIn = i
				}
			}
		}
	}
	require.NotEqual(t, -1, startedIn)
	require.NotEqual(t, -1, doneIn, "the group reported its result")
	assert.NotEqual(t, startedIn, doneIn, "the group ended in another execution of the run than the one that started it")
	// wait-in-group running, waiting, succeeded; produce running,
	// succeeded: a handful, however many times the group polled and
	// continued as new.
	assert.LessOrEqual(t, reports, 5, "group status reports are phase changes, coalesced")
}
