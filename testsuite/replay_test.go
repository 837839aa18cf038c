package testsuite

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/velaflow/velaflow/workflows"
)

// TestReplayRecordedHistories replays histories recorded from real runs
// (histories/*.json, from `temporal workflow show -o json`) against the
// current workflow code: a change that would break runs in flight fails
// here. Record a new history whenever the workflow gains a behaviour.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob("histories/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files, "no recorded histories in testsuite/histories")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			eng := &workflows.Engine{Config: workflows.DefaultConfig()}
			r.RegisterWorkflowWithOptions(eng.Run, workflow.RegisterOptions{Name: workflows.WorkflowName})
			r.RegisterWorkflowWithOptions(eng.RunGroup, workflow.RegisterOptions{Name: workflows.GroupWorkflowName})
			require.NoError(t, r.ReplayWorkflowHistoryFromJSONFile(nil, f))
		})
	}
}
