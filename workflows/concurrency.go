package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/velaflow/velaflow/stepio"
)

// A run with spec.concurrency (engine version 6) asks the key's lock for
// it before its first step, and gives it back when it ends: Queue waits
// (phase pending, the message naming the holder), Replace has the holder
// terminated, Reject fails the run at once.

// wantsLock: the run must hold its key before its steps.
func (r *run) wantsLock() bool {
	return r.group == "" && r.plan.Concurrency != nil && r.engine >= engineConcurrency && !r.lockHeld
}

// holder is the run as its lock knows it.
func (r *run) holder(ctx workflow.Context) stepio.LockHolder {
	return stepio.LockHolder{WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID, Chain: workflow.GetInfo(ctx).FirstRunID}
}

// takeLock gets the run its key, waiting in line if need be. It returns
// false when the run must not run its steps: rejected, or terminated
// while it waited.
func (r *run) takeLock(ctx workflow.Context) bool {
	c := r.plan.Concurrency
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		Summary:             "acquire concurrency key " + c.Key + " (" + c.Policy + ")",
	})
	news := workflow.GetSignalChannel(ctx, LockNewsSignal)
	var a stepio.LockAnswer
	r.inFlight++
	err := workflow.ExecuteActivity(actx, stepio.AcquireLockName, stepio.AcquireRequest{
		Key: c.Key, Holder: r.holder(ctx), Policy: c.Policy, TaskQueue: workflow.GetInfo(ctx).TaskQueueName,
	}).Get(ctx, &a)
	r.inFlight--
	for err == nil && !a.Granted && !a.Rejected && !r.terminated {
		r.queued = fmt.Sprintf("waiting for run %s to finish (concurrency key %s, %s in line)", a.Holder, c.Key, ordinal(a.Position))
		r.refresh(ctx)
		_ = workflow.Await(ctx, func() bool { return news.Len() > 0 || r.terminated })
		if news.Len() > 0 {
			news.Receive(ctx, &a)
		}
	}
	r.queued = ""
	switch {
	case err != nil:
		r.refused = "cannot acquire concurrency key " + c.Key + ": " + err.Error()
	case a.Rejected:
		r.refused = fmt.Sprintf("rejected: run %s holds concurrency key %s (policy Reject)", a.Holder, c.Key)
	}
	r.lockHeld = a.Granted
	r.lockAsked = true
	r.refresh(ctx)
	return a.Granted && !r.terminated
}

// releaseLock gives the key back when the run ends, or takes the run out
// of the line when it ended waiting.
func (r *run) releaseLock(ctx workflow.Context) {
	if !r.lockAsked || r.plan.Concurrency == nil {
		return
	}
	// The lock may have ended (it lost track of a run that ended long
	// ago): then there is nothing to give back.
	_ = workflow.SignalExternalWorkflow(ctx, stepio.LockID(r.plan.Concurrency.Key), "", SignalLockRelease, r.holder(ctx)).Get(ctx, nil)
}

func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return fmt.Sprintf("%d%s", n, suffix)
}
