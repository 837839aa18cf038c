package testsuite

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/converter"

	"github.com/velaflow/velaflow/workflows"
)

// Each `if` shows in the history (and so in the Web UI) with its step,
// its expression and its outcome.
func TestIfOutcomeInHistory(t *testing.T) {
	run := writeFile(t, "if.yaml", `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata:
  name: if-outcomes
spec:
  workflowSpec:
    steps:
      - name: build
        type: print-message-in-status
        properties: {message: built}
      - name: cleanup
        type: print-message-in-status
        if: status.build.failed
        properties: {message: cleaning up}
      - name: notify
        type: print-message-in-status
        if: status.build.succeeded
        properties: {message: told}
`)
	_, errOut, code := shared.velaflow(t, "run", "-f", run, "--wait")
	require.Equal(t, 0, code, errOut)
	st := shared.status(t, "if-outcomes").Status
	assert.Equal(t, workflows.StepSkipped, stepOf(st, "cleanup").Phase)
	assert.Equal(t, workflows.StepSucceeded, stepOf(st, "notify").Phase)

	var summaries []string
	it := shared.client.GetWorkflowHistory(context.Background(), "default/if-outcomes", "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		if ev.GetMarkerRecordedEventAttributes() == nil || ev.GetUserMetadata().GetSummary() == nil {
			continue
		}
		var s string
		require.NoError(t, converter.GetDefaultDataConverter().FromPayload(ev.GetUserMetadata().GetSummary(), &s))
		summaries = append(summaries, s)
	}
	assert.Contains(t, summaries, "if of cleanup: status.build.failed → false")
	assert.Contains(t, summaries, "if of notify: status.build.succeeded → true")
	recordHistories(t, "default/if-outcomes", "engine-seven-if")
}
