package workflows

import (
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/velaflow/velaflow/stepio"
)

// The lock workflow of a concurrency key (spec.concurrency). Runs ask for
// the key with the acquire update (through the AcquireLock activity,
// which starts the lock if it is not running); the lock answers at once:
// granted, rejected, or queued behind the holder. A holder releases the
// key with a signal when it ends; a holder that ended without one
// (terminated by hand) is found by checking on it, while runs wait, every
// LockCheckEvery. The next in line is told with the LockNewsSignal, and
// so is every run still waiting, with its new place. The lock ends when
// no run holds or waits for the key.
const (
	// SignalLockRelease gives the key back, or leaves the line:
	// stepio.LockHolder.
	SignalLockRelease = "velaflow.lock-release"
	// LockNewsSignal tells a waiting run its news: stepio.LockAnswer.
	LockNewsSignal = "velaflow.lock-news"
	// LockCheckEvery is how often a lock with runs waiting checks that its
	// holder still runs.
	LockCheckEvery = 10 * time.Second
)

type lock struct {
	stepio.LockState
	mu workflow.Mutex
}

// Lock is the lock workflow.
func Lock(ctx workflow.Context, st stepio.LockState) error {
	l := &lock{LockState: st, mu: workflow.NewMutex(ctx)}
	if err := workflow.SetUpdateHandler(ctx, stepio.UpdateAcquire, l.acquire); err != nil {
		return err
	}
	release := workflow.GetSignalChannel(ctx, SignalLockRelease)
	for {
		check := false
		var timer workflow.Future
		cancelTimer := func() {}
		if len(l.Queue) > 0 && l.Holder != nil {
			var tctx workflow.Context
			tctx, cancelTimer = workflow.WithCancel(ctx)
			timer = workflow.NewTimerWithOptions(tctx, LockCheckEvery, workflow.TimerOptions{Summary: "check that " + l.Holder.WorkflowID + " still holds " + l.Key})
		}
		rearm, cont := false, false
		_ = workflow.Await(ctx, func() bool {
			check = timer != nil && timer.IsReady()
			rearm = timer == nil && len(l.Queue) > 0 && l.Holder != nil
			cont = l.continueAsNew(ctx, release)
			return release.Len() > 0 || check || rearm || l.idle(ctx) || cont
		})
		if !check {
			cancelTimer()
		}
		switch {
		case release.Len() > 0:
			var h stepio.LockHolder
			release.Receive(ctx, &h)
			l.release(ctx, h)
		case check:
			l.checkHolder(ctx)
		case rearm:
		case l.idle(ctx):
			return nil
		case cont:
			return workflow.NewContinueAsNewError(ctx, stepio.LockName, l.LockState)
		}
	}
}

// idle: nobody holds or waits, and nothing is being answered.
func (l *lock) idle(ctx workflow.Context) bool {
	return l.Holder == nil && len(l.Queue) == 0 && workflow.AllHandlersFinished(ctx)
}

func (l *lock) continueAsNew(ctx workflow.Context, release workflow.ReceiveChannel) bool {
	return workflow.GetInfo(ctx).GetContinueAsNewSuggested() && workflow.AllHandlersFinished(ctx) && release.Len() == 0
}

// acquire answers a run that asks for the key; asking again (a retried
// activity, a run's next execution) gets the same answer.
func (l *lock) acquire(ctx workflow.Context, a stepio.AcquireArgs) (stepio.LockAnswer, error) {
	if err := l.mu.Lock(ctx); err != nil {
		return stepio.LockAnswer{}, err
	}
	defer l.mu.Unlock()
	if l.Holder != nil && *l.Holder == a.Holder {
		return stepio.LockAnswer{Granted: true}, nil
	}
	if i := slices.Index(l.Queue, a.Holder); i >= 0 {
		return stepio.LockAnswer{Holder: l.Holder.WorkflowID, Position: i + 1}, nil
	}
	if l.Holder != nil && !holderAlive(ctx, *l.Holder) {
		l.Holder = nil
		l.handOn(ctx)
	}
	switch {
	case l.Holder == nil:
		l.Holder = &a.Holder
		return stepio.LockAnswer{Granted: true}, nil
	case a.Policy == "Reject":
		return stepio.LockAnswer{Rejected: true, Holder: l.Holder.WorkflowID}, nil
	case a.Policy == "Replace":
		lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 2 * time.Minute,
			Summary: "terminate " + l.Holder.WorkflowID + ": " + a.Holder.WorkflowID + " replaces it"})
		if err := workflow.ExecuteLocalActivity(lctx, stepio.TerminateHolderName, *l.Holder, a.Holder.WorkflowID, SignalTerminate).Get(ctx, nil); err != nil {
			return stepio.LockAnswer{}, err
		}
		l.Holder = &a.Holder
		l.tellWaiting(ctx)
		return stepio.LockAnswer{Granted: true}, nil
	default:
		l.Queue = append(l.Queue, a.Holder)
		return stepio.LockAnswer{Holder: l.Holder.WorkflowID, Position: len(l.Queue)}, nil
	}
}

// release takes the key back from its holder, or a run out of the line.
func (l *lock) release(ctx workflow.Context, h stepio.LockHolder) {
	_ = l.mu.Lock(ctx)
	defer l.mu.Unlock()
	if l.Holder != nil && *l.Holder == h {
		l.Holder = nil
		l.handOn(ctx)
		return
	}
	if i := slices.Index(l.Queue, h); i >= 0 {
		l.Queue = slices.Delete(l.Queue, i, i+1)
		l.tellWaiting(ctx)
	}
}

// checkHolder hands the key on when its holder ended without a word.
func (l *lock) checkHolder(ctx workflow.Context) {
	_ = l.mu.Lock(ctx)
	defer l.mu.Unlock()
	if l.Holder != nil && !holderAlive(ctx, *l.Holder) {
		l.Holder = nil
		l.handOn(ctx)
	}
}

// handOn gives the free key to the first in line that still runs.
func (l *lock) handOn(ctx workflow.Context) {
	for len(l.Queue) > 0 && l.Holder == nil {
		next := l.Queue[0]
		l.Queue = l.Queue[1:]
		if !holderAlive(ctx, next) {
			continue
		}
		l.Holder = &next
		tell(ctx, next, stepio.LockAnswer{Granted: true})
	}
	l.tellWaiting(ctx)
}

// tellWaiting tells every waiting run who holds the key and its place.
func (l *lock) tellWaiting(ctx workflow.Context) {
	if l.Holder == nil {
		return
	}
	for i, h := range l.Queue {
		tell(ctx, h, stepio.LockAnswer{Holder: l.Holder.WorkflowID, Position: i + 1})
	}
}

func tell(ctx workflow.Context, h stepio.LockHolder, news stepio.LockAnswer) {
	// A run that is gone has nothing to hear; the next check finds it.
	_ = workflow.SignalExternalWorkflow(ctx, h.WorkflowID, "", LockNewsSignal, news).Get(ctx, nil)
}

func holderAlive(ctx workflow.Context, h stepio.LockHolder) bool {
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: 10 * time.Second},
		Summary:             "does " + h.WorkflowID + " still run?",
	})
	alive := true
	_ = workflow.ExecuteLocalActivity(lctx, stepio.HolderAliveName, h).Get(ctx, &alive)
	return alive
}
