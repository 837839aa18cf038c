package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/velaflow/velaflow/activities"
	"github.com/velaflow/velaflow/translator"
)

// execute runs one step until it succeeds or fails: an activity per
// execution, durable timers between executions while it waits, and a
// durable suspension when its template suspends.
func (r *run) execute(ctx workflow.Context, s translator.Step, st *StepStatus, group string, inputs map[string]any) {
	now := workflow.Now(ctx)
	st.Phase, st.Reason, st.FirstExecuteTime = StepRunning, "", &now
	r.refresh(ctx)

	in := activities.StepInput{
		RunName: r.plan.Name, RunNamespace: r.plan.Namespace, GroupName: group,
		SessionID: st.ID, Step: withoutSubSteps(s), Context: r.plan.Context, Inputs: inputs,
	}
	if d, ok := r.plan.Definitions[s.Type]; ok {
		in.Definition = &d
	}
	backoff := r.cfg.WaitBackoffInitial
	for n := 1; ; n++ {
		r.awaitRunnable(ctx)
		if r.terminated {
			st.Phase, st.Reason, st.Message = StepFailed, ReasonTerminate, "terminated"
			return
		}
		in.Memo = r.memo[s.Name]
		var res activities.StepResult
		err := workflow.ExecuteActivity(r.activityContext(s, n), activities.ExecuteStepName, in).Get(ctx, &res)
		t := workflow.Now(ctx)
		st.LastExecuteTime = &t
		if err != nil {
			r.stepFailed(st, err)
			r.refresh(ctx)
			return
		}
		r.remember(s.Name, res.Memo)
		st.Message = res.Message
		switch res.Phase {
		case activities.PhaseSucceeded:
			st.Phase, st.Reason = StepSucceeded, ""
			if len(res.Outputs) > 0 {
				st.Outputs = res.Outputs
				for k, v := range res.Outputs {
					r.outputs[k] = v
				}
			}
			r.refresh(ctx)
			return
		case activities.PhaseWait:
			st.Phase, st.Reason = StepRunning, ReasonWait
			r.refresh(ctx)
			_, _ = workflow.AwaitWithTimeout(ctx, backoff, func() bool { return r.terminated })
			backoff = min(2*backoff, r.cfg.WaitBackoffMax)
		case activities.PhaseSuspend:
			r.suspendStep(ctx, st, res.Duration)
			in.Resumed = true
			backoff = r.cfg.WaitBackoffInitial
		default:
			st.Phase, st.Reason, st.Message = StepFailed, ReasonExecute, fmt.Sprintf("unknown execution phase %q", res.Phase)
			return
		}
	}
}

// suspendStep holds the step suspended until a resume signal, its duration,
// or termination.
func (r *run) suspendStep(ctx workflow.Context, st *StepStatus, duration string) {
	st.Phase, st.Reason = StepSuspending, ReasonSuspend
	r.refresh(ctx)
	gen := r.resumeGen
	done := func() bool { return r.resumeGen != gen || r.terminated }
	if d, err := time.ParseDuration(duration); err == nil && d > 0 {
		_, _ = workflow.AwaitWithTimeout(ctx, d, done)
	} else {
		_ = workflow.Await(ctx, done)
	}
	if !r.terminated {
		st.Phase, st.Reason = StepRunning, ""
	}
	r.refresh(ctx)
}

func (r *run) activityContext(s translator.Step, n int) workflow.Context {
	return workflow.WithActivityOptions(r.stepCtx, workflow.ActivityOptions{
		ActivityID:          fmt.Sprintf("%s#%d", s.Name, n),
		Summary:             s.Name + " (" + s.Type + ")",
		StartToCloseTimeout: r.cfg.StepExecutionTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    r.cfg.RetryInitial,
			BackoffCoefficient: 2,
			MaximumInterval:    r.cfg.RetryMax,
			MaximumAttempts:    r.cfg.MaxStepErrorRetries,
		},
	})
}

// stepFailed classifies an execution's error into the step's reason.
func (r *run) stepFailed(st *StepStatus, err error) {
	st.Phase = StepFailed
	var canceled *temporal.CanceledError
	if r.terminated && errors.As(err, &canceled) {
		st.Reason, st.Message = ReasonTerminate, "terminated"
		return
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		st.Message = app.Message()
		switch app.Type() {
		case activities.ReasonRendering, activities.ReasonAction, activities.ReasonInput, activities.ReasonOutput:
			st.Reason = app.Type()
		default: // a provider error, retried until the limit
			st.Reason = ReasonFailedAfterRetries
		}
		return
	}
	st.Reason, st.Message = ReasonFailedAfterRetries, err.Error()
}

func (r *run) remember(step string, memo map[string]json.RawMessage) {
	if len(memo) == 0 {
		return
	}
	if r.memo[step] == nil {
		r.memo[step] = map[string]json.RawMessage{}
	}
	for k, v := range memo {
		r.memo[step][k] = v
	}
}

func withoutSubSteps(s translator.Step) translator.Step {
	s.SubSteps = nil
	return s
}
