package testsuite

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Loading a folder of definitions as a KubeVela user has it: one does not
// compile, one replaces a built-in. `def vet` reports the broken one with
// file and line and exits 1; a run that does not use it starts, warned
// once; a run that uses it is refused naming both places.
func TestCompatLoadingDefinitions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	must := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(strings.TrimLeft(content, "\n")), 0o644))
		return p
	}
	defs := filepath.Join(dir, "defs")
	require.NoError(t, os.Mkdir(defs, 0o755))
	must("defs/broken.cue", `
import "vela/op"
"broken": {type: "workflow-step"}
template: {
	parameter: {}
	apply: op.#Apply & {value: parameter.x
}
`)
	must("defs/print-message-in-status.yaml", `
apiVersion: core.oam.dev/v1beta1
kind: WorkflowStepDefinition
metadata: {name: print-message-in-status}
spec:
  schematic:
    cue:
      template: |
        import "vela/op"
        parameter: {message: string}
        msg: op.#Message & {message: "ours: " + parameter.message}
`)
	out, errOut, code := shared.velaflow(t, "def", "vet", defs)
	assert.Equal(t, 1, code, "%s\n%s", out, errOut)
	assert.Contains(t, errOut, filepath.Join(defs, "broken.cue")+":")
	assert.Contains(t, out, "1 definitions compile, 1 do not")

	out, errOut, code = shared.velaflow(t, "def", "list", "--definitions", defs)
	require.Equal(t, 0, code, errOut)
	assert.Regexp(t, `print-message-in-status\s+\S+print-message-in-status.yaml \(replaces the built-in\)`, out)
	assert.Regexp(t, `broken\s+\S+broken.cue\s+does not compile`, out)

	run := must("ok.yaml", `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: ce-loading}
spec: {workflowSpec: {steps: [{name: say, type: print-message-in-status, properties: {message: hi}}]}}
`)
	out, errOut, code = shared.velaflow(t, "run", "-f", run, "--definitions", defs, "--wait")
	require.Equal(t, 0, code, "%s\n%s", out, errOut)
	assert.Equal(t, 1, strings.Count(errOut, `definition "print-message-in-status" replaces the built-in one`), errOut)
	assert.Equal(t, 1, strings.Count(errOut, `definition "broken" does not compile`), errOut)
	assert.Equal(t, "ours: hi", stepOf(shared.status(t, "ce-loading").Status, "say").Message)

	uses := must("uses.yaml", `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: ce-loading-broken}
spec:
  workflowSpec:
    steps:
      - name: a
        type: broken
`)
	_, errOut, code = shared.velaflow(t, "run", "-f", uses, "--definitions", defs)
	assert.Equal(t, 2, code, errOut)
	assert.Contains(t, errOut, uses+`:8: spec.workflowSpec.steps[0].type: step type "broken": its definition does not compile`)
	assert.Contains(t, errOut, filepath.Join(defs, "broken.cue")+":")
}
