package testsuite

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/velaflow/velaflow/localstack/kubestack"
	"github.com/velaflow/velaflow/runs"
	"github.com/velaflow/velaflow/translator"
	"github.com/velaflow/velaflow/workflows"
)

var configMaps = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}

// kubeRun starts a run on the bed's worker and waits for its final status.
func (b *kubeBed) run(t *testing.T, name, yaml string) *workflows.Status {
	t.Helper()
	f := writeFile(t, name+".yaml", yaml)
	_, errOut, code := b.velaflow(t, "run", "-f", f, "--definitions", "testdata/kube", "--wait")
	require.Contains(t, []int{0, 1}, code, "velaflow run: %s", errOut)
	return b.finalStatus(t, name)
}

func (b *kubeBed) finalStatus(t *testing.T, name string) *workflows.Status {
	t.Helper()
	out, errOut, code := b.velaflow(t, "status", name, "-o", "json")
	require.Equal(t, 0, code, errOut)
	var obj runs.Object
	require.NoError(t, json.Unmarshal([]byte(out), &obj))
	return obj.Status
}

// Every kube operation against two real apiservers: apply (labels, default
// namespace, patch), patch, apply-in-parallel, read of a missing object,
// list by labels, the legacy forms, then delete by filter and by object.
func TestKubeOperations(t *testing.T) {
	b := theKubeBed(t)
	st := b.run(t, "kube-ops", `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: kube-ops}
spec:
  workflowSpec:
    steps:
      - name: ops
        type: kube-ops
        properties: {far: us-west, near: local}
        outputs: [{name: result, valueFrom: result}]
      - name: cleanup
        type: kube-delete
        properties: {far: us-west, near: shanghai}
        outputs: [{name: remaining, valueFrom: remaining}]
`)
	require.Equal(t, workflows.RunSucceeded, st.Phase, "%+v", st)
	res := stepOf(st, "ops").Outputs["result"].(map[string]any)
	assert.Equal(t, map[string]any{"workflowrun.oam.dev/name": "kube-ops", "workflowrun.oam.dev/namespace": "default"}, res["labels"])
	assert.Equal(t, "default", res["namespace"], "namespace defaults to default")
	assert.Equal(t, map[string]any{"greeting": "hello", "patched": "by-apply", "extra": "by-patch"}, res["data"])
	assert.Contains(t, res["missingErr"], "not found")
	assert.Equal(t, []any{"ops-a", "ops-b"}, res["listedNames"])
	assert.Equal(t, "legacy", res["legacyStyle"])
	assert.EqualValues(t, 0, stepOf(st, "cleanup").Outputs["remaining"])

	ctx := context.Background()
	_, err := b.dyn(t, "us-west").Resource(configMaps).Namespace("default").Get(ctx, "ops-far", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "deleted by object: %v", err)
	legacy, err := b.dyn(t, "shanghai").Resource(configMaps).Namespace("default").Get(ctx, "ops-legacy", metav1.GetOptions{})
	require.NoError(t, err, "the legacy apply went to the default cluster")
	assert.Equal(t, "kube-ops", legacy.GetLabels()["workflowrun.oam.dev/name"])
	_, err = b.dyn(t, "us-west").Resource(configMaps).Namespace("default").Get(ctx, "ops-legacy", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "local is shanghai, not us-west")
}

// A CRD installed after the worker started is found: discovery refreshes.
func TestKubeCRDInstalledWhileRunning(t *testing.T) {
	b := theKubeBed(t)
	crd := `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.velaflow.dev}
spec:
  group: example.velaflow.dev
  scope: Namespaced
  names: {kind: Widget, listKind: WidgetList, plural: widgets, singular: widget}
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`
	// The worker has already discovered us-west's types (another test, or
	// this warm-up run).
	st := b.run(t, "kube-crd-warmup", applyRun("kube-crd-warmup", "us-west", `{apiVersion: v1, kind: ConfigMap, metadata: {name: warmup}}`))
	require.Equal(t, workflows.RunSucceeded, st.Phase, "%+v", st)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, kubestack.InstallCRDs(ctx, b.clusters["us-west"].RESTConfig(), []byte(crd)))

	st = b.run(t, "kube-crd", applyRun("kube-crd", "us-west", `{apiVersion: example.velaflow.dev/v1, kind: Widget, metadata: {name: w1}, spec: {size: 3}}`))
	require.Equal(t, workflows.RunSucceeded, st.Phase, "%+v", st)
	w, err := b.dyn(t, "us-west").Resource(schema.GroupVersionResource{Group: "example.velaflow.dev", Version: "v1", Resource: "widgets"}).
		Namespace("default").Get(ctx, "w1", metav1.GetOptions{})
	require.NoError(t, err)
	assert.EqualValues(t, 3, w.Object["spec"].(map[string]any)["size"])
}

// An unknown cluster and a request RBAC forbids fail the step at once with
// a message that says why; nothing hangs or retries.
func TestKubeUnknownClusterAndForbidden(t *testing.T) {
	b := theKubeBed(t)
	const run = `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: kube-errors}
spec:
  mode: {steps: DAG}
  workflowSpec:
    steps:
      - {name: mars, type: apply-to, properties: {cluster: mars, value: {apiVersion: v1, kind: ConfigMap, metadata: {name: x}}}}
      - {name: forbidden, type: apply-to, properties: {cluster: restricted, value: {apiVersion: v1, kind: ConfigMap, metadata: {name: x}}}}
`
	// The CLI asks the workers which clusters they know: the run is
	// refused before it starts, at the line naming the cluster.
	f := writeFile(t, "kube-errors.yaml", run)
	_, errOut, code := b.velaflow(t, "run", "-f", f, "--definitions", "testdata/kube")
	assert.Equal(t, 2, code, errOut)
	assert.Contains(t, errOut, "kube-errors.yaml:8: spec.workflowSpec.steps[0].properties.cluster: unknown cluster \"mars\": the workers of the task queue know ")
	assert.Contains(t, errOut, "restricted, shanghai, us-west")

	// A run started by another client finds out at the step.
	res, err := translator.TranslateAll(translator.Options{Files: []string{f}, DefinitionPaths: []string{"testdata/kube"}})
	require.NoError(t, err)
	rc := runs.New(shared.client, b.taskQueue)
	started, err := rc.Start(context.Background(), res.Plans[0])
	require.NoError(t, err)
	st, err := runs.FinalStatus(context.Background(), started)
	require.NoError(t, err)
	require.Equal(t, workflows.RunFailed, st.Phase)
	mars := stepOf(st, "mars")
	assert.Equal(t, workflows.StepFailed, mars.Phase)
	assert.Equal(t, workflows.ReasonExecute, mars.Reason)
	assert.Contains(t, mars.Message, `unknown cluster "mars"`)
	assert.Contains(t, mars.Message, "local, restricted, shanghai, us-west")
	forbidden := stepOf(st, "forbidden")
	assert.Equal(t, workflows.StepFailed, forbidden.Phase)
	assert.Equal(t, workflows.ReasonExecute, forbidden.Reason)
	assert.Contains(t, forbidden.Message, "forbidden")
	assert.Contains(t, forbidden.Message, "cluster restricted")
}

func applyRun(name, cluster, value string) string {
	return fmt.Sprintf(`
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: %s}
spec:
  workflowSpec:
    steps:
      - {name: apply, type: apply-to, properties: {cluster: %s, value: %s}}
`, name, cluster, value)
}
