package workflows

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/velaflow/velaflow/activities"
	"github.com/velaflow/velaflow/activities/ops"
	"github.com/velaflow/velaflow/cuedefs"
	"github.com/velaflow/velaflow/stepio"
	"github.com/velaflow/velaflow/translator"
)

type env struct {
	*testsuite.TestWorkflowEnvironment
	t *testing.T
}

func newEnv(t *testing.T) *env {
	var s testsuite.WorkflowTestSuite
	e := s.NewTestWorkflowEnvironment()
	eng := &Engine{Config: DefaultConfig()}
	eng.Config.RetryInitial = 10 * time.Millisecond
	eng.Config.MaxStepErrorRetries = 3
	eng.Config.PureOperations = ops.PureOperations()
	e.RegisterWorkflowWithOptions(eng.Run, workflow.RegisterOptions{Name: WorkflowName})
	e.RegisterWorkflowWithOptions(eng.RunGroup, workflow.RegisterOptions{Name: GroupWorkflowName})
	acts := &activities.Activities{PlanDefinitions: testPlans.definitions}
	e.RegisterActivityWithOptions(acts.ExecuteStep, activity.RegisterOptions{Name: stepio.ExecuteStepName})
	e.RegisterActivityWithOptions(acts.EvaluateCondition, activity.RegisterOptions{Name: stepio.EvaluateConditionName})
	return &env{e, t}
}

// plan translates a WorkflowRun written in YAML (definitions may follow).
func plan(t *testing.T, yaml string) translator.Plan {
	t.Helper()
	f := filepath.Join(t.TempDir(), "run.yaml")
	require.NoError(t, os.WriteFile(f, []byte(yaml), 0o644))
	plans, err := translator.Translate(translator.Options{Files: []string{f}})
	require.NoError(t, err)
	testPlans.add(plans[0].Definitions)
	return *plans[0]
}

// testPlans stands in for the run's input in history, which the test
// environment cannot read: the definitions of every plan the tests made.
var testPlans = &planDefinitions{defs: map[string]cuedefs.Definition{}}

type planDefinitions struct {
	mu   sync.Mutex
	defs map[string]cuedefs.Definition
}

func (p *planDefinitions) add(defs map[string]cuedefs.Definition) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, d := range defs {
		p.defs[d.Digest] = d
	}
}

func (p *planDefinitions) definitions(context.Context) (map[string]cuedefs.Definition, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.defs), nil
}

// result returns the final status whether the run succeeded or failed.
func (e *env) result() *Status {
	e.t.Helper()
	require.True(e.t, e.IsWorkflowCompleted())
	var st Status
	err := e.GetWorkflowError()
	if err == nil {
		require.NoError(e.t, e.GetWorkflowResult(&st))
		return &st
	}
	var app *temporal.ApplicationError
	require.True(e.t, errors.As(err, &app), "unexpected error %v", err)
	require.Equal(e.t, FailureType, app.Type())
	require.NoError(e.t, app.Details(&st))
	return &st
}

func (e *env) query() *Status {
	v, err := e.QueryWorkflow(QueryStatus)
	require.NoError(e.t, err)
	var st Status
	require.NoError(e.t, v.Get(&st))
	return &st
}

func step(st *Status, name string) StepStatus {
	for _, s := range st.Steps {
		if s.Name == name {
			return s
		}
		for _, sub := range s.SubSteps {
			if sub.Name == name {
				return sub
			}
		}
	}
	return StepStatus{}
}

const definitions = `
---
apiVersion: core.oam.dev/v1beta1
kind: WorkflowStepDefinition
metadata:
  name: produce
spec:
  schematic:
    cue:
      template: |
        parameter: value: string
        result: "produced-\(parameter.value)"
---
apiVersion: core.oam.dev/v1beta1
kind: WorkflowStepDefinition
metadata:
  name: fail
spec:
  schematic:
    cue:
      template: |
        import "vela/builtin"
        parameter: {}
        f: builtin.#Fail & {$params: message: "it broke"}
---
apiVersion: core.oam.dev/v1beta1
kind: WorkflowStepDefinition
metadata:
  name: poll
spec:
  schematic:
    cue:
      template: |
        import ("vela/builtin", "vela/http")
        parameter: url: string
        get: http.#HTTPGet & {$params: url: parameter.url}
        wait: builtin.#ConditionalWait & {$params: {continue: get.$returns.body == "ready", message: get.$returns.body}}
`

func TestDataPassingAndDefaultIf(t *testing.T) {
	e := newEnv(t)
	e.ExecuteWorkflow(WorkflowName, plan(t, `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: pass}
spec:
  context: {env: prod}
  workflowSpec:
    steps:
      - name: a
        type: produce
        properties: {value: x}
        outputs: [{name: out, valueFrom: result}]
      - name: b
        type: print-message-in-status
        inputs: [{from: out, parameterKey: message}]
      - name: c
        type: print-message-in-status
        if: inputs.out == "produced-x" && context.env == "prod"
        inputs: [{from: out}]
        properties: {message: "cond ok"}
      - name: d
        type: print-message-in-status
        if: status.a.failed
        properties: {message: never}
`+definitions))
	st := e.result()
	assert.Equal(t, RunSucceeded, st.Phase)
	assert.True(t, st.Finished)
	assert.Equal(t, StepSucceeded, step(st, "a").Phase)
	assert.Equal(t, map[string]any{"out": "produced-x"}, step(st, "a").Outputs)
	assert.Equal(t, "produced-x", step(st, "b").Message)
	assert.Equal(t, "cond ok", step(st, "c").Message)
	assert.Equal(t, StepSkipped, step(st, "d").Phase)
	assert.Equal(t, ReasonSkip, step(st, "d").Reason)
}

func TestFailureSkipsRestButAlwaysAndFailedConditionRun(t *testing.T) {
	e := newEnv(t)
	e.ExecuteWorkflow(WorkflowName, plan(t, `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: fails}
spec:
  workflowSpec:
    steps:
      - {name: a, type: fail}
      - {name: b, type: print-message-in-status, properties: {message: b}}
      - {name: c, type: print-message-in-status, if: always, properties: {message: c}}
      - {name: d, type: print-message-in-status, if: status.a.failed, properties: {message: d}}
`+definitions))
	st := e.result()
	assert.Equal(t, RunFailed, st.Phase)
	a := step(st, "a")
	assert.Equal(t, StepFailed, a.Phase)
	assert.Equal(t, ReasonAction, a.Reason)
	assert.Equal(t, "it broke", a.Message)
	assert.Equal(t, StepSkipped, step(st, "b").Phase)
	assert.Equal(t, StepSucceeded, step(st, "c").Phase)
	assert.Equal(t, StepSucceeded, step(st, "d").Phase)
}

func TestProviderErrorRetriedThenFailedAfterRetries(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // connection refused: a provider error
	e := newEnv(t)
	e.ExecuteWorkflow(WorkflowName, plan(t, `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: retries}
spec:
  workflowSpec:
    steps:
      - {name: call, type: request, properties: {url: "`+url+`"}}
`))
	st := e.result()
	assert.Equal(t, RunFailed, st.Phase)
	assert.Equal(t, ReasonFailedAfterRetries, step(st, "call").Reason)
	assert.Contains(t, step(st, "call").Message, "connection refused")
}

func TestConditionalWaitBacksOffOnDurableTimers(t *testing.T) {
	var gets atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if gets.Add(1) >= 5 {
			w.Write([]byte("ready"))
			return
		}
		w.Write([]byte("building"))
	}))
	defer srv.Close()
	e := newEnv(t)
	var waitingSeen bool
	e.RegisterDelayedCallback(func() {
		s := step(e.query(), "wait")
		waitingSeen = s.Phase == StepRunning && s.Reason == ReasonWait && s.Message == "building"
	}, 2*time.Second)
	e.ExecuteWorkflow(WorkflowName, plan(t, `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: waits}
spec:
  workflowSpec:
    steps:
      - {name: wait, type: poll, properties: {url: "`+srv.URL+`"}}
`+definitions))
	st := e.result()
	assert.Equal(t, RunSucceeded, st.Phase)
	assert.True(t, waitingSeen, "while waiting the step is running/Wait with the template's message")
	assert.EqualValues(t, 5, gets.Load())
	// Four waits of 1+2+4+8 s on the workflow clock.
	elapsed := step(st, "wait").LastExecuteTime.Sub(*step(st, "wait").FirstExecuteTime)
	assert.GreaterOrEqual(t, elapsed, 15*time.Second)
	assert.Less(t, elapsed, 16*time.Second)
}

func TestSuspendUntilResumeSignal(t *testing.T) {
	e := newEnv(t)
	var during *Status
	e.RegisterDelayedCallback(func() {
		during = e.query()
		e.SignalWorkflow(SignalResume, nil)
	}, time.Hour)
	e.ExecuteWorkflow(WorkflowName, plan(t, `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: sus}
spec:
  workflowSpec:
    steps:
      - {name: hold, type: suspend, properties: {message: "approve me"}}
      - {name: after, type: print-message-in-status, properties: {message: done}}
`))
	st := e.result()
	require.NotNil(t, during)
	assert.Equal(t, RunSuspending, during.Phase)
	assert.True(t, during.Suspend)
	assert.Equal(t, StepSuspending, step(during, "hold").Phase)
	assert.Equal(t, "approve me", step(during, "hold").Message, "the suspend message shows in status")
	assert.Equal(t, StepPending, step(during, "after").Phase)
	assert.Equal(t, RunSucceeded, st.Phase)
	assert.Equal(t, StepSucceeded, step(st, "hold").Phase)
}

func TestSuspendWithDurationResumesByItself(t *testing.T) {
	e := newEnv(t)
	e.ExecuteWorkflow(WorkflowName, plan(t, `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: sus}
spec:
  workflowSpec:
    steps:
      - {name: hold, type: suspend, properties: {duration: 30m}}
`))
	st := e.result()
	assert.Equal(t, RunSucceeded, st.Phase)
	hold := step(st, "hold")
	assert.GreaterOrEqual(t, hold.LastExecuteTime.Sub(*hold.FirstExecuteTime), 30*time.Minute)
}

func TestTerminateWhileSuspended(t *testing.T) {
	assertEndsTerminated(t, func(e *env) { e.SignalWorkflow(SignalTerminate, nil) })
}

// A cancellation (the Web UI's Cancel) ends the run as terminate does.
func TestCancelTerminatesTheRun(t *testing.T) {
	assertEndsTerminated(t, func(e *env) { e.CancelWorkflow() })
}

// assertEndsTerminated runs a step that holds, ends the run with end a
// minute in, and checks it ended terminated: the held step failed with
// Terminate, the next one never started.
func assertEndsTerminated(t *testing.T, end func(e *env)) {
	t.Helper()
	e := newEnv(t)
	e.RegisterDelayedCallback(func() { end(e) }, time.Minute)
	e.ExecuteWorkflow(WorkflowName, plan(t, `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: term}
spec:
  workflowSpec:
    steps:
      - {name: hold, type: suspend}
      - {name: after, type: print-message-in-status, properties: {message: done}}
`))
	st := e.result()
	assert.Equal(t, RunTerminated, st.Phase)
	assert.True(t, st.Terminated)
	assert.Equal(t, StepFailed, step(st, "hold").Phase)
	assert.Equal(t, ReasonTerminate, step(st, "hold").Reason)
	assert.Equal(t, StepPending, step(st, "after").Phase)
}

func TestRunLevelSuspendHoldsNextStep(t *testing.T) {
	e := newEnv(t)
	var during *Status
	e.RegisterDelayedCallback(func() { e.SignalWorkflow(SignalSuspend, nil) }, 500*time.Millisecond)
	e.RegisterDelayedCallback(func() { during = e.query(); e.SignalWorkflow(SignalResume, nil) }, time.Hour)
	e.ExecuteWorkflow(WorkflowName, plan(t, `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: hold}
spec:
  workflowSpec:
    steps:
      - {name: first, type: suspend, properties: {duration: 1s}}
      - {name: second, type: print-message-in-status, properties: {message: done}}
`))
	st := e.result()
	require.NotNil(t, during)
	assert.Equal(t, RunSuspending, during.Phase)
	assert.Equal(t, StepPending, step(during, "second").Phase)
	assert.Equal(t, RunSucceeded, st.Phase)
}

func TestDAGAndStepGroup(t *testing.T) {
	e := newEnv(t)
	e.ExecuteWorkflow(WorkflowName, plan(t, `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: dag}
spec:
  mode: {steps: DAG}
  workflowSpec:
    steps:
      - {name: w1, type: suspend, properties: {duration: 10s}}
      - {name: w2, type: suspend, properties: {duration: 10s}}
      - name: after
        type: produce
        dependsOn: [w1, w2]
        properties: {value: v}
        outputs: [{name: v, valueFrom: result}]
      - name: grp
        type: step-group
        dependsOn: [after]
        subSteps:
          - {name: s1, type: print-message-in-status, inputs: [{from: v, parameterKey: message}]}
          - {name: s2, type: fail}
`+definitions))
	st := e.result()
	assert.Equal(t, RunFailed, st.Phase)
	w1, after := step(st, "w1"), step(st, "after")
	assert.Less(t, after.FirstExecuteTime.Sub(*w1.FirstExecuteTime), 15*time.Second, "w1 and w2 ran concurrently")
	assert.Equal(t, "produced-v", step(st, "s1").Message)
	assert.Equal(t, StepFailed, step(st, "grp").Phase, "a group with a failed sub-step fails")
	assert.Equal(t, StepFailed, step(st, "s2").Phase)
}
