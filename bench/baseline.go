package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/velaflow/velaflow/connection"
	"github.com/velaflow/velaflow/localstack/devstack"
)

// The bare-Temporal baselines: what the same work costs when it is
// nothing but Temporal, on the same server, in the same run.
const (
	baselineActivitiesName = "BaselineActivities" // N no-op activities, one after another
	baselineLocalName      = "BaselineLocal"      // N no-op local activities
	baselineSignalName     = "BaselineSignal"     // wait for a signal, then one activity
	baselineSignal         = "wake"
	noopName               = "Noop"
)

var baselineActivityOptions = workflow.ActivityOptions{StartToCloseTimeout: time.Minute}

func baselineActivities(ctx workflow.Context, n int) (int, error) {
	ctx = workflow.WithActivityOptions(ctx, baselineActivityOptions)
	for i := range n {
		if err := workflow.ExecuteActivity(ctx, noopName, i).Get(ctx, nil); err != nil {
			return i, err
		}
	}
	return n, nil
}

func baselineLocal(ctx workflow.Context, n int) (int, error) {
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: time.Minute})
	for i := range n {
		if err := workflow.ExecuteLocalActivity(ctx, noopName, i).Get(ctx, nil); err != nil {
			return i, err
		}
	}
	return n, nil
}

func baselineWaitSignal(ctx workflow.Context) (int, error) {
	workflow.GetSignalChannel(ctx, baselineSignal).Receive(ctx, nil)
	return baselineActivities(ctx, 1)
}

func noop(_ context.Context, i int) (int, error) { return i, nil }

// baselineWorkerMain is the baseline's worker process (the bench starts
// it as `velaflow-bench baseline-worker`), sized as velaflow's worker is,
// so the two are measured alike.
func baselineWorkerMain(args []string) int {
	fs := flag.NewFlagSet("baseline-worker", flag.ExitOnError)
	address := fs.String("address", "", "Temporal frontend host:port")
	queue := fs.String("task-queue", "", "task queue")
	_ = fs.Parse(args)
	c, err := client.Dial(client.Options{HostPort: *address, Logger: devstack.Quiet(),
		ConnectionOptions: client.ConnectionOptions{GrpcCompression: connection.Compression(*address)}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "baseline worker:", err)
		return 1
	}
	defer c.Close()
	w := sdkworker.New(c, *queue, sdkworker.Options{
		MaxConcurrentActivityExecutionSize:      200,
		MaxConcurrentWorkflowTaskExecutionSize:  200,
		MaxConcurrentLocalActivityExecutionSize: 200,
	})
	w.RegisterWorkflowWithOptions(baselineActivities, workflow.RegisterOptions{Name: baselineActivitiesName})
	w.RegisterWorkflowWithOptions(baselineLocal, workflow.RegisterOptions{Name: baselineLocalName})
	w.RegisterWorkflowWithOptions(baselineWaitSignal, workflow.RegisterOptions{Name: baselineSignalName})
	w.RegisterActivityWithOptions(noop, activity.RegisterOptions{Name: noopName})
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	if err := w.Run(stopChannel(stop)); err != nil {
		fmt.Fprintln(os.Stderr, "baseline worker:", err)
		return 1
	}
	return 0
}

func stopChannel(sig <-chan os.Signal) <-chan interface{} {
	ch := make(chan interface{})
	go func() { <-sig; close(ch) }()
	return ch
}
