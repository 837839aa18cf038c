package workflows

import (
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/velaflow/velaflow/stepio"
	"github.com/velaflow/velaflow/translator"
)

// run is the state of one WorkflowRun execution, or of one group's child
// workflow.
type run struct {
	cfg    Config
	plan   *translator.Plan
	status *Status
	// group names the step-group this run executes ("" for the run itself).
	group string
	// engine is the execution's engine version (versions.go); the flags
	// below are the changes of behaviour it has.
	engine                       workflow.Version
	childGroups, workflowRetries bool
	// groupInputs: a DAG group waits for its sub-steps' outside inputs.
	groupInputs bool
	// definitionDigests: executions name their template by digest.
	definitionDigests bool
	// pureLocal: steps calling only pure operations run as local
	// activities.
	pureLocal bool
	// outliveRuns: group child workflows survive the run's continue-as-new
	// and report to its workflow ID.
	outliveRuns bool
	// chain is the run's first run ID (a group's: its run's), which group
	// reports carry.
	chain string
	// running are the groups whose child workflow is under way (new
	// behaviour), groupDone the results they reported, not yet taken.
	running   map[string]bool
	groupDone map[string]*GroupResult
	// lost are running groups whose child workflow is gone without a
	// report (a signal to it found no workflow).
	lost map[string]bool
	// publishWanted asks a group's coalescing publisher for a report.
	publishWanted bool

	// steps indexes every step and sub-step status by name.
	steps map[string]*StepStatus
	// producers maps an output name to the steps declaring it.
	producers map[string][]*StepStatus
	outputs   map[string]any
	loops     map[string]*stepLoop
	// logs are what each step logged in its latest execution that logged.
	logs map[string][]string
	// vars are the run's variables (#DoVar).
	vars map[string]any
	// others are the statuses of steps outside this group (groups only).
	others map[string]map[string]any
	// deadline is the group's timeout (groups only).
	deadline *time.Time
	timedOut bool

	// sig are the run's signal channels (signals.go).
	sig *signalChannels

	// woken holds the waiting steps a wake signal asked to execute now.
	woken map[string]bool

	suspended  bool // suspended by the suspend signal
	resumeGen  int  // bumped by every resume signal
	terminated bool
	cancelSeen bool // the cancellation was turned into a terminate
	// stepCtx carries activity calls; terminate cancels it.
	stepCtx    workflow.Context
	cancelStep workflow.CancelFunc
	// inFlight counts activities and child workflows under way; the run
	// continues as new only when none is.
	inFlight int
	// children are the group child workflows under way, by group name
	// (groups tied to the execution: before "groups-outlive-runs").
	children map[string]workflow.ChildWorkflowFuture
	phase    string // last phase written to the search attribute
	// published is the last group status sent to the parent, publishSeq
	// its number (groups only).
	published  string
	publishSeq int
	// groupSeq is the newest status report applied, by group.
	groupSeq map[string]int
	// pinned tells the engine settings are the run's own (they go to its
	// groups and across continue-as-new).
	pinned bool
	// mirror writes the status into the run's WorkflowRun object (runs
	// the controller started; nil for others).
	mirror *mirror
	// lockAsked: the run asked its concurrency key's lock (it gives the key
	// back, or leaves the line, when it ends); lockHeld: it holds the key.
	lockAsked, lockHeld bool
	// queued says what the run waits for in line; refused why it may not
	// run its steps.
	queued, refused string
	// executions are the steps' latest executions (the debug query).
	executions map[string]*StepExecution
}

// Run interprets the plan. It returns the final status; a run that ends
// failed or terminated returns an ApplicationError of type FailureType
// whose details hold that status.
//
// The input is a pointer and the work before and after drive is in
// functions of their own: a cached run's root coroutine waits in Run, and
// a shallow frame lets Go shrink its stack to 8 KiB (a 500-byte argument
// copied by reflection and a large frame kept it at 16).
func (e *Engine) Run(ctx workflow.Context, in *RunInput) (*Status, error) {
	if in == nil {
		in = &RunInput{}
	}
	r, ctx, cancelled, err := e.begin(ctx, in)
	if err != nil {
		return nil, err
	}
	if r.drive(ctx, in.Plan.Steps, in.Plan.Mode.Steps, cancelled) {
		return nil, r.continueRun(ctx, in)
	}
	return r.end(ctx)
}

// end finishes the run and records its duration. Kept out of Run, whose
// frame sits under every wait of the run (see begin).
//
//go:noinline
func (r *run) end(ctx workflow.Context) (*Status, error) {
	st, err := r.finish(ctx)
	r.releaseLock(ctx)
	r.flushMirror(ctx)
	recordFinished(ctx, r.status)
	return st, err
}

// begin sets the run up from its input and starts listening.
//
//go:noinline
func (e *Engine) begin(ctx workflow.Context, in *RunInput) (*run, workflow.Context, workflow.ReceiveChannel, error) {
	engine, cfg, pinned := e.resolveEngine(ctx, in.EngineVersion, in.Engine, in.RecordEngine)
	if in.NameFromID && engine >= engineNamesFromID {
		nameFromID(ctx, in)
	}
	ctx, cancelled := cancelAsTerminate(ctx, engine)
	state := in.State
	if in.Restart != nil && state == nil {
		var err error
		state, err = restartState(&in.Plan, in.Restart, workflow.Now(ctx), workflow.GetInfo(ctx).WorkflowExecution.RunID)
		if err != nil {
			return nil, nil, nil, temporal.NewNonRetryableApplicationError(err.Error(), "InvalidRestart", nil)
		}
	}
	r := newRun(ctx, cfg, &in.Plan, state, "")
	r.engine, r.pinned = engine, pinned
	if err := r.start(ctx); err != nil {
		return nil, nil, nil, err
	}
	var mirrored *stepio.ObjectStatus
	if in.State != nil {
		mirrored = in.State.Mirrored
		r.lockAsked, r.lockHeld = in.State.LockAsked, in.State.LockHeld
	}
	r.startMirror(ctx, in.Object, mirrored)
	if in.State == nil {
		recordInitialized(ctx)
	}
	r.terminateOn(ctx, cancelled)
	return r, ctx, cancelled, nil
}

// nameFromID names a scheduled run after its workflow ID, once: the name
// is carried on from there.
func nameFromID(ctx workflow.Context, in *RunInput) {
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	in.Plan.Name = strings.TrimPrefix(id, in.Plan.Namespace+"/")
	in.NameFromID = false
	_ = workflow.UpsertTypedSearchAttributes(ctx, AttrName.ValueSet(in.Plan.Name))
}

// continueRun is the continue-as-new that carries the run on.
func (r *run) continueRun(ctx workflow.Context, in *RunInput) error {
	r.flushMirror(ctx)
	in.State, in.Restart = r.carried(ctx), nil
	in.State.Mirrored = r.mirrored()
	in.State.LockAsked, in.State.LockHeld = r.lockAsked, r.lockHeld
	if r.pinned {
		cfg := r.cfg
		in.Engine = &cfg
	}
	in.EngineVersion = r.handedOn()
	return workflow.NewContinueAsNewError(ctx, WorkflowName, in)
}

func newRun(ctx workflow.Context, cfg Config, plan *translator.Plan, state *State, group string) *run {
	r := &run{
		cfg:       cfg,
		plan:      plan,
		group:     group,
		steps:     map[string]*StepStatus{},
		producers: map[string][]*StepStatus{},
		outputs:   map[string]any{},
		loops:     map[string]*stepLoop{},
		logs:      map[string][]string{},
		vars:      map[string]any{},
		woken:     map[string]bool{},
		groupSeq:  map[string]int{},
		children:  map[string]workflow.ChildWorkflowFuture{},
		running:   map[string]bool{},
		groupDone: map[string]*GroupResult{},
		lost:      map[string]bool{},
	}
	r.stepCtx, r.cancelStep = workflow.WithCancel(ctx)
	runID := workflow.GetInfo(ctx).WorkflowExecution.RunID
	if state != nil {
		st := state.Status
		r.status = &st
		r.suspended, r.resumeGen, r.publishSeq = state.Suspended, state.ResumeGen, state.PublishSeq
		r.published = state.Published
		for k, v := range state.Outputs {
			r.outputs[k] = v
		}
		for k, v := range state.Loops {
			r.loops[k] = v
		}
		for k, v := range state.Logs {
			r.logs[k] = v
		}
		for k, v := range state.Vars {
			r.vars[k] = v
		}
	} else {
		r.status = &Status{
			Phase:     RunExecuting,
			Mode:      plan.Mode.Steps + "-" + plan.Mode.SubSteps,
			StartTime: workflow.Now(ctx),
			Steps:     newStatuses(plan.Steps, runID),
		}
	}
	var index func(sts []StepStatus, steps []translator.Step)
	index = func(sts []StepStatus, steps []translator.Step) {
		for i := range sts {
			r.steps[sts[i].Name] = &sts[i]
			for _, o := range steps[i].Outputs {
				r.producers[o.Name] = append(r.producers[o.Name], &sts[i])
			}
			if len(steps[i].SubSteps) == len(sts[i].SubSteps) {
				index(sts[i].SubSteps, steps[i].SubSteps)
			}
		}
	}
	index(r.status.Steps, plan.Steps)
	return r
}

// start registers the query and signal handlers and pins the engine
// behaviour this execution uses. Histories recorded before a behaviour
// existed replay with the old one.
func (r *run) start(ctx workflow.Context) error {
	r.childGroups = since(ctx, r.engine, "group-child-workflow")
	r.workflowRetries = since(ctx, r.engine, "workflow-retries")
	r.groupInputs = since(ctx, r.engine, "dag-group-inputs")
	r.definitionDigests = since(ctx, r.engine, "definition-digests")
	r.pureLocal = since(ctx, r.engine, "pure-steps-local")
	if r.engine >= 1 {
		r.phase = startedPhase(ctx)
	}
	if r.group == "" {
		r.outliveRuns = since(ctx, r.engine, "groups-outlive-runs")
		r.chain = workflow.GetInfo(ctx).FirstRunID
		r.markRunningGroups()
	}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (*Status, error) { return r.snapshot(), nil }); err != nil {
		return err
	}
	if err := workflow.SetQueryHandler(ctx, QueryLogs, func() (map[string][]string, error) { return r.logs, nil }); err != nil {
		return err
	}
	if err := workflow.SetQueryHandler(ctx, QueryVars, func() (map[string]any, error) { return r.vars, nil }); err != nil {
		return err
	}
	if err := workflow.SetQueryHandler(ctx, QueryDebug, func() (map[string]*StepExecution, error) { return r.executions, nil }); err != nil {
		return err
	}
	r.listen(ctx)
	r.refresh(ctx)
	return nil
}

// drive runs the steps to the end. It returns true, leaving the steps where
// they are, when the run should continue as new: Temporal suggests it and
// nothing is under way (every step is waiting on a durable timer, a
// suspension or its dependencies). From engine version 2 the coroutine
// that drives also receives the signals and the cancellation: a cached
// run keeps two coroutines instead of four.
func (r *run) drive(ctx workflow.Context, steps []translator.Step, mode string, cancelled workflow.ReceiveChannel) bool {
	done := false
	workflow.Go(ctx, func(ctx workflow.Context) {
		if !r.wantsLock() || r.takeLock(ctx) {
			r.runSteps(ctx, steps, r.pointers(r.status.Steps), mode)
		}
		done = true
	})
	if r.engine < engineOneCoroutineListens {
		_ = workflow.Await(ctx, func() bool { return done || r.shouldContinueAsNew(ctx) })
		return !done
	}
	for {
		cancel, signal := false, false
		_ = workflow.Await(ctx, func() bool {
			cancel, signal = r.cancelArrived(cancelled), r.signalsPending(ctx)
			return cancel || signal || done || r.shouldContinueAsNew(ctx)
		})
		switch {
		case cancel:
			r.terminateOnCancel(ctx)
		case signal:
			r.receiveSignal(ctx)
		default:
			return !done
		}
	}
}

func (r *run) shouldContinueAsNew(ctx workflow.Context) bool {
	return r.childGroups && r.inFlight == 0 && len(r.groupDone) == 0 && !r.terminated &&
		workflow.GetInfo(ctx).GetContinueAsNewSuggested() && !r.signalsPending(ctx)
}

// markRunningGroups notes the groups carried running into this execution:
// their child workflows are under way and report here.
func (r *run) markRunningGroups() {
	if !r.outliveRuns {
		return
	}
	for i, s := range r.plan.Steps {
		if s.IsGroup() && r.status.Steps[i].Phase == StepRunning {
			r.running[s.Name] = true
		}
	}
}

// state is what the next execution continues from.
func (r *run) state() *State {
	return &State{
		Status:     *r.snapshotRaw(),
		Outputs:    r.outputs,
		Loops:      r.loops,
		Logs:       r.logs,
		Suspended:  r.suspended,
		ResumeGen:  r.resumeGen,
		PublishSeq: r.publishSeq,
	}
}

// pinned is the engine settings a run keeps to: given, or recorded in
// its history from the worker's at its first execution. Runs started
// before the "pinned-engine" change use the worker's, as they did.
func (e *Engine) pinned(ctx workflow.Context, given *Config, engine workflow.Version) (Config, bool) {
	if given != nil {
		return *given, true
	}
	if !since(ctx, engine, "pinned-engine") {
		return e.Config, false
	}
	var cfg Config
	if err := workflow.SideEffect(ctx, func(workflow.Context) any { return e.Config }).Get(&cfg); err != nil {
		return e.Config, false
	}
	return cfg, true
}

// carried is the state a continue-as-new hands on. Runs started before
// the "carry-vars" change lost their variables here; they keep doing so,
// so their histories replay.
func (r *run) carried(ctx workflow.Context) *State {
	st := r.state()
	if since(ctx, r.engine, "carry-vars") {
		st.Vars = r.vars
	}
	if r.chain != "" && r.group != "" {
		st.Published = r.published
	}
	return st
}

// loop is the step's execute-loop state.
func (r *run) loop(name string) *stepLoop {
	lp, ok := r.loops[name]
	if !ok {
		lp = &stepLoop{}
		r.loops[name] = lp
	}
	return lp
}

// newStatuses lists every step as pending, so status shows the whole run.
func newStatuses(steps []translator.Step, runID string) []StepStatus {
	out := make([]StepStatus, len(steps))
	for i, s := range steps {
		out[i] = StepStatus{ID: stepID(runID, s.Name), Name: s.Name, Type: s.Type, Alias: s.Alias, Phase: StepPending,
			SubSteps: newStatuses(s.SubSteps, runID)}
		if len(s.SubSteps) == 0 {
			out[i].SubSteps = nil
		}
	}
	return out
}

// stepID is stable for a step of a run, and differs between runs.
func stepID(runID, name string) string {
	h := fnv.New64a()
	h.Write([]byte(runID + "/" + name))
	return fmt.Sprintf("%s-%010x", name, h.Sum64()&0xffffffffff)
}

func (r *run) pointers(sts []StepStatus) []*StepStatus {
	out := make([]*StepStatus, len(sts))
	for i := range sts {
		out[i] = &sts[i]
	}
	return out
}

// snapshotRaw is a copy of the status as the run holds it.
func (r *run) snapshotRaw() *Status {
	cp := *r.status
	cp.Steps = copySteps(r.status.Steps)
	return &cp
}

// snapshot is a copy of the status with derived fields (a running group's
// phase) filled in. It must not change the run's state: queries call it, and
// replays do not.
func (r *run) snapshot() *Status {
	cp := r.snapshotRaw()
	for i := range cp.Steps {
		if st := &cp.Steps[i]; st.SubSteps != nil && st.Phase == StepRunning {
			switch p := groupPhase(st.SubSteps); p {
			case StepSuspending, StepRunning:
				st.Phase = p
			}
		}
	}
	return cp
}

func copySteps(in []StepStatus) []StepStatus {
	if in == nil {
		return nil
	}
	out := make([]StepStatus, len(in))
	for i, s := range in {
		s.SubSteps = copySteps(s.SubSteps)
		out[i] = s
	}
	return out
}

// refresh recomputes the run phase and mirrors it into the search attribute.
func (r *run) refresh(ctx workflow.Context) {
	phase := RunExecuting
	switch {
	case r.terminated:
		phase = RunTerminated
	case r.suspended || r.anyStep(StepSuspending):
		phase = RunSuspending
	case r.queued != "":
		phase = RunPending
	}
	if !r.status.Finished {
		r.status.Phase = phase
		r.status.Suspend = phase == RunSuspending
		if r.plan.Concurrency != nil && r.group == "" {
			r.status.Message = r.queued
		}
	}
	r.status.Terminated = r.terminated
	r.statusChanged()
	r.showDetails(ctx)
	if r.status.Phase != r.phase {
		r.phase = r.status.Phase
		// Without the attribute registered the upsert fails the workflow
		// task; `velaflow dev` and the test harness register it.
		_ = workflow.UpsertTypedSearchAttributes(ctx, AttrPhase.ValueSet(r.phase))
	}
	if r.group != "" {
		r.publish(ctx)
	}
}

func (r *run) anyStep(phase string) bool {
	for _, st := range r.steps {
		if st.Phase == phase {
			return true
		}
	}
	return false
}

// finish sets the final phase and returns the workflow's result.
func (r *run) finish(ctx workflow.Context) (*Status, error) {
	var failed []*StepStatus
	allTerminated := true
	for i := range r.status.Steps {
		if st := &r.status.Steps[i]; st.Phase == StepFailed {
			failed = append(failed, st)
			if st.Reason != ReasonTerminate {
				allTerminated = false
			}
		}
	}
	now := workflow.Now(ctx)
	r.status.EndTime = &now
	r.status.Finished = true
	r.status.Suspend = false
	switch {
	case r.terminated || (len(failed) > 0 && allTerminated):
		r.status.Phase, r.status.Terminated = RunTerminated, true
		r.status.Message = "terminated"
	case r.refused != "":
		r.status.Phase, r.status.Message = RunFailed, r.refused
	case len(failed) > 0:
		r.status.Phase = RunFailed
		r.status.Message = fmt.Sprintf("step %s failed (%s): %s", failed[0].Name, failed[0].Reason, failed[0].Message)
	default:
		r.status.Phase = RunSucceeded
	}
	r.refresh(ctx)
	if r.status.Phase == RunSucceeded {
		return r.snapshot(), nil
	}
	return nil, temporal.NewNonRetryableApplicationError(r.status.Message, FailureType, nil, r.snapshot())
}
