package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/velaflow/velaflow/runs"
	"github.com/velaflow/velaflow/translator"
	"github.com/velaflow/velaflow/workflows"
)

// waiter is a run waiting to be woken: velaflow's on a ConfigMap, the
// baseline's on a signal.
type waiter struct {
	id   string // workflow ID
	cm   string // velaflow: the ConfigMap it waits on
	wait func() error
}

// startWaiters starts n runs that wait; they are waiting when it returns.
func (b *bench) startWaiters(ctx context.Context, v variant, n int) ([]*waiter, error) {
	ws := make([]*waiter, n)
	err := parallel(n, 50, func(i int) error {
		w, err := b.startWaiter(ctx, v)
		ws[i] = w
		return err
	})
	if err != nil || v != velaflow {
		return ws, err
	}
	// A velaflow run waits once its step's execution ended in a wait.
	return ws, parallel(n, 20, func(i int) error { return b.untilWaiting(ctx, ws[i]) })
}

func (b *bench) startWaiter(ctx context.Context, v variant) (*waiter, error) {
	seq := b.next()
	if v != velaflow {
		id := fmt.Sprintf("signal-%d", seq)
		run, err := b.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: baselineQueue}, baselineSignalName)
		if err != nil {
			return nil, err
		}
		return &waiter{id: id, wait: func() error { return run.Get(ctx, nil) }}, nil
	}
	cm := fmt.Sprintf("wait-%d", seq)
	if _, err := b.kube.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: cm}, Data: map[string]string{"ready": "false"}}, metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	plan := b.plan("wait", seq)
	step := plan.Steps[0]
	step.Properties = map[string]any{"name": cm}
	plan.Steps = []translator.Step{step}
	run, err := b.runs.Start(ctx, plan)
	if err != nil {
		return nil, err
	}
	return &waiter{id: plan.ID(), cm: cm, wait: func() error { return succeeded(runs.FinalStatus(ctx, run)) }}, nil
}

func (b *bench) untilWaiting(ctx context.Context, w *waiter) error {
	ns, name, _ := strings.Cut(w.id, "/")
	for {
		obj, err := b.runs.Status(ctx, ns, name)
		if err == nil && len(obj.Status.Steps) == 1 && obj.Status.Steps[0].Reason == workflows.ReasonWait {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("run %s never waited: %w", w.id, ctx.Err())
		}
		time.Sleep(100 * time.Millisecond) // polling the status; nothing to wait on
	}
}

// wakeOne turns the waiter's ConfigMap ready (velaflow) or signals it
// (baseline) and returns when its run ended, and when the change was made.
func (b *bench) wakeOne(ctx context.Context, w *waiter) (time.Time, time.Duration, error) {
	began := time.Now()
	if w.cm == "" {
		if err := b.c.SignalWorkflow(ctx, w.id, "", baselineSignal, nil); err != nil {
			return began, 0, err
		}
	} else {
		cms := b.kube.CoreV1().ConfigMaps("default")
		cm, err := cms.Get(ctx, w.cm, metav1.GetOptions{})
		if err != nil {
			return began, 0, err
		}
		cm.Data["ready"] = "true"
		began = time.Now()
		if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			return began, 0, err
		}
	}
	if err := w.wait(); err != nil {
		return began, 0, err
	}
	return began, time.Since(began), nil
}

// stageNames are the stages of a wake-up wakeStages returns, in order.
var stageNames = []string{"change → wake signal", "signal → activity started", "activity (read, evaluate)", "activity → run completed"}

// wakeStages splits a woken velaflow run's wake-up by its history: from
// the change to the wake signal, to the step's activity started, its
// execution, and the run's completion.
func (b *bench) wakeStages(ctx context.Context, id string, changed time.Time) ([]time.Duration, error) {
	var signaled, scheduled, started, completed, ended time.Time
	it := b.c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, err
		}
		at := e.GetEventTime().AsTime()
		if at.Before(changed) {
			continue
		}
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			if signaled.IsZero() && e.GetWorkflowExecutionSignaledEventAttributes().GetSignalName() == workflows.SignalWake {
				signaled = at
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			setOnce(&scheduled, at, !signaled.IsZero())
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			setOnce(&started, at, !scheduled.IsZero())
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			setOnce(&completed, at, !started.IsZero())
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
			ended = at
		}
	}
	if signaled.IsZero() || scheduled.IsZero() || completed.IsZero() || ended.IsZero() {
		return nil, nil // its backoff timer woke it before the watch did
	}
	return []time.Duration{signaled.Sub(changed), started.Sub(signaled), completed.Sub(started), ended.Sub(completed)}, nil
}

func setOnce(t *time.Time, at time.Time, when bool) {
	if t.IsZero() && when {
		*t = at
	}
}
