package workflows

import (
	"errors"
	"maps"
	"slices"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// listen applies suspend, resume and terminate signals as they arrive, and
// passes them on to the groups' child workflows under way. A run also
// receives its groups' status reports. Executions before engine version
// 2 listen on a coroutine of their own; later ones in drive.
func (r *run) listen(ctx workflow.Context) {
	if r.engine >= engineOneCoroutineListens {
		return
	}
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			r.receiveSignal(ctx)
		}
	})
}

// signalChannels are a run's signal channels, got once: drive checks
// them each time its coroutine is woken.
type signalChannels struct {
	suspend, resume, terminate, groups, wake, done workflow.ReceiveChannel
}

func (r *run) signals(ctx workflow.Context) *signalChannels {
	if r.sig == nil {
		r.sig = &signalChannels{
			suspend:   workflow.GetSignalChannel(ctx, SignalSuspend),
			resume:    workflow.GetSignalChannel(ctx, SignalResume),
			terminate: workflow.GetSignalChannel(ctx, SignalTerminate),
			groups:    workflow.GetSignalChannel(ctx, SignalGroupStatus),
			wake:      workflow.GetSignalChannel(ctx, SignalWake),
			done:      workflow.GetSignalChannel(ctx, SignalGroupDone),
		}
	}
	return r.sig
}

// pending tells whether a signal waits on any of the channels.
func (s *signalChannels) pending() bool {
	for _, c := range [...]workflow.ReceiveChannel{s.suspend, s.resume, s.terminate, s.groups, s.wake, s.done} {
		if c.Len() > 0 {
			return true
		}
	}
	return false
}

// receiveSignal waits for one signal, applies it and passes it on.
func (r *run) receiveSignal(ctx workflow.Context) {
	ch := r.signals(ctx)
	sel := workflow.NewSelector(ctx)
	forward := ""
	sel.AddReceive(ch.suspend, func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, nil)
		r.suspended = true
		forward = SignalSuspend
	})
	sel.AddReceive(ch.resume, func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, nil)
		r.suspended = false
		r.resumeGen++
		forward = SignalResume
	})
	sel.AddReceive(ch.terminate, func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, nil)
		r.terminated = true
		r.cancelStep()
		forward = SignalTerminate
	})
	sel.AddReceive(ch.wake, func(c workflow.ReceiveChannel, _ bool) {
		var step string
		c.Receive(ctx, &step)
		r.wake(step)
	})
	sel.AddReceive(ch.groups, func(c workflow.ReceiveChannel, _ bool) {
		var gs GroupStatus
		c.Receive(ctx, &gs)
		r.applyGroupStatus(gs)
	})
	sel.AddReceive(ch.done, func(c workflow.ReceiveChannel, _ bool) {
		var gd GroupDone
		c.Receive(ctx, &gd)
		r.applyGroupDone(gd)
	})
	sel.Select(ctx)
	if forward != "" {
		r.forward(ctx, forward)
	}
	r.refresh(ctx)
}

// wake marks a waiting step to execute now. Workers name the step by its
// ID (older ones by its name); an ID of another run's step wakes nothing.
func (r *run) wake(step string) {
	if _, ok := r.steps[step]; ok {
		r.woken[step] = true
		return
	}
	for name, st := range r.steps {
		if st.ID == step {
			r.woken[name] = true
		}
	}
}

// cancelAsTerminate makes a cancellation (the Web UI's Cancel, `temporal
// workflow cancel`) end the run as `velaflow terminate` does, instead of
// cutting it off mid-step (runs before the "cancel-terminates" change
// continued as new, still suspended). The run then works on a context the
// cancellation does not reach, and cancelled tells when it came; nil for
// those older runs.
func cancelAsTerminate(ctx workflow.Context, engine workflow.Version) (workflow.Context, workflow.ReceiveChannel) {
	if !since(ctx, engine, "cancel-terminates") {
		return ctx, nil
	}
	detached, _ := workflow.NewDisconnectedContext(ctx)
	return detached, ctx.Done()
}

// terminateOn terminates the run when cancelled delivers (executions
// before engine version 2; later ones watch for it in drive).
func (r *run) terminateOn(ctx workflow.Context, cancelled workflow.ReceiveChannel) {
	if cancelled == nil || r.engine >= engineOneCoroutineListens {
		return
	}
	workflow.Go(ctx, func(ctx workflow.Context) {
		cancelled.Receive(ctx, nil)
		r.terminateOnCancel(ctx)
	})
}

// cancelArrived tells, once, that the run was cancelled.
func (r *run) cancelArrived(cancelled workflow.ReceiveChannel) bool {
	if cancelled == nil || r.cancelSeen {
		return false
	}
	_, more := cancelled.ReceiveAsyncWithMoreFlag(nil)
	return !more // closed: ctx.Done() delivers nothing else
}

func (r *run) terminateOnCancel(ctx workflow.Context) {
	r.cancelSeen = true
	r.terminated = true
	r.cancelStep()
	r.forward(ctx, SignalTerminate)
	r.refresh(ctx)
}

// forward passes a signal on to every group child workflow under way.
func (r *run) forward(ctx workflow.Context, signal string) {
	if r.outliveRuns {
		prefix := workflow.GetInfo(ctx).WorkflowExecution.ID + "/"
		for _, name := range slices.Sorted(maps.Keys(r.running)) {
			workflow.Go(ctx, func(ctx workflow.Context) {
				err := workflow.SignalExternalWorkflow(ctx, prefix+name, "", signal, nil).Get(ctx, nil)
				var gone *temporal.UnknownExternalWorkflowExecutionError
				if errors.As(err, &gone) && r.running[name] {
					r.lost[name] = true // ended without reporting: terminated by hand
				}
			})
		}
		return
	}
	for _, name := range slices.Sorted(maps.Keys(r.children)) {
		child := r.children[name]
		workflow.Go(ctx, func(ctx workflow.Context) {
			_ = child.SignalChildWorkflow(ctx, signal, nil).Get(ctx, nil)
		})
	}
}

// signalsPending tells whether signals wait to be handled; the run does not
// continue as new over them.
func (r *run) signalsPending(ctx workflow.Context) bool {
	return r.signals(ctx).pending()
}

// awaitRunnable blocks while the run is suspended by signal.
func (r *run) awaitRunnable(ctx workflow.Context) {
	_ = workflow.Await(ctx, func() bool { return !r.suspended || r.terminated })
}
