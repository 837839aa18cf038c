package workflows

import "go.temporal.io/sdk/workflow"

// engineChange is the one version marker a run records: version 1 turns
// on every change that had a marker of its own before it (listed in
// changes), so a new execution records one marker instead of nine. A new
// change of behaviour raises engineMax and is on when the version is at
// least its number; histories recorded before keep replaying with what
// they recorded.
//
// Version 1 turns on: cancel-terminates, pinned-engine,
// group-child-workflow, workflow-retries, dag-group-inputs,
// definition-digests, pure-steps-local, groups-outlive-runs, carry-vars;
// and, new with it, the phase search attribute is upserted only when it
// differs from the one the execution started with.
//
// Version 2 (engineOneCoroutineListens): the coroutine that waits for
// the steps also receives the signals and the cancellation, instead of
// a coroutine of its own for each.
const (
	engineChange              = "engine"
	engineMax                 = 2
	engineOneCoroutineListens = 2
)

// engineVersion records (or, replaying, reads) the execution's engine
// version; call it before any other workflow.GetVersion.
func engineVersion(ctx workflow.Context) workflow.Version {
	return workflow.GetVersion(ctx, engineChange, workflow.DefaultVersion, engineMax)
}

// since tells whether the execution has a change of behaviour: every
// change listed above is on from engine version 1; in executions
// recorded before that, the change's own marker decides.
func since(ctx workflow.Context, engine workflow.Version, change string) bool {
	if engine >= 1 {
		return true
	}
	return workflow.GetVersion(ctx, change, workflow.DefaultVersion, 1) == 1
}

// startedPhase is the phase search attribute the execution started with
// (set by whoever started it, or carried across continue-as-new); "" if
// none.
func startedPhase(ctx workflow.Context) string {
	phase, _ := workflow.GetTypedSearchAttributes(ctx).GetKeyword(AttrPhase)
	return phase
}
