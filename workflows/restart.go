package workflows

import (
	"fmt"
	"time"

	"github.com/velaflow/velaflow/translator"
)

// restartState builds the state a run restarted from a failed step starts
// with: the previous results, except that the step, the steps after it (in
// StepByStep) or depending on it (dependsOn, inputs), and every step that
// did not finish or was skipped are pending again with their outputs
// cleared. A failed sub-step re-runs inside its group; the group runs
// again with its other sub-steps' results kept.
func restartState(plan *translator.Plan, rs *Restart, now time.Time, runID string) (*State, error) {
	if rs.Previous == nil {
		return nil, fmt.Errorf("restart from step %q: the previous status is missing", rs.Step)
	}
	steps := copySteps(rs.Previous.Steps)
	if len(steps) != len(plan.Steps) {
		return nil, fmt.Errorf("restart from step %q: the previous status has %d steps, the plan %d", rs.Step, len(steps), len(plan.Steps))
	}
	found := false
	for i := range plan.Steps {
		st := &steps[i]
		if plan.Steps[i].Name == rs.Step {
			found = true
			if err := mustHaveFailed(st); err != nil {
				return nil, err
			}
			resetLevel(plan.Steps, steps, plan.Mode.Steps, i, runID)
			break
		}
		for j, sub := range plan.Steps[i].SubSteps {
			if sub.Name != rs.Step || j >= len(st.SubSteps) {
				continue
			}
			found = true
			if err := mustHaveFailed(&st.SubSteps[j]); err != nil {
				return nil, err
			}
			resetLevel(plan.Steps[i].SubSteps, st.SubSteps, plan.Steps[i].Mode, j, runID)
			// The group runs again, keeping its other sub-steps' results;
			// whatever depends on the group re-runs in full.
			subs := st.SubSteps
			resetLevel(plan.Steps, steps, plan.Mode.Steps, i, runID)
			st.SubSteps = subs
		}
	}
	if !found {
		return nil, fmt.Errorf("restart: the run has no step %q", rs.Step)
	}
	outputs := map[string]any{}
	var collect func([]StepStatus)
	collect = func(sts []StepStatus) {
		for _, st := range sts {
			for k, v := range st.Outputs {
				outputs[k] = v
			}
			collect(st.SubSteps)
		}
	}
	collect(steps)
	return &State{
		Status:  Status{Phase: RunExecuting, Mode: rs.Previous.Mode, StartTime: now, Steps: steps},
		Outputs: outputs,
		Vars:    rs.Vars,
	}, nil
}

func mustHaveFailed(st *StepStatus) error {
	if st.Phase != StepFailed {
		return fmt.Errorf("restart: step %q is %s; only a failed step can be restarted (restart the whole run instead)", st.Name, st.Phase)
	}
	return nil
}

// resetLevel makes steps[from], and the siblings that come after or depend
// on it, pending again, with every unfinished or skipped sibling.
func resetLevel(plan []translator.Step, sts []StepStatus, mode string, from int, runID string) {
	reset := map[int]bool{from: true}
	index := map[string]int{}
	produces := map[string]int{}
	for i, s := range plan {
		index[s.Name] = i
		for _, o := range s.Outputs {
			produces[o.Name] = i
		}
	}
	for changed := true; changed; {
		changed = false
		for i, s := range plan {
			if reset[i] {
				continue
			}
			after := mode != translator.ModeDAG && i > from
			dep := false
			for _, d := range s.DependsOn {
				if j, ok := index[d]; ok && reset[j] {
					dep = true
				}
			}
			for _, in := range s.Inputs {
				if j, ok := produces[in.From]; ok && reset[j] {
					dep = true
				}
			}
			if p := sts[i].Phase; after || dep || p == StepSkipped || !sts[i].Finished() {
				reset[i], changed = true, true
			}
		}
	}
	for i := range plan {
		if reset[i] {
			fresh := newStatuses(plan[i:i+1], runID)[0]
			sts[i] = fresh
		}
	}
}
