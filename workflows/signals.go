package workflows

import "go.temporal.io/sdk/workflow"

// listen applies suspend, resume and terminate signals as they arrive.
func (r *run) listen(ctx workflow.Context) {
	suspend := workflow.GetSignalChannel(ctx, SignalSuspend)
	resume := workflow.GetSignalChannel(ctx, SignalResume)
	terminate := workflow.GetSignalChannel(ctx, SignalTerminate)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			sel := workflow.NewSelector(ctx)
			sel.AddReceive(suspend, func(c workflow.ReceiveChannel, _ bool) {
				c.Receive(ctx, nil)
				r.suspended = true
			})
			sel.AddReceive(resume, func(c workflow.ReceiveChannel, _ bool) {
				c.Receive(ctx, nil)
				r.suspended = false
				r.resumeGen++
			})
			sel.AddReceive(terminate, func(c workflow.ReceiveChannel, _ bool) {
				c.Receive(ctx, nil)
				r.terminated = true
				r.cancelStep()
			})
			sel.Select(ctx)
			r.refresh(ctx)
		}
	})
}

// awaitRunnable blocks while the run is suspended by signal.
func (r *run) awaitRunnable(ctx workflow.Context) {
	_ = workflow.Await(ctx, func() bool { return !r.suspended || r.terminated })
}
