package workflows

import (
	"encoding/json"
	"fmt"
	"hash/fnv"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/velaflow/velaflow/translator"
)

// run is the state of one WorkflowRun execution.
type run struct {
	cfg    Config
	plan   *translator.Plan
	status *Status

	// steps indexes every step and sub-step status by name.
	steps map[string]*StepStatus
	// producers maps an output name to the steps declaring it.
	producers map[string][]*StepStatus
	outputs   map[string]any
	memo      map[string]map[string]json.RawMessage

	suspended  bool // suspended by the suspend signal
	resumeGen  int  // bumped by every resume signal
	terminated bool
	// stepCtx carries activity calls; terminate cancels it.
	stepCtx    workflow.Context
	cancelStep workflow.CancelFunc
	phase      string // last phase written to the search attribute
}

// Run interprets the plan. It returns the final status; a run that ends
// failed or terminated returns an ApplicationError of type FailureType
// whose details hold that status.
func (e *Engine) Run(ctx workflow.Context, plan translator.Plan) (*Status, error) {
	r := newRun(ctx, e.Config, &plan)
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (*Status, error) { return r.snapshot(), nil }); err != nil {
		return nil, err
	}
	r.listen(ctx)
	r.refresh(ctx)

	r.runSteps(ctx, plan.Steps, r.pointers(r.status.Steps), plan.Mode.Steps, "")
	return r.finish(ctx)
}

func newRun(ctx workflow.Context, cfg Config, plan *translator.Plan) *run {
	r := &run{
		cfg:       cfg,
		plan:      plan,
		steps:     map[string]*StepStatus{},
		producers: map[string][]*StepStatus{},
		outputs:   map[string]any{},
		memo:      map[string]map[string]json.RawMessage{},
	}
	r.stepCtx, r.cancelStep = workflow.WithCancel(ctx)
	runID := workflow.GetInfo(ctx).WorkflowExecution.RunID
	r.status = &Status{
		Phase:     RunExecuting,
		Mode:      plan.Mode.Steps + "-" + plan.Mode.SubSteps,
		StartTime: workflow.Now(ctx),
		Steps:     newStatuses(plan.Steps, runID),
	}
	var index func(sts []StepStatus, steps []translator.Step)
	index = func(sts []StepStatus, steps []translator.Step) {
		for i := range sts {
			r.steps[sts[i].Name] = &sts[i]
			for _, o := range steps[i].Outputs {
				r.producers[o.Name] = append(r.producers[o.Name], &sts[i])
			}
			index(sts[i].SubSteps, steps[i].SubSteps)
		}
	}
	index(r.status.Steps, plan.Steps)
	return r
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

// snapshot is a copy of the status with derived fields (a running group's
// phase) filled in. It must not change the run's state: queries call it, and
// replays do not.
func (r *run) snapshot() *Status {
	cp := *r.status
	cp.Steps = copySteps(r.status.Steps)
	for i := range cp.Steps {
		if st := &cp.Steps[i]; st.SubSteps != nil && st.Phase == StepRunning {
			switch p := groupPhase(st.SubSteps); p {
			case StepSuspending, StepRunning:
				st.Phase = p
			}
		}
	}
	return &cp
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
	}
	if !r.status.Finished {
		r.status.Phase = phase
		r.status.Suspend = phase == RunSuspending
	}
	r.status.Terminated = r.terminated
	if r.status.Phase != r.phase {
		r.phase = r.status.Phase
		// Without the attribute registered the upsert fails the workflow
		// task; `velaflow dev` and the test harness register it.
		_ = workflow.UpsertTypedSearchAttributes(ctx, AttrPhase.ValueSet(r.phase))
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
