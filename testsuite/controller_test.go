package testsuite

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/velaflow/velaflow/deploy/crds"
	buildsvc "github.com/velaflow/velaflow/examples/build-service/service"
	"github.com/velaflow/velaflow/localstack/kubestack"
	"github.com/velaflow/velaflow/stepio"
)

var (
	wrGVR  = schema.GroupVersionResource{Group: "core.oam.dev", Version: "v1alpha1", Resource: "workflowruns"}
	wsdGVR = schema.GroupVersionResource{Group: "core.oam.dev", Version: "v1beta1", Resource: "workflowstepdefinitions"}
)

// controllerBed is a namespace of the shanghai cluster with velaflow's
// CRDs, and `velaflow controller` processes watching it.
type controllerBed struct {
	b   *kubeBed
	ns  string
	dyn dynamic.Interface
	// cluster is where the objects are; clusterName the name workers
	// reach it by.
	cluster     *kubestack.Cluster
	clusterName string
	// procs are the controller processes started, the last one running.
	procs []*exec.Cmd
}

func newControllerBed(t *testing.T, ns string) *controllerBed {
	t.Helper()
	b := theKubeBed(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := crds.Install(ctx, b.dyn(t, "shanghai"))
	require.NoError(t, err)
	return newControllerBedOn(t, b.clusters["shanghai"], "shanghai", ns)
}

// newControllerBedOn is a controller bed on any cluster the bed's workers
// reach as clusterName, its CRDs installed already.
func newControllerBedOn(t *testing.T, cluster *kubestack.Cluster, clusterName, ns string) *controllerBed {
	t.Helper()
	dc, err := dynamic.NewForConfig(cluster.RESTConfig())
	require.NoError(t, err)
	cs, err := kubernetes.NewForConfig(cluster.RESTConfig())
	require.NoError(t, err)
	_, err = cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	cb := &controllerBed{b: theKubeBed(t), cluster: cluster, ns: ns, dyn: dc, clusterName: clusterName}
	t.Cleanup(cb.stop)
	return cb
}

// newControllerBedRunning is newControllerBed with a controller started.
func newControllerBedRunning(t *testing.T, ns string) *controllerBed {
	cb := newControllerBed(t, ns)
	cb.start(t)
	return cb
}

// start starts a controller process; its log goes to the test's log
// when the test fails.
func (cb *controllerBed) start(t *testing.T) {
	t.Helper()
	logFile, err := os.CreateTemp(t.TempDir(), "controller-*.log")
	require.NoError(t, err)
	cmd := exec.Command(shared.cli, "--address", shared.address, "--task-queue", cb.b.taskQueue, "controller",
		"--kubeconfig", cb.cluster.Kubeconfig, "--cluster-name", cb.clusterName, "--namespace", cb.ns, "-v")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	require.NoError(t, cmd.Start())
	cb.procs = append(cb.procs, cmd)
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(logFile.Name())
			t.Logf("controller log:\n%s", b)
		}
	})
}

// kill ends the running controller with SIGKILL.
func (cb *controllerBed) kill(t *testing.T) {
	t.Helper()
	p := cb.procs[len(cb.procs)-1]
	require.NoError(t, p.Process.Signal(syscall.SIGKILL))
	_ = p.Wait()
}

func (cb *controllerBed) stop() {
	for _, p := range cb.procs {
		if p.ProcessState == nil {
			_ = p.Process.Signal(syscall.SIGTERM)
			_ = p.Wait()
		}
	}
}

// apply creates the objects of a YAML stream in the bed's namespace.
func (cb *controllerBed) apply(t *testing.T, docs string) {
	t.Helper()
	ctx := context.Background()
	for _, doc := range strings.Split(strings.TrimSpace(docs), "\n---\n") {
		var obj map[string]any
		require.NoError(t, yaml.Unmarshal([]byte(doc), &obj))
		u := &unstructured.Unstructured{Object: obj}
		gvr := wrGVR
		if u.GetKind() == "WorkflowStepDefinition" {
			gvr = wsdGVR
		}
		_, err := cb.dyn.Resource(gvr).Namespace(cb.ns).Create(ctx, u, metav1.CreateOptions{FieldManager: "kubectl-client-side-apply"})
		require.NoError(t, err, "create %s %s", u.GetKind(), u.GetName())
	}
}

func (cb *controllerBed) get(t *testing.T, name string) *unstructured.Unstructured {
	t.Helper()
	u, err := cb.dyn.Resource(wrGVR).Namespace(cb.ns).Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(t, err)
	return u
}

// waitStatus watches the run's object until its status satisfies cond.
func (cb *controllerBed) waitStatus(t *testing.T, name, what string, cond func(*stepio.ObjectStatus) bool) *unstructured.Unstructured {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ri := cb.dyn.Resource(wrGVR).Namespace(cb.ns)
	var last *unstructured.Unstructured
	for ctx.Err() == nil {
		list, err := ri.List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
		require.NoError(t, err)
		if len(list.Items) == 1 {
			last = &list.Items[0]
			if cond(statusOf(t, last)) {
				return last
			}
		}
		w, err := ri.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name, ResourceVersion: list.GetResourceVersion()})
		require.NoError(t, err)
		for ev := range w.ResultChan() {
			u, ok := ev.Object.(*unstructured.Unstructured)
			if !ok || ev.Type == watch.Deleted {
				continue
			}
			last = u
			if cond(statusOf(t, u)) {
				w.Stop()
				return u
			}
		}
	}
	b, _ := json.MarshalIndent(last, "", "  ")
	t.Fatalf("WorkflowRun %s: timed out waiting until %s; last seen:\n%s", name, what, b)
	return nil
}

func statusOf(t *testing.T, u *unstructured.Unstructured) *stepio.ObjectStatus {
	t.Helper()
	raw, ok := u.Object["status"]
	if !ok || raw == nil {
		return &stepio.ObjectStatus{}
	}
	b, err := json.Marshal(raw)
	require.NoError(t, err)
	var st stepio.ObjectStatus
	require.NoError(t, json.Unmarshal(b, &st))
	return &st
}

func phaseIs(phase string) func(*stepio.ObjectStatus) bool {
	return func(st *stepio.ObjectStatus) bool { return st.Phase == phase }
}

// patchStatus writes into the status subresource as KubeVela's tooling
// does (a JSON merge patch).
func (cb *controllerBed) patchStatus(t *testing.T, name string, patch map[string]any) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"status": patch})
	require.NoError(t, err)
	_, err = cb.dyn.Resource(wrGVR).Namespace(cb.ns).Patch(context.Background(), name, types.MergePatchType, body,
		metav1.PatchOptions{FieldManager: "vela"}, "status")
	require.NoError(t, err)
}

// steps is the object's steps with running suspend steps marked
// succeeded (what `vela workflow resume` writes) or running steps failed
// by Terminate (`vela workflow terminate`).
func stepsAs(st *stepio.ObjectStatus, resume bool) []map[string]any {
	var out []map[string]any
	for _, s := range st.Steps {
		m := map[string]any{"id": s.ID, "name": s.Name, "type": s.Type, "phase": s.Phase}
		switch {
		case resume && s.Type == "suspend" && (s.Phase == "running" || s.Phase == "suspending"):
			m["phase"] = "succeeded"
		case !resume && (s.Phase == "running" || s.Phase == "suspending"):
			m["phase"], m["reason"] = "failed", "Terminate"
		}
		out = append(out, m)
	}
	return out
}

// workflowRuns counts the Temporal executions under a workflow ID.
func workflowRuns(t *testing.T, id string) int {
	t.Helper()
	n := 0
	var token []byte
	for {
		resp, err := shared.client.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("WorkflowId = '%s'", id), NextPageToken: token})
		require.NoError(t, err)
		n += len(resp.Executions)
		token = resp.NextPageToken
		if len(token) == 0 {
			return n
		}
	}
}

const controllerDefinition = `
apiVersion: core.oam.dev/v1beta1
kind: WorkflowStepDefinition
metadata:
  name: say
  annotations:
    definition.oam.dev/description: Says something in the step's status.
spec:
  schematic:
    cue:
      template: |
        import "vela/builtin"
        parameter: {
          words: string
        }
        say: builtin.#Message & {$params: message: parameter.words}
`

func suspendingRun(name string) string {
	return fmt.Sprintf(`
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata:
  name: %s
spec:
  workflowSpec:
    steps:
      - name: hello
        type: say
        properties:
          words: hello
      - name: approve
        type: suspend
      - name: goodbye
        type: say
        properties:
          words: goodbye
`, name)
}

// A WorkflowRun applied to the cluster runs on Temporal with the
// cluster's own step definition; its status is mirrored into the object
// as it runs (suspending at the suspend step), `vela workflow resume`'s
// status patch resumes it, and it ends succeeded in .status.
func TestControllerRunsAnObjectAndResumesFromStatus(t *testing.T) {
	cb := newControllerBedRunning(t, "ctl-resume")
	cb.apply(t, controllerDefinition+"\n---\n"+suspendingRun("release"))

	u := cb.waitStatus(t, "release", "suspending at approve", phaseIs("suspending"))
	st := statusOf(t, u)
	assert.True(t, st.Suspend)
	require.Len(t, st.Steps, 3)
	assert.Equal(t, "succeeded", st.Steps[0].Phase)
	assert.Equal(t, "hello", st.Steps[0].Message)
	assert.Equal(t, "StepByStep", st.Mode.Steps)
	assert.Equal(t, u.GetGeneration(), st.ObservedGeneration)
	assert.Contains(t, u.GetFinalizers(), "velaflow.dev/terminate-run")

	cb.patchStatus(t, "release", map[string]any{"suspend": false, "steps": stepsAs(st, true)})
	u = cb.waitStatus(t, "release", "succeeded", phaseIs("succeeded"))
	st = statusOf(t, u)
	assert.True(t, st.Finished)
	assert.False(t, st.Suspend)
	assert.NotNil(t, st.EndTime)
	for _, s := range st.Steps {
		assert.Equal(t, "succeeded", s.Phase, s.Name)
	}
	assert.Equal(t, "goodbye", st.Steps[2].Message)
	id := fmt.Sprintf("ctl-resume/release/%s", u.GetUID())
	assert.Equal(t, 1, workflowRuns(t, id))
	recordHistories(t, id, "engine-four-mirror")
}

// `vela workflow suspend` (status.suspend: true) suspends a run that is
// executing, `vela workflow terminate` ends it terminated, and `vela
// workflow restart` (the status reset) runs it again from the start.
func TestControllerSuspendTerminateRestartFromStatus(t *testing.T) {
	cb := newControllerBedRunning(t, "ctl-ops")
	cb.apply(t, controllerDefinition+"\n---\n"+suspendingRun("ops"))
	u := cb.waitStatus(t, "ops", "suspending", phaseIs("suspending"))
	st := statusOf(t, u)

	cb.patchStatus(t, "ops", map[string]any{"terminated": true, "suspend": false, "steps": stepsAs(st, false)})
	u = cb.waitStatus(t, "ops", "terminated", func(st *stepio.ObjectStatus) bool { return st.Phase == "terminated" && st.Finished })
	st = statusOf(t, u)
	assert.True(t, st.Terminated)
	assert.Equal(t, "Terminate", st.Steps[1].Reason)

	// The reset, as vela's Update writes it.
	obj := cb.get(t, "ops")
	obj.Object["status"] = map[string]any{"mode": map[string]any{}, "status": "", "suspend": false, "terminated": false, "finished": false}
	_, err := cb.dyn.Resource(wrGVR).Namespace(cb.ns).UpdateStatus(context.Background(), obj, metav1.UpdateOptions{FieldManager: "vela"})
	require.NoError(t, err)
	u = cb.waitStatus(t, "ops", "suspending again", func(st *stepio.ObjectStatus) bool {
		return st.Phase == "suspending" && !st.Terminated && len(st.Steps) == 3 && st.Steps[2].Phase == "pending"
	})
	assert.Equal(t, 2, workflowRuns(t, fmt.Sprintf("ctl-ops/ops/%s", u.GetUID())))

	// A suspension asked while the run executes.
	cb.patchStatus(t, "ops", map[string]any{"suspend": false, "steps": stepsAs(statusOf(t, u), true)})
	cb.waitStatus(t, "ops", "succeeded", phaseIs("succeeded"))
	recordHistories(t, fmt.Sprintf("ctl-ops/ops/%s", u.GetUID()), "engine-four-operated")
}

// A run the translator refuses is not started: its status says why, by
// field path, and a Warning Event says so too. Fixed, it runs.
func TestControllerRefusesAnInvalidRun(t *testing.T) {
	cb := newControllerBedRunning(t, "ctl-invalid")
	cb.apply(t, controllerDefinition+`
---
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata:
  name: broken
spec:
  workflowSpec:
    steps:
      - name: hello
        type: say
      - name: there
        type: no-such-type
`)
	u := cb.waitStatus(t, "broken", "failed", phaseIs("failed"))
	st := statusOf(t, u)
	assert.True(t, st.Finished)
	assert.Contains(t, st.Message, "invalid WorkflowRun")
	assert.Contains(t, st.Message, "spec.workflowSpec.steps[1].type")
	assert.Contains(t, st.Message, "no-such-type")
	assert.Contains(t, st.Message, "spec.workflowSpec.steps[0].properties")
	assert.Equal(t, 0, workflowRuns(t, fmt.Sprintf("ctl-invalid/broken/%s", u.GetUID())))

	cs, err := kubernetes.NewForConfig(cb.b.clusters["shanghai"].RESTConfig())
	require.NoError(t, err)
	evs, err := cs.EventsV1().Events(cb.ns).List(context.Background(), metav1.ListOptions{})
	require.NoError(t, err)
	found := false
	for _, ev := range evs.Items {
		if ev.Regarding.Name == "broken" && ev.Reason == "InvalidWorkflowRun" && ev.Type == "Warning" {
			found = strings.Contains(ev.Note, "no-such-type")
		}
	}
	assert.True(t, found, "a Warning Event InvalidWorkflowRun for broken: %v", evs.Items)

	fixed := `{"spec":{"workflowSpec":{"steps":[{"name":"hello","type":"say","properties":{"words":"fixed"}}]}}}`
	_, err = cb.dyn.Resource(wrGVR).Namespace(cb.ns).Patch(context.Background(), "broken", types.MergePatchType, []byte(fixed), metav1.PatchOptions{})
	require.NoError(t, err)
	u = cb.waitStatus(t, "broken", "succeeded", phaseIs("succeeded"))
	assert.Equal(t, u.GetGeneration(), statusOf(t, u).ObservedGeneration)
}

// A controller killed with SIGKILL loses nothing: the run goes on while
// no controller runs, a resume written meanwhile is carried out by the
// next controller, and nothing is started twice. Deleting the object
// terminates its run.
func TestControllerKilledMidRun(t *testing.T) {
	cb := newControllerBedRunning(t, "ctl-kill")
	cb.apply(t, controllerDefinition+"\n---\n"+suspendingRun("survivor")+"\n---\n"+suspendingRun("doomed"))
	u := cb.waitStatus(t, "survivor", "suspending", phaseIs("suspending"))
	cb.waitStatus(t, "doomed", "suspending", phaseIs("suspending"))
	cb.kill(t)

	cb.patchStatus(t, "survivor", map[string]any{"suspend": false, "steps": stepsAs(statusOf(t, u), true)})
	cb.start(t)
	u = cb.waitStatus(t, "survivor", "succeeded", phaseIs("succeeded"))
	assert.Equal(t, 1, workflowRuns(t, fmt.Sprintf("ctl-kill/survivor/%s", u.GetUID())))

	doomed := cb.get(t, "doomed")
	id := fmt.Sprintf("ctl-kill/doomed/%s", doomed.GetUID())
	require.NoError(t, cb.dyn.Resource(wrGVR).Namespace(cb.ns).Delete(context.Background(), "doomed", metav1.DeleteOptions{}))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := shared.client.GetWorkflow(ctx, id, "").Get(ctx, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "terminated")
	assert.Equal(t, 1, workflowRuns(t, id))
}

// recordHistories exports every execution of a workflow ID into
// $VELAFLOW_RECORD_DIR as <prefix>.json, <prefix>-2.json ... (oldest
// first), the way histories/README.md records them; without the variable
// it does nothing.
func recordHistories(t *testing.T, id, prefix string) {
	t.Helper()
	dir := os.Getenv("VELAFLOW_RECORD_DIR")
	if dir == "" {
		return
	}
	resp, err := shared.client.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf("WorkflowId = '%s'", id)})
	require.NoError(t, err)
	root, err := repoRoot()
	require.NoError(t, err)
	for i := range resp.Executions {
		e := resp.Executions[len(resp.Executions)-1-i]
		out, err := exec.Command(filepath.Join(root, "bin", "temporal"), "workflow", "show", "--address", shared.address,
			"-w", id, "-r", e.Execution.GetRunId(), "-o", "json").Output()
		require.NoError(t, err)
		name := prefix + ".json"
		if i > 0 {
			name = fmt.Sprintf("%s-%d.json", prefix, i+1)
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), out, 0o644))
	}
}

const gateDefinition = `
apiVersion: core.oam.dev/v1beta1
kind: WorkflowStepDefinition
metadata:
  name: gate
spec:
  schematic:
    cue:
      template: |
        import (
          "vela/kube"
          "vela/builtin"
        )
        parameter: name: string
        read: kube.#Read & {$params: value: {
          apiVersion: "v1"
          kind:       "ConfigMap"
          metadata: {name: parameter.name, namespace: context.namespace}
        }}
        if read.$returns.err != _|_ {
          closed: builtin.#Fail & {$params: message: "gate \(parameter.name) is closed"}
        }
`

// `vela workflow restart --step`'s status write (the failed step's status
// and its dependents' removed, finished and terminated cleared) restarts
// the run from that step: the steps before keep their results.
func TestControllerRestartsFromAFailedStep(t *testing.T) {
	cb := newControllerBedRunning(t, "ctl-step")
	cb.apply(t, controllerDefinition+"\n---\n"+gateDefinition+`
---
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata:
  name: gated
spec:
  workflowSpec:
    steps:
      - name: hello
        type: say
        properties:
          words: hello
      - name: pass
        type: gate
        properties:
          name: open-sesame
      - name: after
        type: say
        properties:
          words: through
`)
	u := cb.waitStatus(t, "gated", "failed", func(st *stepio.ObjectStatus) bool { return st.Phase == "failed" && st.Finished })
	st := statusOf(t, u)
	require.Equal(t, "failed", st.Steps[1].Phase)
	assert.Contains(t, st.Steps[1].Message, "gate open-sesame is closed")
	helloID := st.Steps[0].ID

	cs, err := kubernetes.NewForConfig(cb.b.clusters["shanghai"].RESTConfig())
	require.NoError(t, err)
	_, err = cs.CoreV1().ConfigMaps(cb.ns).Create(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "open-sesame"}}, metav1.CreateOptions{})
	require.NoError(t, err)

	// What RestartFromStep writes: a status Update without the failed
	// step and the steps after it.
	obj := cb.get(t, "gated")
	status := obj.Object["status"].(map[string]any)
	status["finished"], status["terminated"], status["suspend"] = false, false, false
	delete(status, "endTime")
	status["steps"] = status["steps"].([]any)[:1]
	_, err = cb.dyn.Resource(wrGVR).Namespace(cb.ns).UpdateStatus(context.Background(), obj, metav1.UpdateOptions{FieldManager: "vela"})
	require.NoError(t, err)

	u = cb.waitStatus(t, "gated", "succeeded", phaseIs("succeeded"))
	st = statusOf(t, u)
	require.Len(t, st.Steps, 3)
	assert.Equal(t, helloID, st.Steps[0].ID, "the step before the restarted one keeps its result")
	assert.Equal(t, "succeeded", st.Steps[1].Phase)
	assert.Equal(t, "through", st.Steps[2].Message)
	assert.Equal(t, 2, workflowRuns(t, fmt.Sprintf("ctl-step/gated/%s", u.GetUID())))
}

// The CLI finds a run that came from the cluster by its name, and its
// operations show in the object. A run the CLI started under the same
// name stays the CLI's: the controller does not take it over, and the
// object gets a run of its own. Changing a definition in the cluster
// changes new runs only.
func TestControllerCLIAndDefinitions(t *testing.T) {
	cb := newControllerBedRunning(t, "ctl-cli")
	cb.apply(t, controllerDefinition+"\n---\n"+suspendingRun("shared-name"))
	u := cb.waitStatus(t, "shared-name", "suspending", phaseIs("suspending"))
	objectID := fmt.Sprintf("ctl-cli/shared-name/%s", u.GetUID())

	out, errOut, code := cb.b.velaflow(t, "status", "shared-name", "-n", cb.ns, "-o", "json")
	require.Equal(t, 0, code, "%s %s", out, errOut)
	assert.Contains(t, out, `"suspending"`)

	// A new template for say, applied while the run is suspended.
	newer := strings.Replace(controllerDefinition, "message: parameter.words}", `message: "new: " + parameter.words}`, 1)
	var def map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(newer), &def))
	cur, err := cb.dyn.Resource(wsdGVR).Namespace(cb.ns).Get(context.Background(), "say", metav1.GetOptions{})
	require.NoError(t, err)
	cur.Object["spec"] = def["spec"]
	_, err = cb.dyn.Resource(wsdGVR).Namespace(cb.ns).Update(context.Background(), cur, metav1.UpdateOptions{})
	require.NoError(t, err)

	out, errOut, code = cb.b.velaflow(t, "resume", "shared-name", "-n", cb.ns)
	require.Equal(t, 0, code, "%s %s", out, errOut)
	u = cb.waitStatus(t, "shared-name", "succeeded", phaseIs("succeeded"))
	assert.Equal(t, "goodbye", statusOf(t, u).Steps[2].Message, "the run keeps the template pinned at its start")

	// A CLI run of the same name and namespace.
	file := writeFile(t, "run.yaml", strings.Replace(suspendingRun("shared-name"), "  name: shared-name\n", "  name: shared-name\n  namespace: ctl-cli\n", 1)+"\n---\n"+strings.TrimSpace(controllerDefinition)+"\n")
	out, errOut, code = cb.b.velaflow(t, "run", "-f", file)
	require.Equal(t, 0, code, "%s %s", out, errOut)
	out, errOut, code = cb.b.velaflow(t, "resume", "shared-name", "-n", cb.ns)
	require.Equal(t, 0, code, "%s %s", out, errOut)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, shared.client.GetWorkflow(ctx, "ctl-cli/shared-name", "").Get(ctx, nil))
	assert.Equal(t, 1, workflowRuns(t, objectID), "the object's run was not touched by the CLI run")

	// A new object runs with the new template.
	cb.apply(t, strings.Replace(suspendingRun("second"), "type: suspend", "type: say\n        properties:\n          words: again", 1))
	u = cb.waitStatus(t, "second", "succeeded", phaseIs("succeeded"))
	assert.Equal(t, "new: hello", statusOf(t, u).Steps[0].Message)
}

// The pre-warm example, applied as Kubernetes objects: its definitions
// rendered with `velaflow def render` and created in the cluster, its
// WorkflowRun created through the API. The controller runs it across
// both regions with the example operator, and the object ends succeeded
// with every step's status, the group's sub-steps included.
func TestControllerPrewarmAppliedAsObjects(t *testing.T) {
	const ns = "ctl-prewarm"
	cb := newControllerBedRunning(t, ns)
	west, err := kubernetes.NewForConfig(cb.b.clusters["us-west"].RESTConfig())
	require.NoError(t, err)
	_, err = west.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	svc := buildsvc.New(buildsvc.Options{BuildTime: 200 * time.Millisecond, Logger: quietLog})
	httpSrv := httptest.NewServer(svc)
	defer httpSrv.Close()
	startImagePullOperator(t, cb.b)

	defs, errOut, code := cb.b.velaflow(t, "def", "render", "--definitions", prewarmDefinitions(t))
	require.Equal(t, 0, code, errOut)
	cb.apply(t, defs)
	name := prewarmRunName("prewarm-kube")
	run := strings.Replace(prewarmYAML(t, httpSrv.URL, name), "  namespace: default\n", "  namespace: "+ns+"\n", 1)
	require.Contains(t, run, "namespace: "+ns)
	cb.apply(t, run)

	u := cb.waitStatus(t, name, "finished", func(st *stepio.ObjectStatus) bool { return st.Finished })
	st := statusOf(t, u)
	require.Equal(t, "succeeded", st.Phase, "%+v", st)
	var phases []string
	for _, s := range st.Steps {
		phases = append(phases, s.Name+":"+s.Phase)
		for _, sub := range s.SubSteps {
			phases = append(phases, sub.Name+":"+sub.Phase)
		}
	}
	assert.Equal(t, []string{"build:succeeded", "on-build-failure:skipped", "cache-template:succeeded",
		"prewarm:succeeded", "prewarm-shanghai:succeeded", "prewarm-us-west:succeeded"}, phases)
	for _, cluster := range []string{"shanghai", "us-west"} {
		_, err := cb.b.dyn(t, cluster).Resource(imagePullJobs).Namespace(ns).Get(context.Background(), name+"-"+cluster, metav1.GetOptions{})
		assert.True(t, apierrors.IsNotFound(err), "the ImagePullJob in %s is deleted: %v", cluster, err)
	}
}

// spec.concurrency on WorkflowRun objects: the second object with the same
// key shows pending, naming the first, in its .status, and runs when the
// first ends.
func TestControllerConcurrencyKey(t *testing.T) {
	cb := newControllerBedRunning(t, "ctl-conc")
	run := func(name string) string {
		return fmt.Sprintf(`apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: %s, namespace: ctl-conc}
spec:
  context: {app: shop}
  concurrency:
    key: release-\(context.app)
  workflowSpec:
    steps:
      - {name: hold, type: suspend}
`, name)
	}
	cb.apply(t, run("one"))
	u := cb.waitStatus(t, "one", "suspending", phaseIs("suspending"))
	cb.apply(t, run("two"))
	u2 := cb.waitStatus(t, "two", "pending", phaseIs("pending"))
	assert.Contains(t, statusOf(t, u2).Message, "waiting for run ctl-conc/one/")
	assert.Contains(t, statusOf(t, u2).Message, "concurrency key ctl-conc/release-shop")

	st := statusOf(t, u)
	cb.patchStatus(t, "one", map[string]any{"suspend": false, "steps": stepsAs(st, true)})
	cb.waitStatus(t, "one", "succeeded", phaseIs("succeeded"))
	cb.waitStatus(t, "two", "holding the key, suspending", phaseIs("suspending"))
}
