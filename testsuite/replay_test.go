package testsuite

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/velaflow/velaflow/cuedefs"
	"github.com/velaflow/velaflow/stepio"
	"github.com/velaflow/velaflow/workflows"
)

// recorded names the workflow ID each recorded history ran under; replay
// needs it because a run derives its groups' child workflow IDs from it.
var recorded = map[string]string{
	"demo.json":                      "default/demo",
	"dag-group-failure.json":         "default/failing",
	"groups.json":                    "default/groups",
	"groups-child.json":              "default/groups/grp",
	"groups-continued.json":          "default/groups",
	"groups-restart.json":            "default/groups",
	"prewarm.json":                   "default/prewarm",
	"prewarm-group.json":             "default/prewarm/prewarm",
	"vars.json":                      "default/vars",
	"vars-continued.json":            "default/vars",
	"vars-group.json":                "default/vars/grp",
	"cancel.json":                    "default/cancel",
	"pinned.json":                    "default/pinned",
	"group-outlives.json":            "default/group-outlives",
	"group-outlives-done.json":       "default/group-outlives",
	"group-outlives-child.json":      "default/group-outlives/grp",
	"group-outlives-child-last.json": "default/group-outlives/grp",
	"digests.json":                   "default/digests",
	"digests-group.json":             "default/digests/grp",
	"pure-local.json":                "default/pure-local",
	"pure-local-group.json":          "default/pure-local/grp",
	"engine-one.json":                "default/engine-one",
	"engine-one-group.json":          "default/engine-one/grp",
	"engine-two.json":                "default/engine-two",
	"engine-two-group.json":          "default/engine-two/grp",
	"engine-three.json":              "default/engine-three",
	"engine-three-continued.json":    "default/engine-three",
	"engine-three-last.json":         "default/engine-three",
	"engine-three-group.json":        "default/engine-three/grp",
	"engine-four-mirror.json":        "ctl-resume/release/d6c0e6ce-41b4-4e84-abf6-455e52f54059",
	"engine-four-operated.json":      "ctl-ops/ops/32b65db7-db99-4bc0-a236-cd8577f65149",
	"engine-four-operated-2.json":    "ctl-ops/ops/32b65db7-db99-4bc0-a236-cd8577f65149",
	"workers.json":                   "velaflow-workers/velaflow",
	"engine-five-scheduled.json":     "sched-template/nightly-2026-12-02T18:49:47Z",
	"engine-six-queued.json":         "conc-policies/fourth",
	"lock.json":                      "velaflow-lock/conc-policies/deploy-shop",
	"engine-seven-if.json":           "default/if-outcomes",
}

// TestReplayRecordedHistories replays histories recorded from real runs
// (histories/*.json, from `temporal workflow show -o json`; the YAML they
// ran is next to them) against the current workflow code: a change that
// would break runs in flight fails here. Record a new history whenever the
// workflow gains a behaviour.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob("histories/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files, "no recorded histories in testsuite/histories")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			id, ok := recorded[filepath.Base(f)]
			require.True(t, ok, "add %s with its workflow ID to `recorded`", filepath.Base(f))
			r := worker.NewWorkflowReplayer()
			eng := &workflows.Engine{Config: workflows.DefaultConfig()}
			r.RegisterWorkflowWithOptions(eng.Run, workflow.RegisterOptions{Name: workflows.WorkflowName})
			r.RegisterWorkflowWithOptions(eng.RunGroup, workflow.RegisterOptions{Name: workflows.GroupWorkflowName})
			ws := &workflows.Workers{StepTypes: cuedefs.Builtins}
			r.RegisterWorkflowWithOptions(ws.Run, workflow.RegisterOptions{Name: workflows.WorkersName})
			r.RegisterWorkflowWithOptions(workflows.Lock, workflow.RegisterOptions{Name: stepio.LockName})
			in, err := os.Open(f)
			require.NoError(t, err)
			defer in.Close()
			hist, err := client.HistoryFromJSON(in, client.HistoryJSONOptions{})
			require.NoError(t, err)
			require.NoError(t, r.ReplayWorkflowHistoryWithOptions(nil, hist, worker.ReplayWorkflowHistoryOptions{
				OriginalExecution: workflow.Execution{ID: id},
			}))
		})
	}
}
