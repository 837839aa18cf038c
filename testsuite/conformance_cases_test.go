package testsuite

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/velaflow/velaflow/workflows"
)

// conformanceCases is the table; conformance_test.go explains how to add
// a case. Group new cases under the feature they exercise.
func conformanceCases() []conformanceCase {
	var cases []conformanceCase
	for _, group := range [][]conformanceCase{
		orderCases(),
		groupCases(),
		dataCases(),
		ifCases(),
		failureCases(),
		suspendCases(),
		terminateCases(),
		onceCases(),
		timeoutCases(),
		retryCases(),
		restartCases(),
		childGroupCases(),
		restartRunningCases(),
		logCases(),
	} {
		cases = append(cases, group...)
	}
	return cases
}

func orderCases() []conformanceCase {
	return []conformanceCase{{
		name: "order/step-by-step",
		yaml: `
spec:
  workflowSpec:
    steps:
      - {name: a, type: request, properties: {url: "{{.URL}}/count/a"}}
      - {name: b, type: request, properties: {url: "{{.URL}}/count/b"}}
      - {name: c, type: request, properties: {url: "{{.URL}}/count/c"}}
`,
		want: caseWant{Phase: workflows.RunSucceeded, Steps: map[string]stepWant{"a": stepOK(), "b": stepOK(), "c": stepOK()}},
		check: func(t *testing.T, st *workflows.Status, svc *service) {
			assert.Equal(t, "StepByStep-DAG", st.Mode, "the default modes")
			assert.Equal(t, []string{"/count/a", "/count/b", "/count/c"}, svc.Order())
			assertStartsAfter(t, st, "b", "a")
			assertStartsAfter(t, st, "c", "b")
		},
	}, {
		name: "order/dag-depends-on",
		yaml: `
spec:
  mode: {steps: DAG}
  workflowSpec:
    steps:
      - {name: c, type: request, dependsOn: [a, b], properties: {url: "{{.URL}}/count/c"}}
      - {name: b, type: request, dependsOn: [a], properties: {url: "{{.URL}}/count/b"}}
      - {name: a, type: sleep-get, properties: {url: "{{.URL}}", ms: 300}}
`,
		want: caseWant{Phase: workflows.RunSucceeded, Steps: map[string]stepWant{"a": stepOK(), "b": stepOK(), "c": stepOK()}},
		check: func(t *testing.T, st *workflows.Status, svc *service) {
			assert.Equal(t, []string{"/sleep", "/count/b", "/count/c"}, svc.Order())
			assertStartsAfter(t, st, "b", "a")
			assertStartsAfter(t, st, "c", "b")
		},
	}, {
		// Three independent 2 s requests run at once: the run takes about
		// 2 s, not 6 s.
		name: "order/dag-concurrency",
		yaml: `
spec:
  mode: {steps: DAG}
  workflowSpec:
    steps:
      - {name: a, type: sleep-get, properties: {url: "{{.URL}}", ms: 2000}}
      - {name: b, type: sleep-get, properties: {url: "{{.URL}}", ms: 2000}}
      - {name: c, type: sleep-get, properties: {url: "{{.URL}}", ms: 2000}}
`,
		want: caseWant{Phase: workflows.RunSucceeded, Steps: map[string]stepWant{"a": stepOK(), "b": stepOK(), "c": stepOK()}},
		check: func(t *testing.T, st *workflows.Status, svc *service) {
			var start, end time.Time
			for _, name := range []string{"a", "b", "c"} {
				first, last := stepTimes(t, st, name)
				if start.IsZero() || first.Before(start) {
					start = first
				}
				if last.After(end) {
					end = last
				}
			}
			elapsed := end.Sub(start)
			assert.GreaterOrEqual(t, elapsed, 2*time.Second, "each step takes 2 s")
			assert.Less(t, elapsed, 5*time.Second, "independent DAG steps run concurrently")
			assert.Equal(t, 3, svc.MaxInFlight(), "the three requests were in progress at once")
			assertHits(t, svc, map[string]int{"/sleep": 3})
		},
	}, {
		// A DAG step without dependsOn waits for its input: it is pending
		// with "Pending on Input" meanwhile, and starts once it exists.
		name: "order/dag-ready-on-inputs",
		yaml: `
spec:
  mode: {steps: DAG}
  workflowSpec:
    steps:
      - name: consumer
        type: echo
        inputs: [{from: image, parameterKey: value}]
        outputs: [{name: echoed, valueFrom: out.value}]
      - name: producer
        type: wait-until
        properties: {url: "{{.URL}}", id: "7"}
        outputs: [{name: image, valueFrom: value}]
`,
		during: func(t *testing.T, c *caseRun) {
			st := c.WaitStep("producer", workflows.StepRunning, workflows.ReasonWait)
			consumer := findStep(st, "consumer")
			assert.Equal(t, workflows.StepPending, consumer.Phase, "the consumer waits for its input")
			assert.Contains(t, consumer.Message, "Pending on Input: image", "VELA-COMPAT: a missing input keeps the step pending with this message")
			c.Svc.SetReady("7")
		},
		want: caseWant{
			Phase:   workflows.RunSucceeded,
			Steps:   map[string]stepWant{"consumer": {Phase: workflows.StepSucceeded, Message: "echo image-7"}, "producer": stepOK()},
			Outputs: map[string]map[string]any{"consumer": {"echoed": "image-7"}, "producer": {"image": "image-7"}},
		},
		check: func(t *testing.T, st *workflows.Status, svc *service) {
			assertStartsAfter(t, st, "consumer", "producer")
			assert.GreaterOrEqual(t, svc.Hits("/status/7"), 2, "the producer polled until ready")
		},
	}, {
		// Unnamed steps are step-<n>; unnamed sub-steps <group>-<n>.
		name: "order/unnamed-steps",
		yaml: `
spec:
  workflowSpec:
    steps:
      - {type: print-message-in-status, properties: {message: one}}
      - type: step-group
        subSteps:
          - {type: print-message-in-status, properties: {message: two-one}}
          - {type: print-message-in-status, properties: {message: two-two}}
`,
		want: caseWant{Phase: workflows.RunSucceeded, Steps: map[string]stepWant{
			"step-1":   {Phase: workflows.StepSucceeded, Message: "one"},
			"step-2":   stepOK(),
			"step-2-1": {Phase: workflows.StepSucceeded, Message: "two-one"},
			"step-2-2": {Phase: workflows.StepSucceeded, Message: "two-two"},
		}},
	}}
}

func groupCases() []conformanceCase {
	return []conformanceCase{{
		// A DAG group inside a StepByStep run: the group runs after pre and
		// before post; inside, g2 waits for g1 while g3 starts at once.
		name: "group/dag-in-step-by-step",
		yaml: `
spec:
  mode: {steps: StepByStep}
  workflowSpec:
    steps:
      - {name: pre, type: request, properties: {url: "{{.URL}}/count/pre"}}
      - name: g
        type: step-group
        mode: DAG
        subSteps:
          - {name: g1, type: request, properties: {url: "{{.URL}}/count/g1"}}
          - {name: g2, type: request, dependsOn: [g1], properties: {url: "{{.URL}}/count/g2"}}
          - {name: g3, type: sleep-get, properties: {url: "{{.URL}}", ms: 500}}
      - {name: post, type: request, properties: {url: "{{.URL}}/count/post"}}
`,
		want: caseWant{Phase: workflows.RunSucceeded, Steps: map[string]stepWant{
			"pre": stepOK(), "g": stepOK(), "g1": stepOK(), "g2": stepOK(), "g3": stepOK(), "post": stepOK(),
		}},
		check: func(t *testing.T, st *workflows.Status, svc *service) {
			assertStartsAfter(t, st, "g", "pre")
			assertStartsAfter(t, st, "g1", "pre")
			assertStartsAfter(t, st, "g2", "g1")
			assertStartsAfter(t, st, "post", "g")
			assertStartsAfter(t, st, "post", "g3")
			g3First, _ := stepTimes(t, st, "g3")
			g2First, _ := stepTimes(t, st, "g2")
			assert.True(t, g3First.Before(g2First), "g3 has no dependency: it starts with g1, before g2 (g3 %s, g2 %s)", g3First, g2First)
			order := svc.Order()
			assert.Equal(t, "/count/pre", order[0], "order: %v", order)
			assert.Equal(t, "/count/post", order[len(order)-1], "order: %v", order)
		},
	}, {
		// A StepByStep group (spec.mode.subSteps) inside a DAG run: a
		// failing sub-step skips the later ones unless `always`; the group
		// fails, its dependent is skipped, an independent step runs.
		name: "group/step-by-step-in-dag",
		yaml: `
spec:
  mode: {steps: DAG, subSteps: StepByStep}
  workflowSpec:
    steps:
      - name: g
        type: step-group
        subSteps:
          - {name: s1, type: request, properties: {url: "{{.URL}}/count/s1"}}
          - {name: s2, type: request, properties: {url: "{{.URL}}/fail"}}
          - {name: s3, type: request, properties: {url: "{{.URL}}/count/s3"}}
          - {name: s4, type: print-message-in-status, if: always, properties: {message: cleanup}}
      - {name: after-g, type: request, dependsOn: [g], properties: {url: "{{.URL}}/count/after-g"}}
      - {name: side, type: request, properties: {url: "{{.URL}}/count/side"}}
`,
		want: caseWant{Phase: workflows.RunFailed, Steps: map[string]stepWant{
			"g":       stepFailed(workflows.ReasonAction, ""),
			"s1":      stepOK(),
			"s2":      stepFailed(workflows.ReasonAction, "500"),
			"s3":      stepSkipped(""),
			"s4":      {Phase: workflows.StepSucceeded, Message: "cleanup"},
			"after-g": stepSkipped(""),
			"side":    stepOK(),
		}},
		check: func(t *testing.T, st *workflows.Status, svc *service) {
			assert.Equal(t, "DAG-StepByStep", st.Mode)
			assertStartsAfter(t, st, "s2", "s1")
			assertStartsAfter(t, st, "s4", "s2")
			assertHits(t, svc, map[string]int{"/count/s1": 1, "/fail": 1, "/count/s3": 0, "/count/after-g": 0, "/count/side": 1})
		},
	}, {
		name: "group/skipped-group-skips-sub-steps",
		yaml: `
spec:
  workflowSpec:
    steps:
      - name: g
        type: step-group
        if: context.name == "someone-else"
        subSteps:
          - {name: s1, type: request, properties: {url: "{{.URL}}/count/s1"}}
          - {name: s2, type: request, properties: {url: "{{.URL}}/count/s2"}}
      - {name: after, type: request, properties: {url: "{{.URL}}/count/after"}}
`,
		want: caseWant{Phase: workflows.RunSucceeded, Steps: map[string]stepWant{
			"g": stepSkipped(""), "s1": stepSkipped(""), "s2": stepSkipped(""), "after": stepOK(),
		}},
		check: func(t *testing.T, st *workflows.Status, svc *service) {
			assertHits(t, svc, map[string]int{"/count/s1": 0, "/count/s2": 0, "/count/after": 1})
		},
	}}
}

func dataCases() []conformanceCase {
	return []conformanceCase{{
		// outputs[].valueFrom over the template (imports allowed);
		// inputs[].parameterKey as a plain, and as a bracketed nested path
		// next to given properties.
		name: "data/inputs-outputs",
		yaml: `
spec:
  workflowSpec:
    steps:
      - name: build
        type: request
        properties: {url: "{{.URL}}/build", method: POST, body: {app: shop}}
        outputs: [{name: build-id, valueFrom: response.id}]
      - name: show
        type: echo
        inputs: [{from: build-id, parameterKey: value}]
        outputs:
          - {name: shown, valueFrom: out.value}
          - name: shouted
            valueFrom: |
              import "strings"
              strings.ToUpper("id-" + out.value)
      - name: nested
        type: echo
        properties: {value: fixed, extra: {keep: kept}}
        inputs: [{from: build-id, parameterKey: 'extra["build"].id'}]
        outputs: [{name: nested-id, valueFrom: out.extra.build.id}, {name: kept, valueFrom: out.extra.keep}]
`,
		want: caseWant{
			Phase: workflows.RunSucceeded,
			Steps: map[string]stepWant{
				"build":  stepOK(),
				"show":   {Phase: workflows.StepSucceeded, Message: "echo 42"},
				"nested": {Phase: workflows.StepSucceeded, Message: "echo fixed"},
			},
			Outputs: map[string]map[string]any{
				"build":  {"build-id": "42"},
				"show":   {"shown": "42", "shouted": "ID-42"},
				"nested": {"nested-id": "42", "kept": "kept"},
			},
		},
		check: func(t *testing.T, st *workflows.Status, svc *service) {
			assertHits(t, svc, map[string]int{"/build": 1})
		},
	}, {
		// An `int` parameter takes a YAML integer property, and an integer
		// output passed as an input.
		name: "data/integer-parameters",
		yaml: `
spec:
  workflowSpec:
    steps:
      - name: counted
        type: request
        properties: {url: "{{.URL}}/count/n"}
        outputs: [{name: n, valueFrom: response.n}]
      - name: literal
        type: echo
        properties: {value: literal, count: 3}
        outputs: [{name: literal-count, valueFrom: out.count}]
      - name: from-input
        type: echo
        properties: {value: from-input}
        inputs: [{from: n, parameterKey: count}]
        outputs: [{name: input-count, valueFrom: out.count}]
`,
		want: caseWant{
			Phase: workflows.RunSucceeded,
			Steps: map[string]stepWant{"counted": stepOK(), "literal": stepOK(), "from-input": stepOK()},
			Outputs: map[string]map[string]any{
				"counted":    {"n": 1},
				"literal":    {"literal-count": 3},
				"from-input": {"input-count": 1},
			},
		},
	}, {
		// An input whose producer failed or was skipped can no longer
		// appear: the consumer is skipped with a message naming it (not
		// left pending forever, as KubeVela does), even with if: always.
		name: "data/input-never-produced",
		yaml: `
spec:
  mode: {steps: DAG}
  workflowSpec:
    steps:
      - name: p1
        type: request
        properties: {url: "{{.URL}}/fail"}
        outputs: [{name: p1-id, valueFrom: response.id}]
      - name: p2
        type: request
        if: context.name == "someone-else"
        properties: {url: "{{.URL}}/count/p2"}
        outputs: [{name: p2-key, valueFrom: response.key}]
      - {name: q1, type: echo, if: always, inputs: [{from: p1-id, parameterKey: value}]}
      - {name: q2, type: echo, if: always, inputs: [{from: p2-key, parameterKey: value}]}
`,
		want: caseWant{Phase: workflows.RunFailed, Steps: map[string]stepWant{
			"p1": stepFailed(workflows.ReasonAction, ""),
			"p2": stepSkipped(""),
			"q1": stepSkipped("p1-id"),
			"q2": stepSkipped("p2-key"),
		}},
		check: func(t *testing.T, st *workflows.Status, svc *service) {
			assertHits(t, svc, map[string]int{"/fail": 1, "/count/p2": 0})
		},
	}}
}

func ifCases() []conformanceCase {
	return []conformanceCase{{
		// Empty `if` in StepByStep: a skipped step does not stop the run; a
		// failed one skips every later step (a group with its sub-steps)
		// unless `always`. A step with dependsOn only looks at its
		// dependencies.
		name: "if/default-step-by-step",
		yaml: `
spec:
  workflowSpec:
    steps:
      - {name: first, type: request, properties: {url: "{{.URL}}/count/first"}}
      - {name: not-me, type: request, if: context.name == "someone-else", properties: {url: "{{.URL}}/count/not-me"}}
      - {name: still, type: request, properties: {url: "{{.URL}}/count/still"}}
      - {name: boom, type: request, properties: {url: "{{.URL}}/fail"}}
      - {name: next, type: request, properties: {url: "{{.URL}}/count/next"}}
      - name: g
        type: step-group
        subSteps:
          - {name: g1, type: request, properties: {url: "{{.URL}}/count/g1"}}
      - {name: rescue, type: request, if: always, properties: {url: "{{.URL}}/count/rescue"}}
      - {name: after-rescue, type: request, properties: {url: "{{.URL}}/count/after-rescue"}}
      - {name: dep, type: request, dependsOn: [rescue], properties: {url: "{{.URL}}/count/dep"}}
`,
		want: caseWant{Phase: workflows.RunFailed, Steps: map[string]stepWant{
			"first":        stepOK(),
			"not-me":       stepSkipped(""),
			"still":        stepOK(),
			"boom":         stepFailed(workflows.ReasonAction, ""),
			"next":         stepSkipped("boom"),
			"g":            stepSkipped("boom"),
			"g1":           stepSkipped("boom"),
			"rescue":       stepOK(),
			"after-rescue": stepSkipped("boom"),
			"dep":          stepOK(),
		}},
		check: func(t *testing.T, st *workflows.Status, svc *service) {
			assertHits(t, svc, map[string]int{
				"/count/first": 1, "/count/not-me": 0, "/count/still": 1, "/fail": 1, "/count/next": 0,
				"/count/g1": 0, "/count/rescue": 1, "/count/after-rescue": 0, "/count/dep": 1,
			})
		},
	}, {
		// Empty `if` in DAG: a step runs only if every dependency,
		// recursively, succeeded: c's direct dependency b succeeded (by
		// `always`) but b's dependency a failed.
		name: "if/default-dag-recursive",
		yaml: `
spec:
  mode: {steps: DAG}
  workflowSpec:
    steps:
      - {name: a, type: request, properties: {url: "{{.URL}}/fail"}}
      - {name: b, type: request, if: always, dependsOn: [a], properties: {url: "{{.URL}}/count/b"}}
      - {name: c, type: request, dependsOn: [b], properties: {url: "{{.URL}}/count/c"}}
      - {name: f, type: request, dependsOn: [a], properties: {url: "{{.URL}}/count/f"}}
      - {name: d, type: request, properties: {url: "{{.URL}}/count/d"}}
      - {name: e, type: request, dependsOn: [d], properties: {url: "{{.URL}}/count/e"}}
`,
		want: caseWant{Phase: workflows.RunFailed, Steps: map[string]stepWant{
			"a": stepFailed(workflows.ReasonAction, ""),
			"b": stepOK(),
			"c": stepSkipped(""),
			"f": stepSkipped(""),
			"d": stepOK(),
			"e": stepOK(),
		}},
		check: func(t *testing.T, st *workflows.Status, svc *service) {
			assertHits(t, svc, map[string]int{"/fail": 1, "/count/b": 1, "/count/c": 0, "/count/f": 0, "/count/d": 1, "/count/e": 1})
		},
	}, {
		name: "if/always",
		yaml: `
spec:
  workflowSpec:
    steps:
      - {name: boom, type: request, properties: {url: "{{.URL}}/fail"}}
      - {name: notify, type: request, if: always, properties: {url: "{{.URL}}/count/notify"}}
      - name: cleanup
        type: step-group
        if: always
        subSteps:
          - {name: c1, type: request, properties: {url: "{{.URL}}/count/c1"}}
          - {name: c2, type: request, dependsOn: [c1], properties: {url: "{{.URL}}/count/c2"}}
      - {name: next, type: request, properties: {url: "{{.URL}}/count/next"}}
`,
		want: caseWant{Phase: workflows.RunFailed, Steps: map[string]stepWant{
			"boom": stepFailed(workflows.ReasonAction, ""), "notify": stepOK(), "cleanup": stepOK(), "c1": stepOK(), "c2": stepOK(), "next": stepSkipped(""),
		}},
		check: func(t *testing.T, st *workflows.Status, svc *service) {
			assertHits(t, svc, map[string]int{"/count/notify": 1, "/count/c1": 1, "/count/c2": 1, "/count/next": 0})
		},
	}, {
		name: "if/status-failed",
		yaml: `
spec:
  workflowSpec:
    steps:
      - {name: a, type: request, properties: {url: "{{.URL}}/fail"}}
      - {name: on-failure, type: request, if: status.a.failed, properties: {url: "{{.URL}}/count/on-failure"}}
      - {name: on-success, type: request, if: status.a.succeeded, properties: {url: "{{.URL}}/count/on-success"}}
      - name: by-reason
        type: print-message-in-status
        if: 'status.a.reason == "Action" && !status.a.failedAfterRetries && !status.a.timeout'
        properties: {message: action}
`,
		want: caseWant{Phase: workflows.RunFailed, Steps: map[string]stepWant{
			"a": stepFailed(workflows.ReasonAction, ""), "on-failure": stepOK(), "on-success": stepSkipped(""), "by-reason": stepOK(),
		}},
		check: func(t *testing.T, st *workflows.Status, svc *service) {
			assertHits(t, svc, map[string]int{"/count/on-failure": 1, "/count/on-success": 0})
		},
	}, {
		name: "if/status-succeeded",
		yaml: `
spec:
  workflowSpec:
    steps:
      - {name: a, type: request, properties: {url: "{{.URL}}/count/a"}}
      - {name: on-success, type: request, if: status.a.succeeded, properties: {url: "{{.URL}}/count/on-success"}}
      - {name: on-failure, type: request, if: status.a.failed, properties: {url: "{{.URL}}/count/on-failure"}}
      - {name: by-phase, type: print-message-in-status, if: 'status.a.phase == "succeeded" && !status.a.skipped', properties: {message: ok}}
`,
		want: caseWant{Phase: workflows.RunSucceeded, Steps: map[string]stepWant{
			"a": stepOK(), "on-success": stepOK(), "on-failure": stepSkipped(""), "by-phase": stepOK(),
		}},
		check: func(t *testing.T, st *workflows.Status, svc *service) {
			assertHits(t, svc, map[string]int{"/count/on-success": 1, "/count/on-failure": 0})
		},
	}, {
		name: "if/inputs",
		yaml: `
spec:
  workflowSpec:
    steps:
      - name: probe
        type: http-get
        properties: {url: "{{.URL}}/count/flag"}
        outputs:
          - name: flag
            valueFrom: |
              import "encoding/json"
              json.Unmarshal(body).key
      - {name: when-flag, type: request, if: 'inputs["flag"] == "flag"', inputs: [{from: flag}], properties: {url: "{{.URL}}/count/when-flag"}}
      - {name: when-other, type: request, if: 'inputs["flag"] == "other"', inputs: [{from: flag}], properties: {url: "{{.URL}}/count/when-other"}}
`,
		want: caseWant{
			Phase:   workflows.RunSucceeded,
			Steps:   map[string]stepWant{"probe": stepOK(), "when-flag": stepOK(), "when-other": stepSkipped("")},
			Outputs: map[string]map[string]any{"probe": {"flag": "flag"}},
		},
		check: func(t *testing.T, st *workflows.Status, svc *service) {
			assertHits(t, svc, map[string]int{"/count/when-flag": 1, "/count/when-other": 0})
		},
	}, {
		name: "if/context",
		yaml: `
spec:
  context: {env: prod}
  workflowSpec:
    steps:
      - {name: by-name, type: print-message-in-status, if: 'context.name == "{{.Name}}"', properties: {message: mine}}
      - {name: by-namespace, type: print-message-in-status, if: 'context.namespace == "default"', properties: {message: default}}
      - {name: prod-only, type: print-message-in-status, if: 'context.env == "prod"', properties: {message: prod}}
      - {name: staging-only, type: print-message-in-status, if: 'context.env == "staging"', properties: {message: staging}}
      - {name: other-name, type: print-message-in-status, if: 'context.name == "someone-else"', properties: {message: other}}
`,
		want: caseWant{Phase: workflows.RunSucceeded, Steps: map[string]stepWant{
			"by-name":      {Phase: workflows.StepSucceeded, Message: "mine"},
			"by-namespace": {Phase: workflows.StepSucceeded, Message: "default"},
			"prod-only":    {Phase: workflows.StepSucceeded, Message: "prod"},
			"staging-only": stepSkipped(""),
			"other-name":   stepSkipped(""),
		}},
	}, {
		// An expression that does not evaluate (an unknown step; not a
		// bool) skips the step with the error in its message; the run goes
		// on.
		name: "if/not-evaluating",
		yaml: `
spec:
  workflowSpec:
    steps:
      - {name: unknown-step, type: request, if: status.nosuch.failed, properties: {url: "{{.URL}}/count/unknown-step"}}
      - {name: not-bool, type: request, if: context.name, properties: {url: "{{.URL}}/count/not-bool"}}
      - {name: after, type: request, properties: {url: "{{.URL}}/count/after"}}
`,
		want: caseWant{Phase: workflows.RunSucceeded, Steps: map[string]stepWant{
			"unknown-step": stepSkipped("nosuch"),
			"not-bool":     stepSkipped("as bool"),
			"after":        stepOK(),
		}},
		check: func(t *testing.T, st *workflows.Status, svc *service) {
			assertHits(t, svc, map[string]int{"/count/unknown-step": 0, "/count/not-bool": 0, "/count/after": 1})
		},
	}}
}

func failureCases() []conformanceCase {
	return []conformanceCase{{
		name: "fail/builtin-fail",
		yaml: `
spec:
  workflowSpec:
    steps:
      - {name: a, type: fail, properties: {message: "no way"}}
      - {name: b, type: request, properties: {url: "{{.URL}}/count/b"}}
`,
		want: caseWant{Phase: workflows.RunFailed, Message: "no way", Steps: map[string]stepWant{
			"a": stepFailed(workflows.ReasonAction, "no way"), "b": stepSkipped(""),
		}},
		check: func(t *testing.T, st *workflows.Status, svc *service) {
			assertHits(t, svc, map[string]int{"/count/b": 0})
		},
	}, {
		// request and webhook fail at once (Action) on a 500: one request
		// each, no retry.
		name: "fail/http-500",
		yaml: `
spec:
  mode: {steps: DAG}
  workflowSpec:
    steps:
      - {name: req, type: request, properties: {url: "{{.URL}}/fail"}}
      - {name: hook, type: webhook, properties: {url: {value: "{{.URL}}/fail"}, data: {x: 1}}}
`,
		want: caseWant{Phase: workflows.RunFailed, Steps: map[string]stepWant{
			"req": stepFailed(workflows.ReasonAction, "500"), "hook": stepFailed(workflows.ReasonAction, "500"),
		}},
		check: func(t *testing.T, st *workflows.Status, svc *service) {
			assertHits(t, svc, map[string]int{"/fail": 2})
		},
	}, {
		// A transport error is a provider error: retried up to the
		// harness's MaxStepErrorRetries (3 executions), then
		// FailedAfterRetries.
		name: "fail/provider-error-retried",
		yaml: `
spec:
  workflowSpec:
    steps:
      - {name: a, type: request, properties: {url: "{{.URL}}/hangup"}}
      - {name: gave-up, type: print-message-in-status, if: status.a.failedAfterRetries, properties: {message: gave up}}
      - {name: next, type: request, properties: {url: "{{.URL}}/count/next"}}
`,
		want: caseWant{Phase: workflows.RunFailed, Steps: map[string]stepWant{
			"a": stepFailed(workflows.ReasonFailedAfterRetries, ""), "gave-up": stepOK(), "next": stepSkipped(""),
		}},
		check: func(t *testing.T, st *workflows.Status, svc *service) {
			assertHits(t, svc, map[string]int{"/hangup": 3, "/count/next": 0})
		},
	}}
}

func suspendCases() []conformanceCase {
	var resumedAt time.Time
	return []conformanceCase{{
		name: "suspend/resume",
		yaml: `
spec:
  workflowSpec:
    steps:
      - {name: approve, type: suspend, properties: {message: "approve the rollout"}}
      - {name: after, type: request, properties: {url: "{{.URL}}/count/after"}}
`,
		during: func(t *testing.T, c *caseRun) {
			st := c.WaitStep("approve", workflows.StepSuspending, workflows.ReasonSuspend)
			assert.Equal(t, workflows.RunSuspending, st.Phase)
			assert.True(t, st.Suspend)
			assert.Equal(t, "approve the rollout", findStep(st, "approve").Message, "the suspend step's message shows in status")
			assert.Equal(t, workflows.StepPending, findStep(st, "after").Phase)
			assert.Equal(t, 0, c.Svc.Hits("/count/after"))
			resumedAt = time.Now()
			c.Must("resume", c.Name)
		},
		want: caseWant{Phase: workflows.RunSucceeded, Steps: map[string]stepWant{"approve": stepOK(), "after": stepOK()}},
		check: func(t *testing.T, st *workflows.Status, svc *service) {
			first, _ := stepTimes(t, st, "after")
			assert.False(t, first.Before(resumedAt), "after ran before the resume (%s < %s)", first, resumedAt)
			assert.False(t, st.Suspend)
			assertHits(t, svc, map[string]int{"/count/after": 1})
		},
	}, {
		name: "suspend/duration",
		yaml: `
spec:
  workflowSpec:
    steps:
      - {name: pause, type: suspend, properties: {duration: 2s, message: "a short pause"}}
      - {name: after, type: request, properties: {url: "{{.URL}}/count/after"}}
`,
		during: func(t *testing.T, c *caseRun) {
			st := c.WaitStep("pause", workflows.StepSuspending, workflows.ReasonSuspend)
			assert.Equal(t, workflows.RunSuspending, st.Phase)
			assert.Equal(t, "a short pause", findStep(st, "pause").Message)
		},
		want: caseWant{Phase: workflows.RunSucceeded, Steps: map[string]stepWant{"pause": stepOK(), "after": stepOK()}},
		check: func(t *testing.T, st *workflows.Status, svc *service) {
			pause, _ := stepTimes(t, st, "pause")
			after, _ := stepTimes(t, st, "after")
			assert.GreaterOrEqual(t, after.Sub(pause), 2*time.Second, "the run resumed by itself after the duration")
			assert.Less(t, after.Sub(pause), 10*time.Second)
		},
	}, {
		// `velaflow suspend` holds the run before the next step execution:
		// a waiting step does not poll again, the next step does not start.
		name: "suspend/run-signal",
		yaml: `
spec:
  workflowSpec:
    steps:
      - {name: wait, type: wait-until, properties: {url: "{{.URL}}", id: "1"}}
      - {name: after, type: request, properties: {url: "{{.URL}}/count/after"}}
`,
		during: func(t *testing.T, c *caseRun) {
			c.WaitStep("wait", workflows.StepRunning, workflows.ReasonWait)
			c.Must("suspend", c.Name)
			c.WaitFor("the run is suspended", func(st *workflows.Status) bool {
				return st.Phase == workflows.RunSuspending && st.Suspend
			})
			c.Svc.SetReady("1")
			time.Sleep(1500 * time.Millisecond) // longer than the harness's longest wait backoff
			st := c.Status()
			assert.Equal(t, workflows.RunSuspending, st.Phase)
			assert.NotEqual(t, workflows.StepSucceeded, findStep(st, "wait").Phase, "the waiting step was executed again while the run was suspended")
			assert.Equal(t, workflows.StepPending, findStep(st, "after").Phase)
			assert.Equal(t, 0, c.Svc.Hits("/count/after"))
			c.Must("resume", c.Name)
		},
		want: caseWant{Phase: workflows.RunSucceeded, Steps: map[string]stepWant{"wait": stepOK(), "after": stepOK()}},
		check: func(t *testing.T, st *workflows.Status, svc *service) {
			assertHits(t, svc, map[string]int{"/count/after": 1})
		},
	}}
}

func terminateCases() []conformanceCase {
	return []conformanceCase{{
		name: "terminate/suspended-step",
		yaml: `
spec:
  workflowSpec:
    steps:
      - {name: hold, type: suspend}
      - {name: after, type: request, properties: {url: "{{.URL}}/count/after"}}
`,
		during: func(t *testing.T, c *caseRun) {
			c.WaitStep("hold", workflows.StepSuspending, workflows.ReasonSuspend)
			c.Must("terminate", c.Name)
		},
		want: caseWant{Phase: workflows.RunTerminated, Steps: map[string]stepWant{
			"hold": stepFailed(workflows.ReasonTerminate, ""), "after": stepPending(),
		}},
		check: func(t *testing.T, st *workflows.Status, svc *service) {
			assert.True(t, st.Terminated)
			assertHits(t, svc, map[string]int{"/count/after": 0})
		},
	}, {
		// Terminate stops a waiting and a suspended step alike; the waiting
		// step polls no more.
		name: "terminate/dag-waiting-and-suspended",
		yaml: `
spec:
  mode: {steps: DAG}
  workflowSpec:
    steps:
      - {name: wait, type: wait-until, properties: {url: "{{.URL}}", id: "9"}}
      - {name: hold, type: suspend}
`,
		during: func(t *testing.T, c *caseRun) {
			c.WaitFor("wait waits and hold is suspended", func(st *workflows.Status) bool {
				w, h := findStep(st, "wait"), findStep(st, "hold")
				return w.Phase == workflows.StepRunning && w.Reason == workflows.ReasonWait && h.Phase == workflows.StepSuspending
			})
			c.Must("terminate", c.Name)
			c.WaitFinished()
			polls := c.Svc.Hits("/status/9")
			time.Sleep(1200 * time.Millisecond) // longer than the harness's longest wait backoff
			assert.Equal(t, polls, c.Svc.Hits("/status/9"), "a terminated run polls no more")
		},
		want: caseWant{Phase: workflows.RunTerminated, Steps: map[string]stepWant{
			"wait": stepFailed(workflows.ReasonTerminate, ""), "hold": stepFailed(workflows.ReasonTerminate, ""),
		}},
	}}
}

func onceCases() []conformanceCase {
	return []conformanceCase{{
		// A step that POSTs and then waits is executed several times; the
		// POST is sent once, the GET every time.
		name: "once/post-then-wait",
		yaml: `
spec:
  workflowSpec:
    steps:
      - name: build
        type: build-and-wait
        properties: {url: "{{.URL}}"}
        outputs: [{name: image, valueFrom: image}]
`,
		setup: func(svc *service) { svc.ReadyAfter("42", 3) },
		want: caseWant{
			Phase:   workflows.RunSucceeded,
			Steps:   map[string]stepWant{"build": stepOK()},
			Outputs: map[string]map[string]any{"build": {"image": "image-42"}},
		},
		check: func(t *testing.T, st *workflows.Status, svc *service) {
			assertHits(t, svc, map[string]int{"/build": 1, "/status/42": 3})
		},
	}}
}
