package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/velaflow/velaflow/activities"
	"github.com/velaflow/velaflow/activities/ops"
	"github.com/velaflow/velaflow/translator"
)

// execute runs one step until it succeeds or fails: an activity per
// execution, durable timers between executions while it waits or after a
// provider error, and a durable suspension when its template suspends. A
// step with a timeout races a durable timer started at its first
// execution. Everything the loop needs to go on lives in the step's
// stepLoop, so a run that continues as new picks the step up where it was.
func (r *run) execute(ctx workflow.Context, s translator.Step, st *StepStatus, group string, inputs map[string]any) {
	lp := r.loop(s.Name)
	now := workflow.Now(ctx)
	if st.FirstExecuteTime == nil {
		st.FirstExecuteTime = &now
	}
	if st.Phase == StepPending {
		st.Phase, st.Reason, st.Message = StepRunning, "", ""
	}
	if lp.Backoff == 0 {
		lp.Backoff = r.cfg.WaitBackoffInitial
	}
	r.refresh(ctx)

	in := activities.StepInput{
		RunName: r.plan.Name, RunNamespace: r.plan.Namespace, GroupName: group,
		SessionID: st.ID, Step: withoutSubSteps(s), Context: r.plan.Context, Inputs: inputs,
	}
	if d, ok := r.plan.Definitions[s.Type]; ok {
		in.Definition = &d
	}

	actCtx, cancelAct := workflow.WithCancel(r.stepCtx)
	defer cancelAct()
	timedOut := false
	if dl := r.stepDeadline(s, st); dl != nil {
		if left := dl.Sub(now); left > 0 {
			tctx, cancelTimer := workflow.WithCancel(ctx)
			defer cancelTimer()
			timer := workflow.NewTimer(tctx, left)
			workflow.Go(ctx, func(ctx workflow.Context) {
				if timer.Get(ctx, nil) == nil {
					timedOut = true
					cancelAct()
				}
			})
		} else {
			timedOut = true
		}
	}
	interrupted := func() bool { return r.terminated || timedOut }

	for {
		_ = workflow.Await(ctx, func() bool { return !r.suspended || interrupted() })
		if interrupted() {
			t := workflow.Now(ctx)
			st.LastExecuteTime = &t
		}
		switch {
		case r.terminated:
			st.Phase, st.Reason, st.Message = StepFailed, ReasonTerminate, "terminated"
			r.refresh(ctx)
			return
		case timedOut:
			st.Phase, st.Reason, st.Message = StepFailed, ReasonTimeout, "timed out after "+s.Timeout
			if s.Timeout == "" {
				st.Message = "the group's timeout passed"
			}
			r.refresh(ctx)
			return
		case lp.Suspended:
			r.suspendStep(ctx, st, lp, interrupted)
			continue
		}
		lp.Executions++
		in.Memo, in.Resumed, in.Vars = lp.Memo, lp.Resumed, r.vars
		var res activities.StepResult
		r.inFlight++
		err := workflow.ExecuteActivity(r.activityContext(actCtx, s, lp.Executions), activities.ExecuteStepName, in).Get(ctx, &res)
		r.inFlight--
		t := workflow.Now(ctx)
		st.LastExecuteTime = &t
		if err != nil {
			if interrupted() {
				continue // reported at the top of the loop
			}
			if r.retryLater(ctx, s, st, lp, err, interrupted) {
				continue
			}
			r.refresh(ctx)
			return
		}
		r.remember(lp, res.Memo)
		if len(res.Logs) > 0 {
			r.logs[s.Name] = res.Logs
		}
		for _, path := range slices.Sorted(maps.Keys(res.Vars)) {
			ops.SetPath(r.vars, path, res.Vars[path])
		}
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
			// A wake signal (an object the step read changed) cuts the
			// backoff short.
			_, _ = workflow.AwaitWithTimeout(ctx, lp.Backoff, func() bool { return interrupted() || r.woken[s.Name] })
			delete(r.woken, s.Name)
			lp.Backoff = min(2*lp.Backoff, r.cfg.WaitBackoffMax)
		case activities.PhaseSuspend:
			lp.Suspended, lp.SuspendGen, lp.SuspendUntil = true, r.resumeGen, nil
			if d, err := time.ParseDuration(res.Duration); err == nil && d > 0 {
				until := t.Add(d)
				lp.SuspendUntil = &until
			}
		default:
			st.Phase, st.Reason, st.Message = StepFailed, ReasonExecute, fmt.Sprintf("unknown execution phase %q", res.Phase)
			r.refresh(ctx)
			return
		}
	}
}

// suspendStep holds the step suspended until a resume signal, the end of
// its duration, termination or its timeout.
func (r *run) suspendStep(ctx workflow.Context, st *StepStatus, lp *stepLoop, interrupted func() bool) {
	st.Phase, st.Reason = StepSuspending, ReasonSuspend
	r.refresh(ctx)
	done := func() bool { return r.resumeGen != lp.SuspendGen || interrupted() }
	if lp.SuspendUntil != nil {
		if left := lp.SuspendUntil.Sub(workflow.Now(ctx)); left > 0 {
			_, _ = workflow.AwaitWithTimeout(ctx, left, done)
		}
	} else {
		_ = workflow.Await(ctx, done)
	}
	if interrupted() {
		return
	}
	lp.Suspended, lp.SuspendUntil, lp.Resumed = false, nil, true
	lp.Backoff = r.cfg.WaitBackoffInitial
	st.Phase, st.Reason = StepRunning, ""
	r.refresh(ctx)
}

// activityContext sets one execution's options. Temporal retries an
// execution only when it did not report back (a worker crash, a timeout);
// errors of the step's operations come back to the workflow, which retries
// them itself so it can count them, keep their memo and show them.
func (r *run) activityContext(ctx workflow.Context, s translator.Step, n int) workflow.Context {
	limit, initial, maxBackoff := r.retryPolicy(s)
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		ActivityID:          fmt.Sprintf("%s#%d", s.Name, n),
		Summary:             s.Name + " (" + s.Type + ")",
		StartToCloseTimeout: r.cfg.StepExecutionTimeout,
		HeartbeatTimeout:    r.cfg.HeartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    initial,
			BackoffCoefficient: 2,
			MaximumInterval:    maxBackoff,
			MaximumAttempts:    limit,
		},
	})
}

// retryPolicy is the step's retry limit and backoff: its own `retry`, else
// the worker's.
func (r *run) retryPolicy(s translator.Step) (limit int32, initial, maxBackoff time.Duration) {
	limit, initial, maxBackoff = r.cfg.MaxStepErrorRetries, r.cfg.RetryInitial, r.cfg.RetryMax
	if rt := s.Retry; rt != nil {
		if rt.Limit > 0 {
			limit = rt.Limit
		}
		if d, err := time.ParseDuration(rt.Backoff); err == nil && d > 0 {
			initial = d
		}
		if d, err := time.ParseDuration(rt.MaxBackoff); err == nil && d > 0 {
			maxBackoff = d
		}
	}
	return limit, initial, max(initial, maxBackoff)
}

// retryLater handles a failed execution. A provider error is retried after
// a durable backoff until the step's limit; it returns true when the step
// should execute again. Anything else fails the step at once.
func (r *run) retryLater(ctx workflow.Context, s translator.Step, st *StepStatus, lp *stepLoop, err error, interrupted func() bool) bool {
	var app *temporal.ApplicationError
	if !r.workflowRetries || !errors.As(err, &app) || app.Type() != activities.ReasonExecute {
		r.stepFailed(st, err)
		return false
	}
	var memo map[string]json.RawMessage
	if app.HasDetails() && app.Details(&memo) == nil {
		r.remember(lp, memo)
	}
	lp.Failures++
	limit, initial, maxBackoff := r.retryPolicy(s)
	if lp.Failures >= int(limit) {
		st.Phase, st.Reason = StepFailed, ReasonFailedAfterRetries
		st.Message = fmt.Sprintf("failed %d times, last: %s", lp.Failures, app.Message())
		return false
	}
	pause := initial
	for i := 1; i < lp.Failures && pause < maxBackoff; i++ {
		pause *= 2
	}
	pause = min(pause, maxBackoff)
	st.Phase, st.Reason = StepRunning, ReasonExecute
	st.Message = fmt.Sprintf("execution failed (%d of %d), retrying in %s: %s", lp.Failures, limit, pause, app.Message())
	r.refresh(ctx)
	_, _ = workflow.AwaitWithTimeout(ctx, pause, interrupted)
	return true
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
		case activities.ReasonExecuteFinal: // retrying cannot cure it
			st.Reason = ReasonExecute
		default: // a provider error, retried until the limit
			st.Reason = ReasonFailedAfterRetries
		}
		return
	}
	st.Reason, st.Message = ReasonFailedAfterRetries, err.Error()
}

func (r *run) remember(lp *stepLoop, memo map[string]json.RawMessage) {
	if len(memo) == 0 {
		return
	}
	if lp.Memo == nil {
		lp.Memo = map[string]json.RawMessage{}
	}
	for k, v := range memo {
		lp.Memo[k] = v
	}
}

func withoutSubSteps(s translator.Step) translator.Step {
	s.SubSteps = nil
	return s
}
