package testsuite

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/velaflow/velaflow/workflows"
)

// userDefinitions are written by "the user": one polls and waits, one prints.
const userDefinitions = `
apiVersion: core.oam.dev/v1beta1
kind: WorkflowStepDefinition
metadata:
  name: wait-ready
spec:
  schematic:
    cue:
      template: |
        import ("vela/builtin", "vela/http")
        parameter: {url: string, id: string}
        get: http.#HTTPGet & {$params: url: "\(parameter.url)/status/\(parameter.id)"}
        wait: builtin.#ConditionalWait & {$params: {continue: get.$returns.body == "ready", message: "build \(parameter.id): \(get.$returns.body)"}}
        value: "image-\(parameter.id)"
---
apiVersion: core.oam.dev/v1beta1
kind: WorkflowStepDefinition
metadata:
  name: show
spec:
  schematic:
    cue:
      template: |
        import "vela/op"
        parameter: value: string
        msg: op.#Message & {message: "the value is \(parameter.value)"}
`

// fakeBuild is the local HTTP service the runs call.
type fakeBuild struct {
	posts atomic.Int32
	ready atomic.Bool
	fail  bool
}

func (f *fakeBuild) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/build":
		f.posts.Add(1)
		if f.fail {
			http.Error(w, "no capacity", http.StatusServiceUnavailable)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"id": "42"})
	case r.URL.Path == "/status/42":
		if f.ready.Load() {
			w.Write([]byte("ready"))
		} else {
			w.Write([]byte("building"))
		}
	default:
		http.NotFound(w, r)
	}
}

func TestRunEndToEnd(t *testing.T) {
	svc := &fakeBuild{}
	srv := httptest.NewServer(svc)
	defer srv.Close()
	run := writeFile(t, "run.yaml", fmt.Sprintf(`
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata:
  name: e2e-build
spec:
  workflowSpec:
    steps:
      - name: build
        type: request
        properties: {url: "%[1]s/build", method: POST, body: {app: shop}}
        outputs: [{name: build-id, valueFrom: response.id}]
      - name: wait
        type: wait-ready
        properties: {url: "%[1]s"}
        inputs: [{from: build-id, parameterKey: id}]
        outputs: [{name: image, valueFrom: value}]
      - name: print
        type: show
        inputs: [{from: image, parameterKey: value}]
      - name: approve
        type: suspend
        properties: {message: "approve the rollout"}
      - name: done
        type: print-message-in-status
        properties: {message: finished}
`, srv.URL))
	defs := writeFile(t, "defs.yaml", userDefinitions)

	out, errOut, code := shared.velaflow(t, "run", "-f", run, "--definitions", defs)
	require.Equal(t, 0, code, "run: %s %s", out, errOut)
	assert.Contains(t, out, "default/e2e-build")

	st := shared.eventually(t, "e2e-build", "wait is waiting", func(st *workflows.Status) bool {
		w := stepOf(st, "wait")
		return w.Phase == workflows.StepRunning && w.Reason == workflows.ReasonWait
	})
	assert.Equal(t, "build 42: building", stepOf(st, "wait").Message)
	assert.Equal(t, workflows.StepSucceeded, stepOf(st, "build").Phase)

	svc.ready.Store(true)
	st = shared.eventually(t, "e2e-build", "the run is suspended", func(st *workflows.Status) bool {
		return st.Phase == workflows.RunSuspending
	})
	assert.True(t, st.Suspend)
	assert.Equal(t, workflows.StepSuspending, stepOf(st, "approve").Phase)
	assert.Equal(t, "approve the rollout", stepOf(st, "approve").Message)
	assert.Equal(t, workflows.StepPending, stepOf(st, "done").Phase)

	out, errOut, code = shared.velaflow(t, "resume", "e2e-build")
	require.Equal(t, 0, code, "resume: %s %s", out, errOut)

	st = shared.eventually(t, "e2e-build", "the run finished", func(st *workflows.Status) bool { return st.Finished })
	assert.Equal(t, workflows.RunSucceeded, st.Phase)
	for _, s := range st.Steps {
		assert.Equal(t, workflows.StepSucceeded, s.Phase, "step %s", s.Name)
		assert.NotNil(t, s.FirstExecuteTime, "step %s", s.Name)
	}
	assert.Equal(t, map[string]any{"build-id": "42"}, stepOf(st, "build").Outputs)
	assert.Equal(t, map[string]any{"image": "image-42"}, stepOf(st, "wait").Outputs)
	assert.Equal(t, "the value is image-42", stepOf(st, "print").Message)
	assert.EqualValues(t, 1, svc.posts.Load(), "the build request is sent once, though its run waited")
	assert.NotNil(t, st.EndTime)

	// The table view and the list show the run too.
	out, _, code = shared.velaflow(t, "status", "e2e-build")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "image=image-42")
	out, _, code = shared.velaflow(t, "list")
	require.Equal(t, 0, code)
	assert.Regexp(t, `default\s+e2e-build\s+succeeded`, out)
}

func TestFailedRequestRunsFailureStepAndFailsRun(t *testing.T) {
	svc := &fakeBuild{fail: true}
	srv := httptest.NewServer(svc)
	defer srv.Close()
	run := writeFile(t, "run.yaml", fmt.Sprintf(`
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata:
  name: e2e-fail
spec:
  workflowSpec:
    steps:
      - name: build
        type: request
        properties: {url: "%s/build", method: POST}
      - name: next
        type: print-message-in-status
        properties: {message: "must be skipped"}
      - name: on-failure
        type: print-message-in-status
        if: status.build.failed
        properties: {message: "cleaning up"}
`, srv.URL))
	out, errOut, code := shared.velaflow(t, "run", "-f", run, "--wait")
	assert.Equal(t, 1, code, "a failed run exits 1: %s %s", out, errOut)
	assert.Contains(t, out, "run default/e2e-fail failed")

	st := shared.status(t, "e2e-fail").Status
	assert.Equal(t, workflows.RunFailed, st.Phase)
	build := stepOf(st, "build")
	assert.Equal(t, workflows.StepFailed, build.Phase)
	assert.Equal(t, workflows.ReasonAction, build.Reason)
	assert.Contains(t, build.Message, "503")
	assert.Equal(t, workflows.StepSkipped, stepOf(st, "next").Phase)
	assert.Equal(t, workflows.StepSucceeded, stepOf(st, "on-failure").Phase)
	assert.Equal(t, "cleaning up", stepOf(st, "on-failure").Message)
}

func TestInvalidInputStartsNothing(t *testing.T) {
	run := writeFile(t, "bad.yaml", `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata:
  name: e2e-invalid
spec:
  workflowSpec:
    steps:
      - name: a
        type: request
        properties: {method: GET}
      - name: b
        type: nope
`)
	_, errOut, code := shared.velaflow(t, "run", "-f", run)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "bad.yaml:10: spec.workflowSpec.steps[0].properties.url: required parameter missing")
	assert.Contains(t, errOut, `bad.yaml:12: spec.workflowSpec.steps[1].type: unknown step type "nope"`)
	_, errOut, code = shared.velaflow(t, "status", "e2e-invalid")
	assert.NotEqual(t, 0, code)
	assert.Contains(t, errOut, "no run default/e2e-invalid")
}

func TestTerminateThroughCLI(t *testing.T) {
	run := writeFile(t, "run.yaml", `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata:
  name: e2e-term
spec:
  workflowSpec:
    steps:
      - {name: hold, type: suspend}
      - {name: after, type: print-message-in-status, properties: {message: x}}
`)
	_, errOut, code := shared.velaflow(t, "run", "-f", run)
	require.Equal(t, 0, code, errOut)
	shared.eventually(t, "e2e-term", "suspended", func(st *workflows.Status) bool { return st.Phase == workflows.RunSuspending })
	_, errOut, code = shared.velaflow(t, "terminate", "e2e-term")
	require.Equal(t, 0, code, errOut)
	st := shared.eventually(t, "e2e-term", "finished", func(st *workflows.Status) bool { return st.Finished })
	assert.Equal(t, workflows.RunTerminated, st.Phase)
	assert.Equal(t, workflows.ReasonTerminate, stepOf(st, "hold").Reason)
	assert.Equal(t, workflows.StepPending, stepOf(st, "after").Phase)
}
