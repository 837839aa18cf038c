package workflows

import (
	"encoding/json"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/workflow"

	"github.com/velaflow/velaflow/cuedefs"
	"github.com/velaflow/velaflow/translator"
)

// runGroup runs a step-group's sub-steps in a child workflow with ID
// <run-id>/<group>, so the group has its own history. The child reports
// its sub-steps' statuses as they change and returns them with the outputs
// they produced.
func (r *run) runGroup(ctx workflow.Context, s translator.Step, st *StepStatus) {
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
	if !allPending(st.SubSteps) { // a restart kept some sub-steps' results
		in.State = &State{Status: Status{Phase: RunExecuting, Mode: s.Mode, StartTime: now, Steps: copySteps(st.SubSteps)}, Outputs: r.outputs}
	}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:        workflow.GetInfo(ctx).WorkflowExecution.ID + "/" + s.Name,
		TaskQueue:         workflow.GetInfo(ctx).TaskQueueName,
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_TERMINATE,
		StaticSummary:     "step-group " + s.Name,
	})
	r.inFlight++
	fut := workflow.ExecuteChildWorkflow(cctx, GroupWorkflowName, in)
	r.children[s.Name] = fut
	var res GroupResult
	err := fut.Get(ctx, &res)
	delete(r.children, s.Name)
	r.inFlight--

	end := workflow.Now(ctx)
	st.LastExecuteTime = &end
	if err != nil {
		st.Phase, st.Reason, st.Message = StepFailed, ReasonExecute, "the group's child workflow failed: "+err.Error()
		r.refresh(ctx)
		return
	}
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

// RunGroup is the child workflow of one step-group.
func (e *Engine) RunGroup(ctx workflow.Context, in GroupInput) (*GroupResult, error) {
	ctx, cancelled := cancelAsTerminate(ctx)
	cfg := e.Config
	if in.Engine != nil {
		cfg = *in.Engine
	}
	r := newRun(ctx, cfg, &in.Plan, in.State, in.Group)
	r.pinned = in.Engine != nil
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
	if err := r.start(ctx); err != nil {
		return nil, err
	}
	r.terminateOn(ctx, cancelled)
	if r.drive(ctx, in.Plan.Steps, in.Plan.Mode.Steps) {
		in.State = r.carried(ctx)
		return nil, workflow.NewContinueAsNewError(ctx, GroupWorkflowName, in)
	}
	res := &GroupResult{Steps: r.snapshotRaw().Steps, Outputs: map[string]any{}, TimedOut: r.timedOut, Logs: r.logs, Vars: r.vars}
	for _, st := range res.Steps {
		for k, v := range st.Outputs {
			res.Outputs[k] = v
		}
		if st.Reason == ReasonTimeout && r.deadline != nil && !workflow.Now(ctx).Before(*r.deadline) {
			res.TimedOut = true
		}
	}
	return res, nil
}

// publish sends the group's sub-step statuses to the parent run when they
// changed, so the run's status shows them live.
func (r *run) publish(ctx workflow.Context) {
	parent := workflow.GetInfo(ctx).ParentWorkflowExecution
	if parent == nil {
		return
	}
	steps := r.snapshotRaw().Steps
	key, _ := json.Marshal(fingerprint(steps))
	if string(key) == r.published {
		return
	}
	r.published = string(key)
	r.publishSeq++
	// Fire and forget: a parent that is gone has nothing to show.
	workflow.SignalExternalWorkflow(ctx, parent.ID, "", SignalGroupStatus, GroupStatus{Group: r.group, Steps: steps, Seq: r.publishSeq})
}

// fingerprint is what a status change that matters to a reader consists of.
func fingerprint(steps []StepStatus) []string {
	out := make([]string, 0, 3*len(steps))
	for _, s := range steps {
		out = append(out, s.Phase, s.Reason, s.Message)
	}
	return out
}

// applyGroupStatus shows a running group's sub-steps as its child reported.
func (r *run) applyGroupStatus(gs GroupStatus) {
	st, ok := r.steps[gs.Group]
	if !ok || st.Phase != StepRunning || len(gs.Steps) != len(st.SubSteps) {
		return // finished (its result is authoritative) or not a group
	}
	if _, running := r.children[gs.Group]; !running {
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
