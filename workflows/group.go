package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/velaflow/velaflow/cuedefs"
	"github.com/velaflow/velaflow/translator"
)

// runGroup runs a step-group's sub-steps in a child workflow with ID
// <run-id>/<group>, so the group has its own history. The child reports
// its sub-steps' statuses as they change and ends with the outputs they
// produced. Since the "groups-outlive-runs" change the child survives the
// run's continue-as-new and sends its result to the run's workflow ID; a
// group carried running into this execution is only waited for.
func (r *run) runGroup(ctx workflow.Context, s translator.Step, st *StepStatus) {
	if !r.outliveRuns {
		r.runGroupTied(ctx, s, st)
		return
	}
	var fut workflow.ChildWorkflowFuture
	if st.Phase != StepRunning {
		var err error
		if fut, err = r.startGroup(ctx, s, st, enumspb.PARENT_CLOSE_POLICY_ABANDON); err != nil {
			r.groupFailed(ctx, st, err)
			return
		}
	}
	r.running[s.Name] = true
	_ = workflow.Await(ctx, func() bool {
		return r.groupDone[s.Name] != nil || r.lost[s.Name] || (fut != nil && fut.IsReady())
	})
	res := r.groupDone[s.Name]
	delete(r.groupDone, s.Name)
	delete(r.running, s.Name)
	if res == nil && fut == nil {
		delete(r.lost, s.Name)
		r.groupFailed(ctx, st, fmt.Errorf("it ended without reporting its result (terminated outside velaflow?)"))
		return
	}
	if res == nil { // the child ended before its report was handled
		res = &GroupResult{}
		if err := fut.Get(ctx, res); err != nil {
			r.groupFailed(ctx, st, err)
			return
		}
	}
	r.settleGroupResult(ctx, s, st, *res)
}

// runGroupTied is how runs before the "groups-outlive-runs" change run a
// group: a child closed with the run, so the run never continues as new
// while one runs.
func (r *run) runGroupTied(ctx workflow.Context, s translator.Step, st *StepStatus) {
	r.inFlight++
	fut, err := r.startGroup(ctx, s, st, enumspb.PARENT_CLOSE_POLICY_TERMINATE)
	if err == nil {
		r.children[s.Name] = fut
		var res GroupResult
		err = fut.Get(ctx, &res)
		delete(r.children, s.Name)
		if err == nil {
			r.inFlight--
			r.settleGroupResult(ctx, s, st, res)
			return
		}
	}
	r.inFlight--
	r.groupFailed(ctx, st, err)
}

// startGroup marks the group running and starts its child workflow. In
// the new behaviour it returns once the child has started: until then the
// run does not continue as new, as the start would be lost.
func (r *run) startGroup(ctx workflow.Context, s translator.Step, st *StepStatus, policy enumspb.ParentClosePolicy) (workflow.ChildWorkflowFuture, error) {
	now := workflow.Now(ctx)
	if st.FirstExecuteTime == nil {
		st.FirstExecuteTime = &now
	}
	st.Phase, st.Reason, st.Message = StepRunning, "", ""
	r.refresh(ctx)

	in := GroupInput{
		Plan:      r.groupPlan(s),
		Group:     s.Name,
		Outputs:   r.outputs,
		Others:    r.conditionStatus(func(name string) bool { return !hasSubStep(s, name) }),
		Deadline:  r.stepDeadline(s, st),
		Suspended: r.suspended,
		Vars:      r.vars,
	}
	if r.pinned {
		in.Engine = &r.cfg
	}
	in.EngineVersion = r.handedOn()
	if r.outliveRuns {
		in.Chain = r.chain
	}
	if !allPending(st.SubSteps) { // a restart kept some sub-steps' results
		in.State = &State{Status: Status{Phase: RunExecuting, Mode: s.Mode, StartTime: now, Steps: copySteps(st.SubSteps)}, Outputs: r.outputs}
	}
	id := workflow.GetInfo(ctx).WorkflowExecution.ID + "/" + s.Name
	opts := workflow.ChildWorkflowOptions{
		WorkflowID:        id,
		TaskQueue:         workflow.GetInfo(ctx).TaskQueueName,
		ParentClosePolicy: policy,
		StaticSummary:     "step-group " + s.Name,
	}
	if r.engine >= 1 { // the group starts with its phase: one upsert less
		opts.TypedSearchAttributes = temporal.NewSearchAttributes(AttrPhase.ValueSet(RunExecuting))
	}
	cctx := workflow.WithChildOptions(ctx, opts)
	fut := workflow.ExecuteChildWorkflow(cctx, GroupWorkflowName, in)
	if !r.outliveRuns {
		return fut, nil
	}
	r.inFlight++
	err := fut.GetChildWorkflowExecution().Get(ctx, nil)
	r.inFlight--
	var started *temporal.ChildWorkflowExecutionAlreadyStartedError
	if errors.As(err, &started) {
		err = fmt.Errorf("workflow %s, the group of an earlier run of this name, still runs (velaflow terminates it when it replaces or restarts a run; terminate it by hand when the earlier run was ended otherwise)", id)
	}
	return fut, err
}

// groupFailed fails a group whose child workflow could not start or
// failed.
func (r *run) groupFailed(ctx workflow.Context, st *StepStatus, err error) {
	end := workflow.Now(ctx)
	st.LastExecuteTime = &end
	st.Phase, st.Reason, st.Message = StepFailed, ReasonExecute, "the group's child workflow failed: "+err.Error()
	r.refresh(ctx)
}

// settleGroupResult takes in what the group's child workflow returned.
func (r *run) settleGroupResult(ctx workflow.Context, s translator.Step, st *StepStatus, res GroupResult) {
	end := workflow.Now(ctx)
	st.LastExecuteTime = &end
	if len(res.Steps) == len(st.SubSteps) {
		st.SubSteps = res.Steps
		for i := range st.SubSteps {
			r.steps[st.SubSteps[i].Name] = &st.SubSteps[i]
		}
		r.reindexProducers(s, st)
	}
	for k, v := range res.Outputs {
		r.outputs[k] = v
	}
	for k, v := range res.Logs {
		r.logs[k] = v
	}
	for k, v := range res.Vars { // top-level keys: what siblings put meanwhile stays
		r.vars[k] = v
	}
	r.settleGroup(st, res.TimedOut)
	r.refresh(ctx)
}

// reindexProducers points the producers of the group's outputs at the
// statuses the child returned.
func (r *run) reindexProducers(s translator.Step, st *StepStatus) {
	for i, sub := range s.SubSteps {
		for _, o := range sub.Outputs {
			list := r.producers[o.Name]
			for j, p := range list {
				if p.Name == sub.Name {
					list[j] = &st.SubSteps[i]
				}
			}
		}
	}
}

// settleGroup derives a finished group's phase and reason from its
// sub-steps.
func (r *run) settleGroup(st *StepStatus, timedOut bool) {
	st.Phase = groupPhase(st.SubSteps)
	if st.Phase == StepPending { // terminated before every sub-step ran
		st.Phase, st.Reason = StepFailed, ReasonTerminate
	}
	if timedOut {
		st.Phase, st.Reason, st.Message = StepFailed, ReasonTimeout, "the group's timeout passed"
		return
	}
	if st.Phase == StepFailed && st.Reason == "" {
		st.Reason = ReasonExecute
		for _, sub := range st.SubSteps {
			if sub.Phase == StepFailed {
				st.Reason, st.Message = sub.Reason, "sub-step "+sub.Name+" failed"
				break
			}
		}
	}
}

// groupPlan is the plan of a group's child workflow: its sub-steps, in the
// group's mode, with the definitions they use.
func (r *run) groupPlan(s translator.Step) translator.Plan {
	p := *r.plan
	p.Steps = s.SubSteps
	p.Mode = translator.Mode{Steps: s.Mode, SubSteps: s.Mode}
	p.Definitions = map[string]cuedefs.Definition{}
	for _, sub := range s.SubSteps {
		if d, ok := r.plan.Definitions[sub.Type]; ok {
			p.Definitions[sub.Type] = d
		}
	}
	return p
}

func hasSubStep(s translator.Step, name string) bool {
	for _, sub := range s.SubSteps {
		if sub.Name == name {
			return true
		}
	}
	return false
}

func allPending(sts []StepStatus) bool {
	for _, s := range sts {
		if s.Phase != StepPending {
			return false
		}
	}
	return true
}

// RunGroup is the child workflow of one step-group. Like Run, it keeps
// its frame shallow where the group waits (see Run).
func (e *Engine) RunGroup(ctx workflow.Context, in *GroupInput) (*GroupResult, error) {
	if in == nil {
		in = &GroupInput{}
	}
	r, ctx, cancelled, err := e.beginGroup(ctx, in)
	if err != nil {
		return nil, err
	}
	if r.drive(ctx, in.Plan.Steps, in.Plan.Mode.Steps, cancelled) {
		in.State = r.carried(ctx)
		return nil, workflow.NewContinueAsNewError(ctx, GroupWorkflowName, in)
	}
	return r.groupResult(ctx), nil
}

// beginGroup sets the group up from its input and starts listening.
//
//go:noinline
func (e *Engine) beginGroup(ctx workflow.Context, in *GroupInput) (*run, workflow.Context, workflow.ReceiveChannel, error) {
	engine := groupEngine(ctx, in.EngineVersion)
	ctx, cancelled := cancelAsTerminate(ctx, engine)
	cfg := e.Config
	if in.Engine != nil {
		cfg = *in.Engine
	}
	r := newRun(ctx, cfg, &in.Plan, in.State, in.Group)
	r.engine, r.pinned = engine, in.Engine != nil
	r.chain = in.Chain
	if in.State == nil {
		r.suspended = in.Suspended
		for k, v := range in.Outputs {
			r.outputs[k] = v
		}
		for k, v := range in.Vars {
			r.vars[k] = v
		}
	}
	r.others, r.deadline = in.Others, in.Deadline
	if r.chain != "" && r.published == "" { // the run knows what it started the group with
		r.published = phaseKey(r.status.Steps)
	}
	if err := r.start(ctx); err != nil {
		return nil, nil, nil, err
	}
	r.terminateOn(ctx, cancelled)
	if r.chain != "" {
		r.publishCoalesced(ctx)
	}
	return r, ctx, cancelled, nil
}

// groupResult is what the group reports when its steps are done.
func (r *run) groupResult(ctx workflow.Context) *GroupResult {
	res := &GroupResult{Steps: r.snapshotRaw().Steps, Outputs: map[string]any{}, TimedOut: r.timedOut, Logs: r.logs, Vars: r.vars}
	for _, st := range res.Steps {
		for k, v := range st.Outputs {
			res.Outputs[k] = v
		}
		if st.Reason == ReasonTimeout && r.deadline != nil && !workflow.Now(ctx).Before(*r.deadline) {
			res.TimedOut = true
		}
	}
	r.reportDone(ctx, res)
	return res
}

// reportDone sends the group's result to the run's workflow ID, which
// reaches whichever execution of the run is current. A run that is gone
// has nothing to receive it.
func (r *run) reportDone(ctx workflow.Context, res *GroupResult) {
	parent := workflow.GetInfo(ctx).ParentWorkflowExecution
	if r.chain == "" || parent == nil {
		return
	}
	_ = workflow.SignalExternalWorkflow(ctx, parent.ID, "", SignalGroupDone, GroupDone{Group: r.group, Chain: r.chain, Result: *res}).Get(ctx, nil)
}

// publish has the group's sub-step statuses sent to the parent run when
// they changed, so the run's status shows them live.
func (r *run) publish(ctx workflow.Context) {
	parent := workflow.GetInfo(ctx).ParentWorkflowExecution
	if parent == nil {
		return
	}
	steps := r.snapshotRaw().Steps
	if r.chain != "" {
		// The coalescing publisher sends what changed in phase or reason.
		r.publishWanted = phaseKey(steps) != r.published
		return
	}
	key, _ := json.Marshal(fingerprint(steps))
	if string(key) == r.published {
		return
	}
	r.published = string(key)
	r.publishSeq++
	// Fire and forget: a parent that is gone has nothing to show.
	workflow.SignalExternalWorkflow(ctx, parent.ID, "", SignalGroupStatus, GroupStatus{Group: r.group, Steps: steps, Seq: r.publishSeq})
}

// publishCoalesced sends the group's status to the run whenever a sub-step's
// phase or reason changed, one report at a time: changes made while a
// report is on its way go in the next one. When the run is gone the group
// ends terminated, as it would have with the run.
func (r *run) publishCoalesced(ctx workflow.Context) {
	parent := workflow.GetInfo(ctx).ParentWorkflowExecution
	if parent == nil {
		return
	}
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			_ = workflow.Await(ctx, func() bool { return r.publishWanted })
			r.publishWanted = false
			steps := r.snapshotRaw().Steps
			if phaseKey(steps) == r.published {
				continue
			}
			r.published = phaseKey(steps)
			r.publishSeq++
			r.inFlight++
			err := workflow.SignalExternalWorkflow(ctx, parent.ID, "", SignalGroupStatus,
				GroupStatus{Group: r.group, Steps: steps, Seq: r.publishSeq, Chain: r.chain}).Get(ctx, nil)
			r.inFlight--
			var gone *temporal.UnknownExternalWorkflowExecutionError
			if errors.As(err, &gone) && !r.terminated {
				r.terminated = true
				r.cancelStep()
				r.refresh(ctx)
			}
		}
	})
}

// fingerprint is what a status change that matters to a reader consists of
// (groups of runs before "groups-outlive-runs").
func fingerprint(steps []StepStatus) []string {
	out := make([]string, 0, 3*len(steps))
	for _, s := range steps {
		out = append(out, s.Phase, s.Reason, s.Message)
	}
	return out
}

// phaseKey is what the coalescing publisher reports changes of.
func phaseKey(steps []StepStatus) string {
	var b strings.Builder
	for _, s := range steps {
		b.WriteString(s.Phase + "/" + s.Reason + ";")
	}
	return b.String()
}

// applyGroupStatus shows a running group's sub-steps as its child reported.
func (r *run) applyGroupStatus(gs GroupStatus) {
	st, ok := r.steps[gs.Group]
	if !ok || st.Phase != StepRunning || len(gs.Steps) != len(st.SubSteps) {
		return // finished (its result is authoritative) or not a group
	}
	if !r.groupRunning(gs.Group, gs.Chain) {
		return
	}
	if gs.Seq != 0 { // reports without a number come from older engines
		if gs.Seq <= r.groupSeq[gs.Group] {
			return // an older report that arrived late
		}
		r.groupSeq[gs.Group] = gs.Seq
	}
	st.SubSteps = gs.Steps
	for i := range st.SubSteps {
		r.steps[st.SubSteps[i].Name] = &st.SubSteps[i]
	}
}

// applyGroupDone hands a group's result to the step that waits for it.
func (r *run) applyGroupDone(gd GroupDone) {
	if r.outliveRuns && r.groupRunning(gd.Group, gd.Chain) {
		res := gd.Result
		r.groupDone[gd.Group] = &res
	}
}

// groupRunning tells whether a report comes from a group of this run that
// is under way (not from a group of an earlier run of the same name).
func (r *run) groupRunning(group, chain string) bool {
	if !r.outliveRuns {
		_, ok := r.children[group]
		return ok
	}
	return r.running[group] && chain == r.chain
}

// stepDeadline is when a step (or group) times out: its timeout after its
// first execution, and never later than its group's.
func (r *run) stepDeadline(s translator.Step, st *StepStatus) *time.Time {
	var dl *time.Time
	if d, err := time.ParseDuration(s.Timeout); err == nil && d > 0 && st.FirstExecuteTime != nil {
		t := st.FirstExecuteTime.Add(d)
		dl = &t
	}
	if r.deadline != nil && (dl == nil || r.deadline.Before(*dl)) {
		dl = r.deadline
	}
	return dl
}

// runGroupInline runs a group's sub-steps inside the run itself: how runs
// recorded before groups became child workflows replay.
func (r *run) runGroupInline(ctx workflow.Context, s translator.Step, st *StepStatus) {
	now := workflow.Now(ctx)
	st.Phase, st.FirstExecuteTime = StepRunning, &now
	r.refresh(ctx)
	r.runLevel(ctx, &level{steps: s.SubSteps, sts: r.pointers(st.SubSteps), mode: s.Mode, group: s.Name})
	end := workflow.Now(ctx)
	st.LastExecuteTime = &end
	r.settleGroup(st, false)
	r.refresh(ctx)
}
