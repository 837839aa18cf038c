package testsuite

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/velaflow/velaflow/runs"
	"github.com/velaflow/velaflow/translator"
	"github.com/velaflow/velaflow/workflows"
)

// A run started by velaflow's clients records its engine version with its
// engine settings, in the one side-effect marker it writes anyway: no
// version marker, and so no TemporalChangeVersion search-attribute update
// (a visibility write), in the run or in its group, which gets the version
// in its input (continued executions too: TestLongWaitsContinueAsNew). A
// run started by a plain Temporal client without recordEngine records the
// version marker, and runs the same.
func TestEngineVersionIsRecordedWithTheSettings(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	plan := func(name string) *translator.Plan {
		file := writeFile(t, name+".yaml", fmt.Sprintf(`
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: %s}
spec:
  workflowSpec:
    steps:
      - {name: hello, type: print-message-in-status, properties: {message: hello}}
      - name: grp
        type: step-group
        subSteps:
          - {name: inner, type: print-message-in-status, properties: {message: inner}}
`, name))
		plans, err := translator.Translate(translator.Options{Files: []string{file}})
		require.NoError(t, err)
		return plans[0]
	}

	run, err := runs.New(shared.client, "").Start(ctx, plan("engine-recorded"))
	require.NoError(t, err)
	final, err := runs.FinalStatus(ctx, run)
	require.NoError(t, err)
	require.Equal(t, workflows.RunSucceeded, final.Phase)
	for _, id := range []string{"default/engine-recorded", "default/engine-recorded/grp"} {
		m := engineMarkers(t, ctx, shared.client, id)
		assert.Zero(t, m.versions, "%s records no version marker", id)
		assert.Zero(t, m.changeVersions, "%s does not update TemporalChangeVersion", id)
	}
	assert.Equal(t, 1, engineMarkers(t, ctx, shared.client, "default/engine-recorded").sideEffects, "the run records its engine once")

	p := plan("engine-plain")
	plain, err := shared.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: p.ID(), TaskQueue: workflows.DefaultTaskQueue},
		workflows.WorkflowName, workflows.RunInput{Plan: *p})
	require.NoError(t, err)
	final, err = runs.FinalStatus(ctx, plain)
	require.NoError(t, err)
	require.Equal(t, workflows.RunSucceeded, final.Phase)
	assert.Equal(t, 1, engineMarkers(t, ctx, shared.client, "default/engine-plain").versions, "without recordEngine, a version marker")
	assert.Zero(t, engineMarkers(t, ctx, shared.client, "default/engine-plain/grp").versions, "the group is handed the version")
}

// markerCounts are the markers that record a run's engine, in every
// execution of a workflow ID.
type markerCounts struct{ versions, changeVersions, sideEffects int }

func engineMarkers(t *testing.T, ctx context.Context, c client.Client, id string) markerCounts {
	t.Helper()
	resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: fmt.Sprintf("WorkflowId = '%s'", id)})
	require.NoError(t, err)
	require.NotEmpty(t, resp.Executions, "no execution of %s", id)
	var n markerCounts
	for _, e := range resp.Executions {
		iter := c.GetWorkflowHistory(ctx, id, e.Execution.RunId, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			ev, err := iter.Next()
			require.NoError(t, err)
			switch ev.GetEventType() {
			case enumspb.EVENT_TYPE_MARKER_RECORDED:
				switch ev.GetMarkerRecordedEventAttributes().GetMarkerName() {
				case "Version":
					n.versions++
				case "SideEffect":
					n.sideEffects++
				}
			case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
				if _, ok := ev.GetUpsertWorkflowSearchAttributesEventAttributes().GetSearchAttributes().GetIndexedFields()["TemporalChangeVersion"]; ok {
					n.changeVersions++
				}
			}
		}
	}
	return n
}
