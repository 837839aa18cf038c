package testsuite

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/velaflow/velaflow/workflows"
)

// util.#Log with source.resources asks the apiserver for the logs of the
// Pods it names (by labels and by name). The bed has no kubelet, so the
// Pods have no node and no logs: each gives a line saying so, and the step
// still succeeds.
func TestCompatLogFromPods(t *testing.T) {
	t.Parallel()
	b := theKubeBed(t)
	const ns = "ce-podlogs"
	b.ksNamespace(t, ns, "shanghai", "us-west")
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "builder-x1", Namespace: ns, Labels: map[string]string{"job": "build"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "kaniko", Image: "kaniko:1"}}},
	}
	_, err := b.ksClient(t, "us-west").CoreV1().Pods(ns).Create(context.Background(), pod, metav1.CreateOptions{})
	require.NoError(t, err)

	r := b.ksStart(t, ns, "ce-podlogs", ksSteps("ce-podlogs", ns,
		`- {name: show, type: show-build-logs}`,
	)+`---
apiVersion: core.oam.dev/v1beta1
kind: WorkflowStepDefinition
metadata: {name: show-build-logs}
spec:
  schematic:
    cue:
      template: |
        import "vela/util"
        parameter: {}
        byLabel: util.#Log & {$params: {data: "build started", source: resources: [{cluster: "us-west", labelSelector: {job: "build"}}]}}
        byName: util.#Log & {$params: source: resources: [{name: "gone", cluster: "us-west"}]}
`)
	st := r.end(t)
	require.Equal(t, workflows.RunSucceeded, st.Phase, r.describe(t))
	out, errOut, code := b.velaflow(t, "logs", "ce-podlogs", "-n", ns)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "build started")
	assert.Contains(t, out, "[ce-podlogs/builder-x1 kaniko] no logs: no log lines yet (pod Pending)", "the Pod matched by label, its log asked for")
	assert.Contains(t, out, `[pod ce-podlogs/gone] no logs:`)
	assert.Contains(t, out, `"gone" not found`)
}
