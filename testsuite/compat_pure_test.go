package testsuite

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/velaflow/velaflow/workflows"
)

// vela/time and util.#PatchK8sObject, in the new style and in legacy
// vela/op, as users write them in their own step types.
func TestCompatTimeAndPatch(t *testing.T) {
	t.Parallel()
	f := writeFile(t, "pure.yaml", `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: ce-pure}
spec:
  workflowSpec:
    steps:
      - name: new-style
        type: stamp-and-patch
        properties: {date: "2025-06-30T22:00:00+02:00", image: "app:2"}
        outputs: [{name: stamp, valueFrom: stamp.$returns.timestamp}, {name: day, valueFrom: day.$returns.date}, {name: image, valueFrom: 'patched.$returns.result.spec.containers[0].image'}]
      - name: legacy
        type: stamp-and-patch-legacy
        properties: {date: "30/06/2025", image: "app:3"}
        outputs: [{name: stamp, valueFrom: stamp.timestamp}, {name: image, valueFrom: 'patched.result.spec.containers[0].image'}, {name: sidecar, valueFrom: 'patched.result.spec.containers[1].name'}]
---
apiVersion: core.oam.dev/v1beta1
kind: WorkflowStepDefinition
metadata: {name: stamp-and-patch}
spec:
  schematic:
    cue:
      template: |
        import ("vela/time", "vela/util")
        parameter: {date: string, image: string}
        stamp: time.#DateToTimestamp & {$params: date: parameter.date}
        day: time.#TimestampToDate & {$params: {timestamp: stamp.$returns.timestamp, layout: "Monday 2 January 2006"}}
        patched: util.#PatchK8sObject & {$params: {
          value: {spec: containers: [{name: "app", image: "app:1"}]}
          patch: {spec: containers: [{name: "app", image: parameter.image}]}
        }}
---
apiVersion: core.oam.dev/v1beta1
kind: WorkflowStepDefinition
metadata: {name: stamp-and-patch-legacy}
spec:
  schematic:
    cue:
      template: |
        import "vela/op"
        parameter: {date: string, image: string}
        stamp: op.#DateToTimestamp & {date: parameter.date, layout: "02/01/2006"}
        patched: op.#PatchK8sObject & {
          value: {spec: containers: [{name: "app", image: "app:1"}]}
          patch: {spec: containers: [{name: "app", image: parameter.image}, {name: "proxy", image: "envoy"}]}
        }
`)
	_, errOut, code := shared.velaflow(t, "run", "-f", f, "--wait")
	require.Equal(t, 0, code, errOut)
	st := shared.status(t, "ce-pure").Status
	require.Equal(t, workflows.RunSucceeded, st.Phase)
	assert.Equal(t, map[string]any{"stamp": float64(1751313600), "day": "Monday 30 June 2025", "image": "app:2"}, stepOf(st, "new-style").Outputs)
	assert.Equal(t, map[string]any{"stamp": float64(1751241600), "image": "app:3", "sidecar": "proxy"}, stepOf(st, "legacy").Outputs)
}
