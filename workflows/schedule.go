package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/velaflow/velaflow/translator"
)

// runSteps runs one level of steps: the run's, or a group's sub-steps.
func (r *run) runSteps(ctx workflow.Context, steps []translator.Step, sts []*StepStatus, mode string) {
	r.runLevel(ctx, &level{steps: steps, sts: sts, mode: mode, group: r.group})
}

func (r *run) runLevel(ctx workflow.Context, lvl *level) {
	if lvl.mode == translator.ModeDAG {
		r.runDAG(ctx, lvl)
		return
	}
	for i := range lvl.steps {
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

// ready tells whether the step's dependencies have finished and its inputs
// exist or can no longer appear. A step waiting for an input says so.
func (r *run) ready(lvl *level, i int) bool {
	if lvl.sts[i].Phase != StepPending {
		return true // under way when the run continued as new
	}
	for _, d := range lvl.steps[i].DependsOn {
		if j := lvl.index(d); j >= 0 && !lvl.sts[j].Finished() {
			return false
		}
	}
	inputs := lvl.steps[i].Inputs
	if r.groupInputs {
		inputs = inputsFromOutside(lvl.steps[i])
	}
	for _, in := range inputs {
		if _, ok := r.outputs[in.From]; !ok && !r.producersFinished(in.From) {
			lvl.sts[i].Message = "Pending on Input: " + in.From
			return false
		}
	}
	return true
}

// inputsFromOutside are a step's inputs and, for a group, the inputs of its
// sub-steps that no sibling sub-step produces: the group starts once they
// exist, as its sub-steps need them.
func inputsFromOutside(s translator.Step) []translator.Input {
	if !s.IsGroup() {
		return s.Inputs
	}
	inside := map[string]bool{}
	for _, sub := range s.SubSteps {
		for _, o := range sub.Outputs {
			inside[o.Name] = true
		}
	}
	out := append([]translator.Input(nil), s.Inputs...)
	for _, sub := range s.SubSteps {
		for _, in := range sub.Inputs {
			if !inside[in.From] {
				out = append(out, in)
			}
		}
	}
	return out
}

func (r *run) producersFinished(output string) bool {
	for _, st := range r.producers[output] {
		if !st.Finished() {
			return false
		}
	}
	return true
}

// runOne decides whether the step runs, then runs it (or its group). A
// step already under way (the run continued as new) goes on where it was;
// a finished one (kept by a restart) is left alone.
func (r *run) runOne(ctx workflow.Context, lvl *level, i int) {
	s, st := lvl.steps[i], lvl.sts[i]
	if st.Finished() {
		return
	}
	inputs, missing := r.inputsOf(s)
	if st.Phase == StepPending {
		if r.deadline != nil && !workflow.Now(ctx).Before(*r.deadline) {
			r.timedOut = true
			r.markSkipped(st, "skipped: the group's timeout passed")
			r.refresh(ctx)
			return
		}
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
	}
	switch {
	case s.IsGroup() && r.childGroups:
		r.runGroup(ctx, s, st)
	case s.IsGroup():
		r.runGroupInline(ctx, s, st)
	default:
		r.execute(ctx, s, st, lvl.group, inputs)
	}
}

// markSkipped skips a step and, for a group, all its sub-steps.
func (r *run) markSkipped(st *StepStatus, why string) {
	st.Phase, st.Reason, st.Message = StepSkipped, ReasonSkip, why
	for i := range st.SubSteps {
		r.markSkipped(&st.SubSteps[i], why)
	}
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
