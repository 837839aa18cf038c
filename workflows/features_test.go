package workflows

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/velaflow/velaflow/translator"
)

// service counts calls: GET /ready answers "ready" once ready is set,
// POST /build is the side effect, /hangup drops the connection (a provider
// error) until hangups runs out.
type service struct {
	gets, posts, hangs atomic.Int32
	ready              atomic.Bool
	hangups            atomic.Int32
}

func (s *service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/ready":
		s.gets.Add(1)
		if s.ready.Load() {
			w.Write([]byte("ready"))
			return
		}
		w.Write([]byte("building"))
	case "/build":
		s.posts.Add(1)
		w.Write([]byte(`{"id":"42"}`))
	case "/hangup":
		s.hangs.Add(1)
		if s.hangups.Add(-1) >= 0 {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		w.Write([]byte("ok"))
	}
}

const postThenCall = `
---
apiVersion: core.oam.dev/v1beta1
kind: WorkflowStepDefinition
metadata:
  name: post-then-call
spec:
  schematic:
    cue:
      template: |
        import ("vela/http", "vela/builtin")
        parameter: {base: string, then: string}
        post: http.#HTTPPost & {$params: url: parameter.base + "/build"}
        // The call goes after the POST: it names the POST's status.
        call: http.#HTTPGet & {$params: url: "\(parameter.base)\(parameter.then)?after=\(post.$returns.statusCode)"}
        wait: builtin.#ConditionalWait & {$params: continue: post.$returns.statusCode == 200 && call.$returns.body == "ready" || call.$returns.body == "ok"}
`

func TestStepTimeoutFailsTheStepAndAlwaysStillRuns(t *testing.T) {
	svc := &service{}
	srv := httptest.NewServer(svc)
	defer srv.Close()
	e := newEnv(t)
	e.ExecuteWorkflow(WorkflowName, plan(t, `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: timeouts}
spec:
  workflowSpec:
    steps:
      - {name: wait, type: poll, timeout: 30s, properties: {url: "`+srv.URL+`/ready"}}
      - {name: next, type: produce, properties: {value: x}}
      - {name: cleanup, type: produce, if: always, properties: {value: y}}
      - {name: onTimeout, type: produce, if: status.wait.timeout, properties: {value: z}}
`+definitions))
	st := e.result()
	assert.Equal(t, RunFailed, st.Phase)
	w := step(st, "wait")
	assert.Equal(t, StepFailed, w.Phase)
	assert.Equal(t, ReasonTimeout, w.Reason)
	assert.Equal(t, 30*time.Second, w.LastExecuteTime.Sub(*w.FirstExecuteTime).Round(time.Second), "the durable timer fired at the deadline")
	assert.Equal(t, StepSkipped, step(st, "next").Phase)
	assert.Equal(t, StepSucceeded, step(st, "cleanup").Phase)
	assert.Equal(t, StepSucceeded, step(st, "onTimeout").Phase)
}

func TestGroupTimeoutFailsItsRunningSubSteps(t *testing.T) {
	svc := &service{}
	srv := httptest.NewServer(svc)
	defer srv.Close()
	e := newEnv(t)
	e.ExecuteWorkflow(WorkflowName, plan(t, `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: group-timeout}
spec:
  workflowSpec:
    steps:
      - name: grp
        type: step-group
        timeout: 20s
        mode: DAG
        subSteps:
          - {name: quick, type: suspend, properties: {duration: 5s}}
          - {name: slow, type: poll, properties: {url: "`+srv.URL+`/ready"}}
      - {name: after, type: produce, properties: {value: x}}
`+definitions))
	st := e.result()
	assert.Equal(t, RunFailed, st.Phase)
	g := step(st, "grp")
	assert.Equal(t, StepFailed, g.Phase)
	assert.Equal(t, ReasonTimeout, g.Reason)
	assert.Equal(t, StepSucceeded, step(st, "quick").Phase)
	assert.Equal(t, ReasonTimeout, step(st, "slow").Reason)
	assert.Equal(t, StepSkipped, step(st, "after").Phase)
}

func TestRetryOverridePerStep(t *testing.T) {
	svc := &service{}
	svc.hangups.Store(100)
	srv := httptest.NewServer(svc)
	defer srv.Close()
	e := newEnv(t)
	e.ExecuteWorkflow(WorkflowName, plan(t, `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: retry-override}
spec:
  mode: {steps: DAG}
  workflowSpec:
    steps:
      - name: five
        type: request
        retry: {limit: 5, backoff: 2s, maxBackoff: 4s}
        properties: {url: "`+srv.URL+`/hangup"}
`))
	st := e.result()
	five := step(st, "five")
	assert.Equal(t, ReasonFailedAfterRetries, five.Reason)
	assert.Contains(t, five.Message, "failed 5 times")
	assert.EqualValues(t, 5, svc.hangs.Load(), "the step's own limit, not the worker's 3")
	// Pauses of 2, 4, 4, 4 s on the workflow clock.
	assert.Equal(t, 14*time.Second, five.LastExecuteTime.Sub(*five.FirstExecuteTime).Round(time.Second))
}

func TestSideEffectIsNotRepeatedByRetries(t *testing.T) {
	svc := &service{}
	svc.hangups.Store(2) // the call after the POST fails twice
	srv := httptest.NewServer(svc)
	defer srv.Close()
	e := newEnv(t)
	e.ExecuteWorkflow(WorkflowName, plan(t, `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: once}
spec:
  workflowSpec:
    steps:
      - {name: s, type: post-then-call, properties: {base: "`+srv.URL+`", then: /hangup}}
`+definitions+postThenCall))
	st := e.result()
	require.Equal(t, RunSucceeded, st.Phase, "%+v", st)
	assert.EqualValues(t, 3, svc.hangs.Load(), "the failing call is re-run")
	assert.EqualValues(t, 1, svc.posts.Load(), "the POST that completed is not sent again")
}

func TestContinueAsNewCarriesAWaitingStep(t *testing.T) {
	svc := &service{}
	srv := httptest.NewServer(svc)
	defer srv.Close()
	p := plan(t, `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: long}
spec:
  workflowSpec:
    steps:
      - {name: first, type: produce, properties: {value: a}, outputs: [{name: a, valueFrom: result}]}
      - {name: s, type: post-then-call, timeout: 1h, properties: {base: "`+srv.URL+`", then: /ready}}
      - {name: last, type: produce, inputs: [{from: a, parameterKey: value}], outputs: [{name: l, valueFrom: result}]}
`+definitions+postThenCall)
	next := continuedAsNew(t, p)
	require.NotNil(t, next.State)
	assert.Equal(t, StepSucceeded, step(&next.State.Status, "first").Phase)
	assert.Equal(t, ReasonWait, step(&next.State.Status, "s").Reason)
	assert.NotEmpty(t, next.State.Loops["s"].Memo, "the POST's result is carried")
	postsBefore := svc.posts.Load()

	svc.ready.Store(true)
	e2 := newEnv(t)
	e2.ExecuteWorkflow(WorkflowName, next)
	st := e2.result()
	require.Equal(t, RunSucceeded, st.Phase)
	assert.EqualValues(t, 1, postsBefore)
	assert.EqualValues(t, 1, svc.posts.Load(), "the continued run does not POST again")
	assert.Equal(t, "produced-produced-a", step(st, "last").Outputs["l"], "outputs are carried")
}

// Variables put before a continue-as-new are read after it.
func TestContinueAsNewCarriesVariables(t *testing.T) {
	svc := &service{}
	srv := httptest.NewServer(svc)
	defer srv.Close()
	p := plan(t, `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: long-vars}
spec:
  workflowSpec:
    steps:
      - {name: put, type: put-var, properties: {path: build.id, value: "42"}}
      - {name: s, type: post-then-call, timeout: 1h, properties: {base: "`+srv.URL+`", then: /ready}}
      - {name: get, type: get-var, properties: {path: build.id}}
`+definitions+postThenCall+varDefinitions)
	next := continuedAsNew(t, p)
	require.NotNil(t, next.State)
	assert.Equal(t, map[string]any{"build": map[string]any{"id": "42"}}, next.State.Vars)

	svc.ready.Store(true)
	e2 := newEnv(t)
	e2.ExecuteWorkflow(WorkflowName, next)
	st := e2.result()
	require.Equal(t, RunSucceeded, st.Phase, "%+v", st)
	assert.Equal(t, "got 42", step(st, "get").Message)
}

func TestRestartStateResetsTheStepAndWhatFollows(t *testing.T) {
	p := plan(t, `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: r}
spec:
  workflowSpec:
    steps:
      - {name: a, type: produce, properties: {value: a}, outputs: [{name: a, valueFrom: result}]}
      - {name: b, type: fail}
      - {name: c, type: produce, properties: {value: c}}
      - name: g
        type: step-group
        if: always
        subSteps:
          - {name: g1, type: produce, properties: {value: x}, outputs: [{name: g1out, valueFrom: result}]}
          - {name: g2, type: fail}
`+definitions)
	prev := &Status{Phase: RunFailed, Finished: true, Steps: newStatuses(p.Steps, "r1")}
	set := func(name, phase string) {
		for i := range prev.Steps {
			if prev.Steps[i].Name == name {
				prev.Steps[i].Phase = phase
			}
			for j := range prev.Steps[i].SubSteps {
				if prev.Steps[i].SubSteps[j].Name == name {
					prev.Steps[i].SubSteps[j].Phase = phase
				}
			}
		}
	}
	set("a", StepSucceeded)
	prev.Steps[0].Outputs = map[string]any{"a": "produced-a"}
	set("b", StepFailed)
	set("c", StepSkipped)
	set("g", StepFailed)
	set("g1", StepSucceeded)
	prev.Steps[3].SubSteps[0].Outputs = map[string]any{"g1out": "produced-x"}
	set("g2", StepFailed)

	st, err := restartState(&p, &Restart{Step: "b", Previous: prev}, time.Now(), "r2")
	require.NoError(t, err)
	phases := func(s *State) map[string]string {
		m := map[string]string{}
		for _, x := range s.Status.Steps {
			m[x.Name] = x.Phase
			for _, y := range x.SubSteps {
				m[y.Name] = y.Phase
			}
		}
		return m
	}
	assert.Equal(t, map[string]string{"a": StepSucceeded, "b": StepPending, "c": StepPending, "g": StepPending, "g1": StepPending, "g2": StepPending}, phases(st))
	assert.Equal(t, map[string]any{"a": "produced-a"}, st.Outputs, "outputs of reset steps are cleared")

	st, err = restartState(&p, &Restart{Step: "g2", Previous: prev}, time.Now(), "r2")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"a": StepSucceeded, "b": StepFailed, "c": StepPending, "g": StepPending, "g1": StepSucceeded, "g2": StepPending}, phases(st),
		"a sub-step re-runs in its group, which keeps its other results; the failed b stays failed, the skipped c is re-decided")
	assert.Equal(t, "produced-x", st.Outputs["g1out"])

	_, err = restartState(&p, &Restart{Step: "a", Previous: prev}, time.Now(), "r2")
	assert.ErrorContains(t, err, `step "a" is succeeded; only a failed step can be restarted`)
	_, err = restartState(&p, &Restart{Step: "zz", Previous: prev}, time.Now(), "r2")
	assert.ErrorContains(t, err, `no step "zz"`)
}

func TestVariablesAreSharedByTheStepsOfARun(t *testing.T) {
	e := newEnv(t)
	e.ExecuteWorkflow(WorkflowName, plan(t, `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: vars}
spec:
  workflowSpec:
    steps:
      - {name: put, type: put-var, properties: {path: build.id, value: "42"}}
      - {name: get, type: get-var, properties: {path: build.id}}
      - name: grp
        type: step-group
        subSteps:
          - {name: inner-get, type: get-var, properties: {path: build.id}}
          - {name: inner-put, type: put-var, properties: {path: region, value: shanghai}}
      - {name: after, type: get-var, properties: {path: region}}
      - {name: legacy, type: get-var-legacy, properties: {path: build.id}}
`+varDefinitions))
	st := e.result()
	require.Equal(t, RunSucceeded, st.Phase, "%+v", st)
	assert.Equal(t, "got 42", step(st, "get").Message)
	assert.Equal(t, "got 42", step(st, "inner-get").Message, "a group sees the run's variables")
	assert.Equal(t, "got shanghai", step(st, "after").Message, "what a group puts comes back")
	assert.Equal(t, "legacy 42", step(st, "legacy").Message)
}

// varDefinitions are step types that put and get run variables.
const varDefinitions = `
---
apiVersion: core.oam.dev/v1beta1
kind: WorkflowStepDefinition
metadata: {name: put-var}
spec:
  schematic:
    cue:
      template: |
        import "vela/builtin"
        parameter: {path: string, value: string}
        put: builtin.#DoVar & {$params: {method: "Put", path: parameter.path, value: parameter.value}}
---
apiVersion: core.oam.dev/v1beta1
kind: WorkflowStepDefinition
metadata: {name: get-var}
spec:
  schematic:
    cue:
      template: |
        import "vela/builtin"
        parameter: path: string
        get: builtin.#DoVar & {$params: {method: "Get", path: parameter.path}}
        msg: builtin.#Message & {$params: message: "got \(get.$returns.value)"}
---
apiVersion: core.oam.dev/v1beta1
kind: WorkflowStepDefinition
metadata: {name: get-var-legacy}
spec:
  schematic:
    cue:
      template: |
        import "vela/op"
        parameter: path: string
        get: op.#DoVar & {method: "Get", path: parameter.path}
        msg: op.#Message & {message: "legacy \(get.value)"}
`

// The engine settings are the run's: given in its input they win over the
// worker's, and a run that continues as new carries those it started with.
func TestEngineSettingsArePinnedInTheRun(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // connection refused: a provider error
	in := RunInput{Plan: plan(t, `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: pinned}
spec:
  workflowSpec:
    steps:
      - {name: call, type: request, properties: {url: "`+url+`"}}
`)}
	cfg := DefaultConfig()
	cfg.RetryInitial, cfg.MaxStepErrorRetries = 10*time.Millisecond, 5
	in.Engine = &cfg
	e := newEnv(t) // its worker says 3 executions
	e.ExecuteWorkflow(WorkflowName, in)
	st := e.result()
	assert.Equal(t, ReasonFailedAfterRetries, step(st, "call").Reason)
	assert.Contains(t, step(st, "call").Message, "failed 5 times", "the run's setting, not the worker's")

	svc := &service{}
	wait := httptest.NewServer(svc)
	defer wait.Close()
	next := continuedAsNew(t, plan(t, `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: pinned-long}
spec:
  workflowSpec:
    steps:
      - {name: s, type: post-then-call, timeout: 1h, properties: {base: "`+wait.URL+`", then: /ready}}
`+definitions+postThenCall))
	require.NotNil(t, next.Engine, "the settings travel in the continued run's input")
	assert.EqualValues(t, 3, next.Engine.MaxStepErrorRetries)
	assert.Equal(t, 10*time.Millisecond, next.Engine.RetryInitial)
}

// continuedAsNew runs the input until Temporal suggests continuing as new
// (5 s in), and returns the input the run continues with.
func continuedAsNew(t *testing.T, in any) RunInput {
	t.Helper()
	e := newEnv(t)
	e.RegisterDelayedCallback(func() { e.SetContinueAsNewSuggested(true) }, 5*time.Second)
	e.ExecuteWorkflow(WorkflowName, in)
	require.True(t, e.IsWorkflowCompleted())
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(e.GetWorkflowError(), &can), "the run continues as new: %v", e.GetWorkflowError())
	var next RunInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	return next
}

// A run restarted from a failed step starts with the variables the run
// had when it ended: the re-run step reads what an earlier step put.
func TestRestartCarriesVariables(t *testing.T) {
	p := plan(t, `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: restart-vars}
spec:
  workflowSpec:
    steps:
      - {name: put, type: put-var, properties: {path: build.id, value: "42"}}
      - {name: get, type: get-var, properties: {path: build.id}}
`+varDefinitions)
	prev := &Status{Phase: RunFailed, Finished: true, Steps: newStatuses(p.Steps, "r1")}
	prev.Steps[0].Phase = StepSucceeded
	prev.Steps[1].Phase, prev.Steps[1].Reason = StepFailed, ReasonFailedAfterRetries
	e := newEnv(t)
	e.ExecuteWorkflow(WorkflowName, RunInput{Plan: p, Restart: &Restart{Step: "get", Previous: prev,
		Vars: map[string]any{"build": map[string]any{"id": "42"}}}})
	st := e.result()
	require.Equal(t, RunSucceeded, st.Phase, "%+v", st)
	assert.Equal(t, "got 42", step(st, "get").Message)
}

// A wake names a step by its ID, which differs between runs of the same
// name: a wake meant for an earlier run's step wakes nothing here. Older
// workers name the step.
func TestWakeReachesOnlyThisRunsStep(t *testing.T) {
	sts := newStatuses([]translator.Step{{Name: "wait"}}, "this-run")
	r := &run{steps: map[string]*StepStatus{"wait": &sts[0]}, woken: map[string]bool{}}
	r.wake(stepID("earlier-run", "wait"))
	assert.Empty(t, r.woken, "another run's step")
	r.wake(stepID("this-run", "wait"))
	assert.Equal(t, map[string]bool{"wait": true}, r.woken)
	r.woken = map[string]bool{}
	r.wake("wait")
	assert.Equal(t, map[string]bool{"wait": true}, r.woken, "by name")
}
