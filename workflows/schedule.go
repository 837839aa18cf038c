package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/velaflow/velaflow/translator"
)

// runSteps runs one level of steps (the run's, or a group's sub-steps).
func (r *run) runSteps(ctx workflow.Context, steps []translator.Step, sts []*StepStatus, mode, group string) {
	lvl := &level{steps: steps, sts: sts, mode: mode, group: group}
	if mode == translator.ModeDAG {
		r.runDAG(ctx, lvl)
		return
	}
	for i := range steps {
		if r.terminated {
			return // the remaining steps stay pending
		}
		r.awaitRunnable(ctx)
		r.runOne(ctx, lvl, i)
	}
}

// level is one list of sibling steps.
type level struct {
	steps []translator.Step
	sts   []*StepStatus
	mode  string
	group string
}

func (l *level) index(name string) int {
	for i, s := range l.steps {
		if s.Name == name {
			return i
		}
	}
	return -1
}

// runDAG starts every step once its dependencies have finished and its
// inputs exist (or can no longer appear); ready steps run concurrently.
func (r *run) runDAG(ctx workflow.Context, lvl *level) {
	wg := workflow.NewWaitGroup(ctx)
	for i := range lvl.steps {
		wg.Add(1)
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer wg.Done()
			_ = workflow.Await(ctx, func() bool { return r.terminated || r.ready(lvl, i) })
			if r.terminated {
				return
			}
			r.awaitRunnable(ctx)
			r.runOne(ctx, lvl, i)
		})
	}
	wg.Wait(ctx)
}

func (r *run) ready(lvl *level, i int) bool {
	for _, d := range lvl.steps[i].DependsOn {
		if j := lvl.index(d); j >= 0 && !lvl.sts[j].Finished() {
			return false
		}
	}
	for _, in := range lvl.steps[i].Inputs {
		if _, ok := r.outputs[in.From]; !ok && !r.producersFinished(in.From) {
			return false
		}
	}
	return true
}

func (r *run) producersFinished(output string) bool {
	for _, st := range r.producers[output] {
		if !st.Finished() {
			return false
		}
	}
	return true
}

// runOne decides whether the step runs, then runs it (or its group).
func (r *run) runOne(ctx workflow.Context, lvl *level, i int) {
	s, st := lvl.steps[i], lvl.sts[i]
	inputs, missing := r.inputsOf(s)
	if skip, why := r.skip(ctx, lvl, i, inputs); skip {
		r.markSkipped(st, why)
		r.refresh(ctx)
		return
	}
	if missing != "" {
		r.markSkipped(st, "input "+missing+" is not available: no step produced it")
		r.refresh(ctx)
		return
	}
	if s.IsGroup() {
		r.runGroup(ctx, s, st)
		return
	}
	r.execute(ctx, s, st, lvl.group, inputs)
}

// markSkipped skips a step and, for a group, all its sub-steps.
func (r *run) markSkipped(st *StepStatus, why string) {
	st.Phase, st.Reason, st.Message = StepSkipped, ReasonSkip, why
	for i := range st.SubSteps {
		r.markSkipped(&st.SubSteps[i], why)
	}
}

// runGroup runs a step-group's sub-steps in the group's mode.
func (r *run) runGroup(ctx workflow.Context, s translator.Step, st *StepStatus) {
	now := workflow.Now(ctx)
	st.Phase, st.FirstExecuteTime = StepRunning, &now
	r.refresh(ctx)
	r.runSteps(ctx, s.SubSteps, r.pointers(st.SubSteps), s.Mode, s.Name)
	end := workflow.Now(ctx)
	st.LastExecuteTime = &end
	st.Phase = groupPhase(st.SubSteps)
	if st.Phase == StepPending { // terminated before every sub-step ran
		st.Phase, st.Reason = StepFailed, ReasonTerminate
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
	r.refresh(ctx)
}

// inputsOf collects the step's inputs; missing names the first input that
// has no value.
func (r *run) inputsOf(s translator.Step) (inputs map[string]any, missing string) {
	for _, in := range s.Inputs {
		v, ok := r.outputs[in.From]
		if !ok {
			if missing == "" {
				missing = in.From
			}
			continue
		}
		if inputs == nil {
			inputs = map[string]any{}
		}
		inputs[in.From] = v
	}
	return inputs, missing
}
