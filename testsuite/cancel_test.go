package testsuite

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/velaflow/velaflow/workflows"
)

// Cancelling a run as the Web UI does (or `temporal workflow cancel`) ends
// it terminated, its group too, like `velaflow terminate`; the execution
// closes instead of continuing as new.
func TestCancelFromTemporalEndsTheRun(t *testing.T) {
	t.Parallel()
	f := writeFile(t, "cancel.yaml", `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: cancel-me}
spec:
  workflowSpec:
    steps:
      - name: grp
        type: step-group
        subSteps:
          - {name: hold, type: suspend}
      - {name: after, type: print-message-in-status, properties: {message: done}}
`)
	_, errOut, code := shared.velaflow(t, "run", "-f", f)
	require.Equal(t, 0, code, errOut)
	shared.eventually(t, "cancel-me", "the sub-step holds", func(st *workflows.Status) bool {
		return len(stepOf(st, "grp").SubSteps) == 1 && stepOf(st, "grp").SubSteps[0].Phase == workflows.StepSuspending
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, shared.client.CancelWorkflow(ctx, "default/cancel-me", ""))

	st := shared.eventually(t, "cancel-me", "the run ends", func(st *workflows.Status) bool { return st.Finished })
	assert.Equal(t, workflows.RunTerminated, st.Phase)
	hold := stepOf(st, "grp").SubSteps[0]
	assert.Equal(t, workflows.StepFailed, hold.Phase)
	assert.Equal(t, workflows.ReasonTerminate, hold.Reason)
	assert.Equal(t, workflows.StepPending, stepOf(st, "after").Phase)
	desc, err := shared.client.DescribeWorkflowExecution(ctx, "default/cancel-me", "")
	require.NoError(t, err)
	assert.NotEqual(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, desc.WorkflowExecutionInfo.Status, "the execution closed")
	assert.NotEqual(t, enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW, desc.WorkflowExecutionInfo.Status)
}
