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

	"github.com/velaflow/velaflow/stepio"
	"github.com/velaflow/velaflow/translator"
)

// execute runs one step until it succeeds or fails: an activity per
// execution, durable timers between executions while it waits or after a
// provider error, and a durable suspension when its template suspends. A
// step with a timeout races a durable timer started at its first
// execution. Everything the loop needs to go on lives in the step's
// stepLoop, so a run that continues as new picks the step up where it was.
func (r *run) execute(ctx workflow.Context, s translator.Step, st *StepStatus, group string, inputs map[string]any) {
	x := r.beginStep(ctx, s, st, group, inputs)
	actCtx, cancelAct := workflow.WithCancel(r.stepCtx)
	defer cancelAct()
	x.actCtx = actCtx
	defer r.armTimeout(ctx, x, cancelAct)()
	for {
		_ = workflow.Await(ctx, func() bool { return !r.suspended || x.interrupted() })
		if r.endInterrupted(ctx, x) {
			return
		}
		if x.lp.Suspended {
			r.suspendStep(ctx, st, x.lp, x.interrupted)
			continue
		}
		res, err := r.executeOnce(ctx, x)
		if err != nil {
			if x.interrupted() || r.retryLater(ctx, s, st, x.lp, err, x.interrupted) {
				continue // an interruption is reported at the top of the loop
			}
			r.refresh(ctx)
			return
		}
		if r.takeResult(ctx, x, res) {
			return
		}
	}
}

// stepExec is one step's execute loop under way.
type stepExec struct {
	s        translator.Step
	st       *StepStatus
	lp       *stepLoop
	in       stepio.Input
	actCtx   workflow.Context
	timedOut bool
	run      *run
}

func (x *stepExec) interrupted() bool { return x.run.terminated || x.timedOut }

// beginStep marks the step running and prepares its executions' input.
func (r *run) beginStep(ctx workflow.Context, s translator.Step, st *StepStatus, group string, inputs map[string]any) *stepExec {
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
	in := stepio.Input{
		RunName: r.plan.Name, RunNamespace: r.plan.Namespace, GroupName: group,
		SessionID: st.ID, Step: withoutSubSteps(s), Context: r.plan.Context, Inputs: inputs, Debug: r.plan.Debug,
	}
	if d, ok := r.plan.Definitions[s.Type]; ok {
		if r.definitionDigests {
			in.DefinitionDigest = d.Digest
		} else {
			in.Definition = &d
		}
	}
	return &stepExec{s: s, st: st, lp: lp, in: in, run: r}
}

// armTimeout starts the durable timer of the step's timeout (its own, or
// its group's), which cancels the execution under way when it fires. It
// returns what stops the timer.
func (r *run) armTimeout(ctx workflow.Context, x *stepExec, cancelAct workflow.CancelFunc) func() {
	dl := r.stepDeadline(x.s, x.st)
	if dl == nil {
		return func() {}
	}
	left := dl.Sub(workflow.Now(ctx))
	if left <= 0 {
		x.timedOut = true
		return func() {}
	}
	tctx, cancelTimer := workflow.WithCancel(ctx)
	timer := workflow.NewTimerWithOptions(tctx, left, workflow.TimerOptions{Summary: x.s.Name + ": timeout " + timeoutOf(x.s)})
	workflow.Go(ctx, func(ctx workflow.Context) {
		if timer.Get(ctx, nil) == nil {
			x.timedOut = true
			cancelAct()
		}
	})
	return cancelTimer
}

// endInterrupted fails the step when the run was terminated or the step's
// timeout passed, and tells whether it did.
func (r *run) endInterrupted(ctx workflow.Context, x *stepExec) bool {
	if !x.interrupted() {
		return false
	}
	t := workflow.Now(ctx)
	x.st.LastExecuteTime = &t
	if r.terminated {
		x.st.Phase, x.st.Reason, x.st.Message = StepFailed, ReasonTerminate, "terminated"
	} else {
		x.st.Phase, x.st.Reason, x.st.Message = StepFailed, ReasonTimeout, "timed out after "+x.s.Timeout
		if x.s.Timeout == "" {
			x.st.Message = "the group's timeout passed"
		}
	}
	r.refresh(ctx)
	return true
}

// executeOnce runs one execution of the step's template (an activity).
func (r *run) executeOnce(ctx workflow.Context, x *stepExec) (*stepio.Result, error) {
	x.lp.Executions++
	x.st.Until = nil
	x.in.Memo, x.in.Resumed, x.in.Vars = x.lp.Memo, x.lp.Resumed, r.vars
	var res stepio.Result
	r.inFlight++
	var exec workflow.Future
	if r.runsLocally(x.s) {
		exec = workflow.ExecuteLocalActivity(r.localActivityContext(x.actCtx, x.s), stepio.ExecuteStepName, x.in)
	} else {
		exec = workflow.ExecuteActivity(r.activityContext(x.actCtx, x.s, x.lp.Executions), stepio.ExecuteStepName, x.in)
	}
	err := exec.Get(ctx, &res)
	r.inFlight--
	r.noteExecution(x, &res, err)
	t := workflow.Now(ctx)
	x.st.LastExecuteTime = &t
	return &res, err
}

// takeResult applies an execution's result: the step succeeds, waits
// (a durable timer a wake signal cuts short) or suspends. It tells
// whether the step is over.
func (r *run) takeResult(ctx workflow.Context, x *stepExec, res *stepio.Result) bool {
	st, lp := x.st, x.lp
	r.remember(lp, res.Memo)
	if len(res.Logs) > 0 {
		r.logs[x.s.Name] = res.Logs
	}
	for _, path := range slices.Sorted(maps.Keys(res.Vars)) {
		stepio.SetPath(r.vars, path, res.Vars[path])
	}
	st.Message = res.Message
	switch res.Phase {
	case stepio.PhaseSucceeded:
		st.Phase, st.Reason = StepSucceeded, ""
		if len(res.Outputs) > 0 {
			st.Outputs = res.Outputs
			for k, v := range res.Outputs {
				r.outputs[k] = v
			}
		}
		r.refresh(ctx)
		return true
	case stepio.PhaseWait:
		st.Phase, st.Reason = StepRunning, ReasonWait
		until := workflow.Now(ctx).Add(lp.Backoff)
		st.Until = &until
		r.refresh(ctx)
		name := x.s.Name
		_, _ = workflow.AwaitWithOptions(ctx, timerAwait(lp.Backoff, fmt.Sprintf("%s: wait %s (backoff)", name, lp.Backoff)),
			func() bool { return x.interrupted() || r.woken[name] })
		delete(r.woken, name)
		lp.Backoff = min(2*lp.Backoff, r.cfg.WaitBackoffMax)
		return false
	case stepio.PhaseSuspend:
		lp.Suspended, lp.SuspendGen, lp.SuspendUntil = true, r.resumeGen, nil
		if d, err := time.ParseDuration(res.Duration); err == nil && d > 0 {
			until := st.LastExecuteTime.Add(d)
			lp.SuspendUntil, st.Until = &until, &until
		}
		return false
	default:
		st.Phase, st.Reason, st.Message = StepFailed, ReasonExecute, fmt.Sprintf("unknown execution phase %q", res.Phase)
		r.refresh(ctx)
		return true
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
			until := lp.SuspendUntil.UTC().Format("15:04:05 UTC")
			_, _ = workflow.AwaitWithOptions(ctx, timerAwait(left, fmt.Sprintf("%s: suspended until %s", st.Name, until)), done)
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

// runsLocally tells whether the step's template calls only pure
// operations, so its executions run as local activities: in this worker,
// recorded as a marker, with no activity task through the server.
func (r *run) runsLocally(s translator.Step) bool {
	if !r.pureLocal {
		return false
	}
	d, ok := r.plan.Definitions[s.Type]
	if !ok || !d.OperationsKnown {
		return false
	}
	for _, op := range d.Operations {
		if !slices.Contains(r.cfg.PureOperations, op) {
			return false
		}
	}
	return true
}

func (r *run) localActivityContext(ctx workflow.Context, s translator.Step) workflow.Context {
	limit, initial, maxBackoff := r.retryPolicy(s)
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		Summary:                s.Name + " (" + s.Type + ")",
		ScheduleToCloseTimeout: r.cfg.StepExecutionTimeout,
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
	if !r.workflowRetries || !errors.As(err, &app) || app.Type() != stepio.ReasonExecute {
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
	recordRetry(ctx, s.Type)
	r.refresh(ctx)
	_, _ = workflow.AwaitWithOptions(ctx, timerAwait(pause, fmt.Sprintf("%s: retry %d of %d in %s", s.Name, lp.Failures+1, limit, pause)), interrupted)
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
		case stepio.ReasonRendering, stepio.ReasonAction, stepio.ReasonInput, stepio.ReasonOutput:
			st.Reason = app.Type()
		case stepio.ReasonExecuteFinal: // retrying cannot cure it
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

// timerAwait waits at most d, with a timer whose summary the Web UI shows.
func timerAwait(d time.Duration, summary string) workflow.AwaitOptions {
	return workflow.AwaitOptions{Timeout: d, TimerOptions: workflow.TimerOptions{Summary: summary}}
}

// timeoutOf is the step's timeout as written, or its group's.
func timeoutOf(s translator.Step) string {
	if s.Timeout != "" {
		return s.Timeout
	}
	return "of its group"
}
