package testsuite

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/velaflow/velaflow/runs"
	"github.com/velaflow/velaflow/workflows"
)

// The custom step KubeVela's documentation uses to explain step
// definitions, unchanged (legacy vela/op), and the same in the new style:
// both wait while the object is missing and while it has no status, and
// continue once status.phase is Ready. namespace defaults to the run's
// namespace through *context.namespace.
const ceDefinitions = `
apiVersion: core.oam.dev/v1beta1
kind: WorkflowStepDefinition
metadata: {name: wait-ready}
spec:
  schematic:
    cue:
      template: |
        import "vela/op"
        parameter: {apiVersion: string, kind: string, name: string, namespace: *context.namespace | string, cluster: *"" | string}
        read: op.#Read & {
          value: {apiVersion: parameter.apiVersion, kind: parameter.kind, metadata: {name: parameter.name, namespace: parameter.namespace}}
          cluster: parameter.cluster
        }
        wait: op.#ConditionalWait & {
          continue: read.value.status != _|_ && read.value.status.phase == "Ready"
        }
---
apiVersion: core.oam.dev/v1beta1
kind: WorkflowStepDefinition
metadata: {name: wait-ready-new}
spec:
  schematic:
    cue:
      template: |
        import ("vela/kube", "vela/builtin")
        parameter: {apiVersion: string, kind: string, name: string, namespace: *context.namespace | string}
        read: kube.#Read & {$params: value: {apiVersion: parameter.apiVersion, kind: parameter.kind, metadata: {name: parameter.name, namespace: parameter.namespace}}}
        if read.$returns.value.status == _|_ {
          wait: builtin.#ConditionalWait & {$params: {continue: false, message: "no status yet"}}
        }
        if read.$returns.value.status != _|_ {
          ready: builtin.#ConditionalWait & {$params: {continue: read.$returns.value.status.phase == "Ready", message: "phase \(read.$returns.value.status.phase)"}}
        }
        phase: *"none" | string
        if read.$returns.value.status != _|_ {
          phase: read.$returns.value.status.phase
        }
`

func TestCompatFieldTestsOverOperationResults(t *testing.T) {
	t.Parallel()
	b := theKubeBed(t)
	const ns = "ce-fieldtests"
	b.ksNamespace(t, ns, "shanghai")
	job := `{apiVersion: apps.kruise.io/v1alpha1, kind: ImagePullJob, name: warm}`
	r := b.ksStart(t, ns, "ce-fieldtests", ksSteps("ce-fieldtests", ns,
		`- {name: legacy, type: wait-ready, properties: `+job+`}`,
		`- {name: new-style, type: wait-ready-new, properties: `+job+`, outputs: [{name: phase, valueFrom: phase}, {name: ready, valueFrom: 'read.$returns.value.status != _|_ && read.$returns.value.status.phase == "Ready"'}]}`,
	)+"---\n"+ceDefinitions)

	// Missing, then present without a status: the step waits, it does not fail.
	r.started(t)
	r.waiting(t, "legacy")
	obj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps.kruise.io/v1alpha1", "kind": "ImagePullJob",
		"metadata": map[string]any{"name": "warm", "namespace": ns}, "spec": map[string]any{"image": "reg/app:1"}}}
	_, err := b.dyn(t, "shanghai").Resource(imagePullJobs).Namespace(ns).Create(context.Background(), obj, metav1.CreateOptions{})
	require.NoError(t, err)
	r.waiting(t, "legacy")
	b.ksPatchStatus(t, "shanghai", imagePullJobs, ns, "warm", map[string]any{"phase": "Pulling"})
	r.waiting(t, "legacy")
	assert.Equal(t, workflows.StepRunning, stepOf(r.status(t), "legacy").Phase)

	b.ksPatchStatus(t, "shanghai", imagePullJobs, ns, "warm", map[string]any{"phase": "Ready"})
	st := r.end(t)
	require.Equal(t, workflows.RunSucceeded, st.Phase, r.describe(t))
	assert.Equal(t, map[string]any{"phase": "Ready", "ready": true}, stepOf(st, "new-style").Outputs)
}

// started returns once the run exists (velaflow run has validated and
// started it).
func (r *ksRun) started(t *testing.T) {
	t.Helper()
	ksEventually(t, "run "+r.name+" started", func() (bool, string) {
		select {
		case e := <-r.done:
			r.done <- e
			t.Fatalf("velaflow run %s ended before the run was seen: exit %d: %s", r.name, e.code, e.stderr)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := runs.New(shared.client, r.b.taskQueue).Status(ctx, r.ns, r.name)
		return err == nil, fmt.Sprint(err)
	})
}
