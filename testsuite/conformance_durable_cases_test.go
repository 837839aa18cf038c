package testsuite

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/velaflow/velaflow/workflows"
)

// Cases for timeouts, retries, restart and groups as child workflows.

func timeoutCases() []conformanceCase {
	return []conformanceCase{{
		// The step fails with Timeout at its deadline; the run stops (the
		// next step is skipped) while `always` and `status.x.timeout` run.
		name: "timeout/step",
		yaml: `
spec:
  workflowSpec:
    steps:
      - {name: wait, type: wait-until, timeout: 2s, properties: {url: "{{.URL}}", id: "never"}}
      - {name: next, type: request, properties: {url: "{{.URL}}/count/next"}}
      - {name: cleanup, type: request, if: always, properties: {url: "{{.URL}}/count/cleanup"}}
      - {name: on-timeout, type: request, if: status.wait.timeout, properties: {url: "{{.URL}}/count/on-timeout"}}
`,
		want: caseWant{Phase: workflows.RunFailed, Message: "Timeout", Steps: map[string]stepWant{
			"wait":       stepFailed(workflows.ReasonTimeout, "timed out after 2s"),
			"next":       stepSkipped(""),
			"cleanup":    stepOK(),
			"on-timeout": stepOK(),
		}},
		check: func(t *testing.T, st *workflows.Status, svc *service) {
			first, last := stepTimes(t, st, "wait")
			took := last.Sub(first)
			assert.True(t, took >= 2*time.Second && took < 8*time.Second, "timed out %s after the first execution", took)
			assertHits(t, svc, map[string]int{"/count/next": 0, "/count/cleanup": 1})
		},
	}, {
		// A suspended step times out too.
		name: "timeout/suspended-step",
		yaml: `
spec:
  workflowSpec:
    steps:
      - {name: approve, type: suspend, timeout: 1s}
`,
		want: caseWant{Phase: workflows.RunFailed, Steps: map[string]stepWant{"approve": stepFailed(workflows.ReasonTimeout, "")}},
	}, {
		// A group's timeout applies to its sub-steps: the one still running
		// fails with Timeout, the finished one keeps its result, and the
		// group fails with Timeout.
		name: "timeout/group",
		yaml: `
spec:
  workflowSpec:
    steps:
      - name: grp
        type: step-group
        timeout: 3s
        mode: DAG
        subSteps:
          - {name: quick, type: request, properties: {url: "{{.URL}}/count/quick"}}
          - {name: slow, type: wait-until, properties: {url: "{{.URL}}", id: "never"}}
      - {name: after, type: request, properties: {url: "{{.URL}}/count/after"}}
      - {name: report, type: request, if: status.grp.timeout, properties: {url: "{{.URL}}/count/report"}}
`,
		want: caseWant{Phase: workflows.RunFailed, Steps: map[string]stepWant{
			"grp":    stepFailed(workflows.ReasonTimeout, ""),
			"quick":  stepOK(),
			"slow":   stepFailed(workflows.ReasonTimeout, ""),
			"after":  stepSkipped(""),
			"report": stepOK(),
		}},
		check: func(t *testing.T, st *workflows.Status, svc *service) {
			first, _ := stepTimes(t, st, "grp")
			_, slowEnd := stepTimes(t, st, "slow")
			took := slowEnd.Sub(first)
			assert.True(t, took >= 3*time.Second && took < 9*time.Second, "the sub-step timed out %s after the group started", took)
		},
	}}
}

func retryCases() []conformanceCase {
	return []conformanceCase{{
		// `retry` overrides the worker's limit (3 in the harness) for one
		// step; the other step keeps the worker's.
		name: "retry/per-step-override",
		yaml: `
spec:
  mode: {steps: DAG}
  workflowSpec:
    steps:
      - name: five
        type: request
        retry: {limit: 5, backoff: 100ms, maxBackoff: 200ms}
        properties: {url: "{{.URL}}/flaky/five"}
      - {name: default, type: request, properties: {url: "{{.URL}}/flaky/default"}}
`,
		setup: func(svc *service) { svc.HangUpFirst("five", 100); svc.HangUpFirst("default", 100) },
		want: caseWant{Phase: workflows.RunFailed, Steps: map[string]stepWant{
			"five":    stepFailed(workflows.ReasonFailedAfterRetries, "failed 5 times"),
			"default": stepFailed(workflows.ReasonFailedAfterRetries, "failed 3 times"),
		}},
		check: func(t *testing.T, st *workflows.Status, svc *service) {
			assertHits(t, svc, map[string]int{"/flaky/five": 5, "/flaky/default": 3})
		},
	}, {
		// A provider error that goes away: the step is retried, shows the
		// retry while it waits, and succeeds.
		name: "retry/recovers",
		yaml: `
spec:
  workflowSpec:
    steps:
      - name: call
        type: request
        retry: {limit: 4, backoff: 500ms}
        properties: {url: "{{.URL}}/flaky/call"}
`,
		setup: func(svc *service) { svc.HangUpFirst("call", 2) },
		during: func(t *testing.T, c *caseRun) {
			st := c.WaitStep("call", workflows.StepRunning, workflows.ReasonExecute)
			assert.Contains(t, findStep(st, "call").Message, "retrying in")
		},
		want: caseWant{Phase: workflows.RunSucceeded, Steps: map[string]stepWant{"call": stepOK()}},
		check: func(t *testing.T, st *workflows.Status, svc *service) {
			assertHits(t, svc, map[string]int{"/flaky/call": 3})
		},
	}, {
		// A POST that completed is not sent again when a later operation
		// of the same step fails and the step is retried.
		name: "once/post-then-retry",
		yaml: `
spec:
  workflowSpec:
    steps:
      - {name: s, type: post-then-get, properties: {url: "{{.URL}}", path: /flaky/after-post}}
`,
		setup: func(svc *service) { svc.HangUpFirst("after-post", 2) },
		want:  caseWant{Phase: workflows.RunSucceeded, Steps: map[string]stepWant{"s": stepOK()}},
		check: func(t *testing.T, st *workflows.Status, svc *service) {
			assertHits(t, svc, map[string]int{"/build": 1, "/flaky/after-post": 3})
		},
	}}
}

func restartCases() []conformanceCase {
	return []conformanceCase{{
		// Restart from the failed step: it and the steps after it run
		// again; the earlier step keeps its result and is not re-run, its
		// output still feeds the later step. Restarting a step that
		// succeeded is refused.
		name: "restart/from-failed-step",
		yaml: `
spec:
  workflowSpec:
    steps:
      - name: a
        type: request
        properties: {url: "{{.URL}}/count/a"}
        outputs: [{name: n, valueFrom: response.key}]
      - {name: b, type: request, properties: {url: "{{.URL}}/gate/b"}}
      - {name: c, type: echo, inputs: [{from: n, parameterKey: value}]}
`,
		during: func(t *testing.T, c *caseRun) {
			st := c.WaitFinished()
			require.Equal(t, workflows.RunFailed, st.Phase)
			require.Equal(t, workflows.StepSkipped, findStep(st, "c").Phase)
			_, errOut, code := c.CLI("restart", c.Name, "--step", "a")
			assert.NotEqual(t, 0, code)
			assert.Contains(t, errOut, `step "a"`)
			assert.Contains(t, errOut, "only a failed step can be restarted")
			c.Svc.Open("b")
			c.Must("restart", c.Name, "--step", "b")
		},
		want: caseWant{Phase: workflows.RunSucceeded, Steps: map[string]stepWant{"a": stepOK(), "b": stepOK(), "c": stepOK()},
			Outputs: map[string]map[string]any{"a": {"n": "a"}}},
		check: func(t *testing.T, st *workflows.Status, svc *service) {
			assertHits(t, svc, map[string]int{"/count/a": 1, "/gate/b": 2})
			assert.Equal(t, "echo a", findStep(st, "c").Message, "the kept output feeds the re-run step")
		},
	}, {
		// Restart without --step runs everything again.
		name: "restart/whole-run",
		yaml: `
spec:
  workflowSpec:
    steps:
      - {name: a, type: request, properties: {url: "{{.URL}}/count/a"}}
      - {name: b, type: request, properties: {url: "{{.URL}}/gate/b"}}
`,
		during: func(t *testing.T, c *caseRun) {
			require.Equal(t, workflows.RunFailed, c.WaitFinished().Phase)
			c.Svc.Open("b")
			c.Must("restart", c.Name)
		},
		want: caseWant{Phase: workflows.RunSucceeded, Steps: map[string]stepWant{"a": stepOK(), "b": stepOK()}},
		check: func(t *testing.T, st *workflows.Status, svc *service) {
			assertHits(t, svc, map[string]int{"/count/a": 2, "/gate/b": 2})
		},
	}, {
		// A failed sub-step restarts inside its group; the group's other
		// sub-step keeps its result.
		name: "restart/sub-step",
		yaml: `
spec:
  workflowSpec:
    steps:
      - name: grp
        type: step-group
        mode: DAG
        subSteps:
          - {name: ok, type: request, properties: {url: "{{.URL}}/count/ok"}}
          - {name: gated, type: request, properties: {url: "{{.URL}}/gate/g"}}
      - {name: after, type: request, properties: {url: "{{.URL}}/count/after"}}
`,
		during: func(t *testing.T, c *caseRun) {
			require.Equal(t, workflows.RunFailed, c.WaitFinished().Phase)
			c.Svc.Open("g")
			c.Must("restart", c.Name, "--step", "gated")
		},
		want: caseWant{Phase: workflows.RunSucceeded, Steps: map[string]stepWant{"grp": stepOK(), "ok": stepOK(), "gated": stepOK(), "after": stepOK()}},
		check: func(t *testing.T, st *workflows.Status, svc *service) {
			assertHits(t, svc, map[string]int{"/count/ok": 1, "/gate/g": 2, "/count/after": 1})
		},
	}}
}

func childGroupCases() []conformanceCase {
	return []conformanceCase{{
		// A group runs as the child workflow <run-id>/<group>: inputs go
		// in, outputs come back, its sub-steps show live in the run's
		// status, and resume reaches its suspended sub-step.
		name: "group/child-workflow",
		yaml: `
spec:
  workflowSpec:
    steps:
      - name: a
        type: request
        properties: {url: "{{.URL}}/count/a"}
        outputs: [{name: key, valueFrom: response.key}]
      - name: grp
        type: step-group
        subSteps:
          - {name: show, type: echo, inputs: [{from: key, parameterKey: value}]}
          - {name: hold, type: suspend, properties: {message: "waiting in the group"}}
          - name: produce
            type: request
            properties: {url: "{{.URL}}/count/produce"}
            outputs: [{name: made, valueFrom: response.key}]
      - {name: use, type: echo, inputs: [{from: made, parameterKey: value}]}
`,
		during: func(t *testing.T, c *caseRun) {
			st := c.WaitStep("hold", workflows.StepSuspending, workflows.ReasonSuspend)
			assert.Equal(t, workflows.RunSuspending, st.Phase, "a suspended sub-step suspends the run")
			assert.Equal(t, workflows.StepSuspending, findStep(st, "grp").Phase)
			assert.Equal(t, "waiting in the group", findStep(st, "hold").Message)

			desc, err := shared.client.DescribeWorkflowExecution(context.Background(), "default/"+c.Name+"/grp", "")
			require.NoError(t, err, "the group runs as child workflow <run-id>/<group>")
			assert.Equal(t, workflows.GroupWorkflowName, desc.WorkflowExecutionInfo.Type.Name)
			assert.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, desc.WorkflowExecutionInfo.Status)
			assert.Equal(t, "default/"+c.Name, desc.WorkflowExecutionInfo.ParentExecution.GetWorkflowId())
			c.Must("resume", c.Name)
		},
		want: caseWant{Phase: workflows.RunSucceeded,
			Steps:   map[string]stepWant{"a": stepOK(), "grp": stepOK(), "show": stepOK(), "hold": stepOK(), "produce": stepOK(), "use": stepOK()},
			Outputs: map[string]map[string]any{"produce": {"made": "produce"}}},
		check: func(t *testing.T, st *workflows.Status, svc *service) {
			assert.Equal(t, "echo a", findStep(st, "show").Message, "inputs go into the group")
			assert.Equal(t, "echo produce", findStep(st, "use").Message, "outputs come back from it")
		},
	}, {
		// Terminate reaches a group's sub-steps.
		name: "terminate/group",
		yaml: `
spec:
  workflowSpec:
    steps:
      - name: grp
        type: step-group
        subSteps:
          - {name: hold, type: suspend}
      - {name: after, type: request, properties: {url: "{{.URL}}/count/after"}}
`,
		during: func(t *testing.T, c *caseRun) {
			c.WaitStep("hold", workflows.StepSuspending, workflows.ReasonSuspend)
			c.Must("terminate", c.Name)
		},
		want: caseWant{Phase: workflows.RunTerminated, Steps: map[string]stepWant{
			"grp": stepFailed(workflows.ReasonTerminate, ""), "hold": stepFailed(workflows.ReasonTerminate, ""), "after": stepPending(),
		}},
		check: func(t *testing.T, st *workflows.Status, svc *service) {
			assert.Eventually(t, func() bool {
				d, err := shared.client.DescribeWorkflowExecution(context.Background(), "default/"+strings.TrimSpace(runName("terminate/group"))+"/grp", "")
				return err == nil && d.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
			}, 10*time.Second, 100*time.Millisecond, "the group's child workflow has closed")
		},
	}}
}

func restartRunningCases() []conformanceCase {
	return []conformanceCase{{
		// Restarting a run that is still going terminates it (and its
		// group's child workflow) and starts it over.
		name: "restart/running-run",
		yaml: `
spec:
  workflowSpec:
    steps:
      - {name: a, type: request, properties: {url: "{{.URL}}/count/a"}}
      - name: grp
        type: step-group
        subSteps:
          - {name: hold, type: suspend}
`,
		during: func(t *testing.T, c *caseRun) {
			c.WaitStep("hold", workflows.StepSuspending, workflows.ReasonSuspend)
			c.Must("restart", c.Name)
			c.WaitFor("the restarted run reaches the suspension again", func(st *workflows.Status) bool {
				return c.Svc.Hits("/count/a") == 2 && findStep(st, "hold").Phase == workflows.StepSuspending
			})
			c.Must("resume", c.Name)
		},
		want: caseWant{Phase: workflows.RunSucceeded, Steps: map[string]stepWant{"a": stepOK(), "grp": stepOK(), "hold": stepOK()}},
		check: func(t *testing.T, st *workflows.Status, svc *service) {
			assertHits(t, svc, map[string]int{"/count/a": 2})
		},
	}, {
		// In DAG mode a group whose sub-step needs an output produced
		// outside the group starts once that output exists.
		name: "group/waits-for-outside-input",
		yaml: `
spec:
  mode: {steps: DAG}
  workflowSpec:
    steps:
      - name: grp
        type: step-group
        subSteps:
          - {name: show, type: echo, inputs: [{from: late, parameterKey: value}]}
      - name: producer
        type: request
        properties: {url: "{{.URL}}/sleep?ms=500"}
        outputs: [{name: late, valueFrom: "\"v\""}]
`,
		want: caseWant{Phase: workflows.RunSucceeded, Steps: map[string]stepWant{"grp": stepOK(), "show": stepOK(), "producer": stepOK()}},
		check: func(t *testing.T, st *workflows.Status, svc *service) {
			assert.Equal(t, "echo v", findStep(st, "show").Message)
			assertStartsAfter(t, st, "grp", "producer")
		},
	}}
}

func logCases() []conformanceCase {
	return []conformanceCase{{
		// What steps log (#Log) is what `velaflow logs` prints, for a
		// step and for a group's sub-step.
		name: "logs/step-and-sub-step",
		yaml: `
spec:
  workflowSpec:
    steps:
      - {name: cache, type: log-from, properties: {line: "calling the cache service", url: "{{.URL}}/log"}}
      - name: grp
        type: step-group
        subSteps:
          - {name: inner, type: log-from, properties: {line: "inside the group", url: "{{.URL}}/log"}}
`,
		during: func(t *testing.T, c *caseRun) {
			c.WaitFinished()
			out := c.Must("logs", c.Name, "--step", "cache")
			assert.Equal(t, "calling the cache service\ntemplate cached\nready in 2 regions\n", out)
			all := c.Must("logs", c.Name)
			assert.Contains(t, all, "inner: inside the group")
			assert.Contains(t, all, "cache: ready in 2 regions")
			// A step that logged nothing prints nothing, as a run does; a
			// step the run does not have is an error naming the steps.
			assert.Equal(t, "", c.Must("logs", c.Name, "--step", "grp"))
			out, errOut, code := c.CLI("logs", c.Name, "--step", "cahce")
			assert.Equal(t, 1, code, out)
			assert.Contains(t, errOut, `has no step "cahce" (its steps: cache, grp, inner)`)
		},
		want: caseWant{Phase: workflows.RunSucceeded, Steps: map[string]stepWant{"cache": stepOK(), "grp": stepOK(), "inner": stepOK()}},
	}}
}
