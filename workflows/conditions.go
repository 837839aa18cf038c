package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/velaflow/velaflow/stepio"
)

// skip applies the step's `if`:
//   - "always" runs the step;
//   - empty runs it only if the steps before it went well: in StepByStep
//     without dependsOn, when no earlier sibling ended other than succeeded
//     or skipped; otherwise when every dependency, recursively, succeeded;
//   - anything else is a CUE expression, evaluated in a local activity.
func (r *run) skip(ctx workflow.Context, lvl *level, i int, inputs map[string]any) (bool, string) {
	s := lvl.steps[i]
	switch s.If {
	case "always":
		return false, ""
	case "":
		if lvl.mode != "DAG" && len(s.DependsOn) == 0 {
			for j := 0; j < i; j++ {
				if p := lvl.sts[j].Phase; p != StepSucceeded && p != StepSkipped {
					return true, "skipped because step " + lvl.sts[j].Name + " " + p
				}
			}
			return false, ""
		}
		if bad := r.unsucceededDependency(lvl, i, map[int]bool{}); bad != "" {
			return true, "skipped because dependency " + bad + " did not succeed"
		}
		return false, ""
	}
	ok, err := r.evaluate(ctx, s.Name, s.If, inputs)
	if err != nil {
		msg := err.Error()
		var app *temporal.ApplicationError
		if errors.As(err, &app) {
			msg = app.Message()
		}
		return true, "skipped: " + msg
	}
	if !ok {
		return true, "skipped: if " + s.If + " is false"
	}
	return false, ""
}

func (r *run) unsucceededDependency(lvl *level, i int, seen map[int]bool) string {
	for _, d := range lvl.steps[i].DependsOn {
		j := lvl.index(d)
		if j < 0 || seen[j] {
			continue
		}
		seen[j] = true
		if lvl.sts[j].Phase != StepSucceeded {
			return d
		}
		if bad := r.unsucceededDependency(lvl, j, seen); bad != "" {
			return bad
		}
	}
	return ""
}

// evaluate runs an `if` expression over status, inputs and context.
func (r *run) evaluate(ctx workflow.Context, step, expr string, inputs map[string]any) (bool, error) {
	status := map[string]any{}
	for name, fields := range r.conditionStatus(func(string) bool { return true }) {
		status[name] = fields
	}
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 30 * time.Second,
		Summary: "if of " + step + ": " + expr})
	var ok bool
	r.inFlight++
	defer func() { r.inFlight-- }()
	err := workflow.ExecuteLocalActivity(lctx, stepio.EvaluateConditionName, stepio.ConditionInput{
		Expr: expr, Status: status, Inputs: inputs, Context: r.templateContext(),
	}).Get(ctx, &ok)
	if r.engine >= engineIfResult {
		outcome := fmt.Sprint(ok)
		if err != nil {
			outcome = "cannot be evaluated"
		}
		summary := "if of " + step + ": " + expr + " → " + outcome
		_ = workflow.SideEffectWithOptions(ctx, workflow.SideEffectOptions{Summary: summary}, func(workflow.Context) any { return ok })
	}
	return ok, err
}

// templateContext is the run-level part of a template's context.
func (r *run) templateContext() map[string]any {
	c := map[string]any{"name": r.plan.Name, "namespace": r.plan.Namespace}
	for k, v := range r.plan.Context {
		c[k] = v
	}
	return c
}

// conditionStatus is `status` as `if` expressions see it: the steps this
// run knows that keep passes, and, in a group, the steps outside it.
func (r *run) conditionStatus(keep func(name string) bool) map[string]map[string]any {
	status := map[string]map[string]any{}
	for name, fields := range r.others {
		status[name] = fields
	}
	for name, st := range r.steps {
		if keep(name) {
			status[name] = st.conditionFields()
		}
	}
	return status
}
