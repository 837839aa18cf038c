package testsuite

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/velaflow/velaflow/workflows"
)

// Starting a run whose name still runs is refused (exit 1) and leaves it
// alone; --replace terminates it, with its group (whose child workflow
// outlives the run's executions), and starts the new YAML, whose group
// starts under the same ID.
func TestStartingARunThatStillRuns(t *testing.T) {
	t.Parallel()
	yaml := func(msg string) string {
		return writeFile(t, "conflict.yaml", `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: still-running}
spec:
  workflowSpec:
    steps:
      - name: grp
        type: step-group
        subSteps:
          - {name: hold, type: suspend, properties: {message: "`+msg+`"}}
`)
	}
	_, errOut, code := shared.velaflow(t, "run", "-f", yaml("first"))
	require.Equal(t, 0, code, errOut)
	shared.eventually(t, "still-running", "the first run holds", func(st *workflows.Status) bool {
		return findStep(st, "hold").Phase == workflows.StepSuspending
	})

	out, errOut, code := shared.velaflow(t, "run", "-f", yaml("second"))
	assert.Equal(t, 4, code, "a conflict exits 4: %s", out)
	assert.Contains(t, errOut, "run default/still-running is still running: it was not started again")
	assert.NotContains(t, out, "started run")
	assert.Equal(t, "first", findStep(shared.status(t, "still-running").Status, "hold").Message, "the running run is untouched")

	out, errOut, code = shared.velaflow(t, "run", "-f", yaml("second"), "--replace")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "started run still-running")
	shared.eventually(t, "still-running", "the new YAML runs", func(st *workflows.Status) bool {
		return findStep(st, "hold").Message == "second" && findStep(st, "hold").Phase == workflows.StepSuspending
	})
	_, _, code = shared.velaflow(t, "terminate", "still-running")
	require.Equal(t, 0, code)
}
