package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"
)

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
//
// Version 3 (engineInInput): the version is handed to continued
// executions and to groups in their input, so they record nothing to
// know it; and a run whose starter asks for it (RunInput.RecordEngine,
// set by velaflow's clients) records its version with its engine
// settings, in the one side-effect marker it writes anyway, instead of
// a version marker: a version marker also updates the run's
// TemporalChangeVersion search attribute, a write to the visibility
// store per run and per group.
//
// Version 4 (engineMirrorsObject): a run whose input names its
// WorkflowRun object (RunInput.Object, set by the controller) writes its
// status into the object as it changes (mirror.go), and ends only once
// the object shows its final status.
//
// Version 5 (engineNamesFromID): a run whose input asks for it
// (RunInput.NameFromID, set in a schedule's action) takes its name from
// its workflow ID, which the schedule made unique with the time it fired,
// and upserts its name search attribute to it.
//
// Version 6 (engineConcurrency): a run whose plan has a concurrency key
// (spec.concurrency) asks the key's lock workflow for it before its first
// step (the AcquireLock activity), waits in line as pending when it must,
// and gives the key back with a signal when it ends (concurrency.go,
// lock.go).
//
// Version 7 (engineIfResult): after an `if` expression is evaluated, a
// side-effect marker records its outcome with a summary that shows it in
// the Web UI ("if of cleanup: status.build.failed → true"): the local
// activity's own summary is set before the outcome is known.
const (
	engineChange              = "engine"
	engineMax                 = 7
	engineOneCoroutineListens = 2
	engineInInput             = 3
	engineMirrorsObject       = 4
	engineNamesFromID         = 5
	engineConcurrency         = 6
	engineIfResult            = 7
)

// pinnedEngine is what a run records with RecordEngine: its engine
// version and settings.
type pinnedEngine struct {
	Config
	Version workflow.Version `json:"engineVersion"`
}

// resolveEngine is the execution's engine version and settings, and
// whether the settings are the run's own. carried is the version its
// input hands on (0: none), given the settings it hands on (nil: none);
// record asks to record them with one side effect.
func (e *Engine) resolveEngine(ctx workflow.Context, carried workflow.Version, given *Config, record bool) (workflow.Version, Config, bool) {
	if carried != 0 {
		mustKnow(carried)
		if given != nil {
			return carried, *given, true
		}
		return carried, e.Config, false
	}
	if record && given == nil {
		// Replaying a run recorded with a version marker (started by a
		// worker before version 3) reads it; nothing is recorded then.
		if workflow.IsReplaying(ctx) {
			if v := workflow.GetVersion(ctx, engineChange, workflow.DefaultVersion, engineMax); v != workflow.DefaultVersion {
				cfg, pinned := e.pinned(ctx, nil, v)
				return v, cfg, pinned
			}
		}
		var p pinnedEngine
		err := workflow.SideEffect(ctx, func(workflow.Context) any { return pinnedEngine{Config: e.Config, Version: engineMax} }).Get(&p)
		if err != nil || p.Version < engineInInput {
			panic(fmt.Sprintf("the run's recorded engine is unreadable (version %d): %v", p.Version, err))
		}
		mustKnow(p.Version)
		return p.Version, p.Config, true
	}
	v := engineVersion(ctx)
	cfg, pinned := e.pinned(ctx, given, v)
	return v, cfg, pinned
}

// groupEngine is a group's engine version: the one its run handed on,
// else recorded by the group.
func groupEngine(ctx workflow.Context, carried workflow.Version) workflow.Version {
	if carried == 0 {
		return engineVersion(ctx)
	}
	mustKnow(carried)
	return carried
}

// mustKnow fails the workflow task of a newer worker's run, so that a
// worker that knows its version takes it.
func mustKnow(v workflow.Version) {
	if v > engineMax {
		panic(fmt.Sprintf("engine version %d is newer than this worker's %d", v, engineMax))
	}
}

// handedOn is the version a continued execution or a group is given in
// its input (0: none, it records its own).
func (r *run) handedOn() workflow.Version {
	if r.engine >= engineInInput {
		return r.engine
	}
	return 0
}

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
