package testsuite

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/velaflow/velaflow/deploy/crds"
	"github.com/velaflow/velaflow/localstack/kubestack"
)

// velaflow install crds applies the CRDs of KubeVela Workflow's kinds to a
// real kube-apiserver, alike when run again, and keeps one KubeVela
// installed. Objects written the way KubeVela's users write them (every
// field of KubeVela's schema, strict field validation) are accepted; a
// WorkflowRun's status is a subresource, patched as `vela workflow
// suspend` does, and `kubectl get wr` shows its phase.
func TestInstallCRDs(t *testing.T) {
	b := theKubeBed(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dc := b.dyn(t, "us-west")
	// KubeVela's WorkflowStepDefinition CRD is there already.
	require.NoError(t, kubestack.InstallCRDs(ctx, b.clusters["us-west"].RESTConfig(), []byte(kubevelaDefinitionCRD)))

	for range 2 {
		out, errOut, code := b.velaflow(t, "install", "crds", "--kubeconfig", b.clusters["us-west"].Kubeconfig)
		require.Equal(t, 0, code, "%s %s", out, errOut)
		assert.Contains(t, out, "applied workflowruns.core.oam.dev")
		assert.Contains(t, out, "applied workflows.core.oam.dev")
		assert.Contains(t, out, "kept workflowstepdefinitions.core.oam.dev")
	}

	crd, err := dc.Resource(crds.Resource).Get(ctx, "workflowruns.core.oam.dev", metav1.GetOptions{})
	require.NoError(t, err)
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	require.Len(t, versions, 1)
	columns, _, _ := unstructured.NestedSlice(versions[0].(map[string]any), "additionalPrinterColumns")
	assert.Equal(t, []any{
		map[string]any{"name": "PHASE", "type": "string", "jsonPath": ".status.status"},
		map[string]any{"name": "AGE", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
	}, columns)
	short, _, _ := unstructured.NestedStringSlice(crd.Object, "spec", "names", "shortNames")
	assert.Equal(t, []string{"wr"}, short)

	strict := metav1.CreateOptions{FieldValidation: "Strict", DryRun: []string{metav1.DryRunAll}}
	for _, doc := range strings.Split(kubevelaShapedObjects, "\n---\n") {
		var obj map[string]any
		require.NoError(t, yaml.Unmarshal([]byte(doc), &obj))
		u := &unstructured.Unstructured{Object: obj}
		gvr := schema.GroupVersionResource{Group: "core.oam.dev", Version: u.GroupVersionKind().Version, Resource: strings.ToLower(u.GetKind()) + "s"}
		_, err := dc.Resource(gvr).Namespace("default").Create(ctx, u, strict)
		assert.NoError(t, err, "%s %s", u.GetKind(), u.GetName())
	}

	// The schema is not open everywhere: strict validation refuses a field
	// neither KubeVela nor velaflow has.
	bogus := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "core.oam.dev/v1alpha1", "kind": "WorkflowRun",
		"metadata": map[string]any{"name": "bogus"}, "spec": map[string]any{"workflowRef": "release", "bogus": true}}}
	_, err = dc.Resource(schema.GroupVersionResource{Group: "core.oam.dev", Version: "v1alpha1", Resource: "workflowruns"}).
		Namespace("default").Create(ctx, bogus, strict)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "spec.bogus")

	// velaflow's own WorkflowStepDefinition CRD takes KubeVela's published
	// definitions as they are.
	out, errOut, code := b.velaflow(t, "install", "crds", "--kubeconfig", b.clusters["shanghai"].Kubeconfig)
	require.Equal(t, 0, code, "%s %s", out, errOut)
	assert.Contains(t, out, "applied workflowstepdefinitions.core.oam.dev")
	var def map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(kubevelaShapedDefinition), &def))
	_, err = b.dyn(t, "shanghai").Resource(schema.GroupVersionResource{Group: "core.oam.dev", Version: "v1beta1", Resource: "workflowstepdefinitions"}).
		Namespace("default").Create(ctx, &unstructured.Unstructured{Object: def}, strict)
	assert.NoError(t, err)

	wr := schema.GroupVersionResource{Group: "core.oam.dev", Version: "v1alpha1", Resource: "workflowruns"}
	run := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "core.oam.dev/v1alpha1", "kind": "WorkflowRun",
		"metadata": map[string]any{"name": "crd-status"},
		"spec":     map[string]any{"workflowSpec": map[string]any{"steps": []any{map[string]any{"name": "hold", "type": "suspend"}}}}}}
	_, err = dc.Resource(wr).Namespace("default").Create(ctx, run, metav1.CreateOptions{})
	require.NoError(t, err)
	patch := []byte(`{"status":{"status":"suspending","suspend":true,"finished":false,"terminated":false,"mode":{"steps":"StepByStep","subSteps":"DAG"}}}`)
	_, err = dc.Resource(wr).Namespace("default").Patch(ctx, "crd-status", types.MergePatchType, patch, metav1.PatchOptions{}, "status")
	require.NoError(t, err)
	got, err := dc.Resource(wr).Namespace("default").Get(ctx, "crd-status", metav1.GetOptions{})
	require.NoError(t, err)
	phase, _, _ := unstructured.NestedString(got.Object, "status", "status")
	assert.Equal(t, "suspending", phase, "the status subresource keeps what was patched")
	_, err = dc.Resource(wr).Namespace("default").Patch(ctx, "crd-status", types.MergePatchType, []byte(`{"spec":{"workflowRef":"x"},"status":{"status":"ignored"}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	got, err = dc.Resource(wr).Namespace("default").Get(ctx, "crd-status", metav1.GetOptions{})
	require.NoError(t, err)
	phase, _, _ = unstructured.NestedString(got.Object, "status", "status")
	assert.Equal(t, "suspending", phase, "a patch of the object itself leaves the status alone")
}

// kubevelaDefinitionCRD stands for KubeVela's own WorkflowStepDefinition
// CRD, installed before velaflow's (no velaflow label).
const kubevelaDefinitionCRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: workflowstepdefinitions.core.oam.dev}
spec:
  group: core.oam.dev
  scope: Namespaced
  names: {kind: WorkflowStepDefinition, listKind: WorkflowStepDefinitionList, plural: workflowstepdefinitions, singular: workflowstepdefinition, shortNames: [workflowstep]}
  versions:
    - name: v1beta1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
      subresources: {status: {}}
`

// kubevelaShapedDefinition is shaped as KubeVela publishes its
// definitions.
const kubevelaShapedDefinition = `
apiVersion: core.oam.dev/v1beta1
kind: WorkflowStepDefinition
metadata:
  name: print-message-in-status
  annotations: {definition.oam.dev/description: print a message in the step status, definition.oam.dev/alias: ""}
  labels: {custom.definition.oam.dev/ui-hidden: "true"}
spec:
  version: "1.0"
  definitionRef: {name: prints.example.dev, version: v1}
  schematic:
    cue:
      template: |
        import "vela/builtin"
        parameter: message: string
        msg: builtin.#Message & {$params: message: parameter.message}
`

// kubevelaShapedObjects use every field of KubeVela Workflow's schemas.
const kubevelaShapedObjects = `apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: shaped, annotations: {workflowrun.oam.dev/debug: "true"}}
spec:
  mode: {steps: DAG, subSteps: StepByStep}
  context: {image: "reg/app:1", replicas: 3}
  workflowSpec:
    steps:
      - name: build
        type: request
        meta: {alias: Build}
        timeout: 10m
        properties: {url: "http://build/api", method: POST, body: {app: shop}}
        outputs: [{name: id, valueFrom: response.id}]
      - name: grp
        type: step-group
        dependsOn: [build]
        if: status.build.succeeded
        subSteps:
          - name: deploy
            type: apply-object
            meta: {alias: Deploy}
            timeout: 5m
            dependsOn: []
            if: always
            inputs: [{from: id, parameterKey: value.metadata.labels.build}]
            outputs: [{name: done, valueFrom: '"yes"'}]
            properties: {value: {apiVersion: v1, kind: ConfigMap, metadata: {name: x}}}
---
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: by-ref}
spec:
  workflowRef: release
  context: {app: shop}
---
apiVersion: core.oam.dev/v1alpha1
kind: Workflow
metadata: {name: release}
mode: {steps: StepByStep, subSteps: DAG}
steps:
  - name: notify
    type: notification
    meta: {alias: Notify}
    properties: {slack: {url: {value: "http://hook"}, message: {text: hi}}}
  - name: grp
    type: step-group
    mode: DAG
    subSteps:
      - {name: a, type: suspend, timeout: 1h, properties: {duration: 5s}}
`
