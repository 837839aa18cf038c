package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/velaflow/velaflow/stepio"
)

// Locks are the activities of concurrency keys: they talk to Temporal,
// not to the outside world.
type Locks struct {
	Client client.Client
}

// AcquireLock asks the key's lock workflow for the key, starting it if no
// lock runs (update-with-start). The update's ID is the run's, so a
// retried activity is answered once.
func (l *Locks) AcquireLock(ctx context.Context, req stepio.AcquireRequest) (stepio.LockAnswer, error) {
	start := l.Client.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID:                       stepio.LockID(req.Key),
		TaskQueue:                req.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		StaticSummary:            "concurrency key " + req.Key,
	}, stepio.LockName, stepio.LockState{Key: req.Key})
	h, err := l.Client.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateID:     "acquire/" + req.Holder.WorkflowID + "/" + req.Holder.Chain,
			UpdateName:   stepio.UpdateAcquire,
			Args:         []any{stepio.AcquireArgs{Holder: req.Holder, Policy: req.Policy}},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err != nil {
		return stepio.LockAnswer{}, fmt.Errorf("ask the lock of %s: %w", req.Key, err)
	}
	var a stepio.LockAnswer
	if err := h.Get(ctx, &a); err != nil {
		return stepio.LockAnswer{}, fmt.Errorf("ask the lock of %s: %w", req.Key, err)
	}
	return a, nil
}

// HolderAlive tells whether the run still runs: the same chain of
// executions, not closed.
func (l *Locks) HolderAlive(ctx context.Context, h stepio.LockHolder) (bool, error) {
	runID, err := l.holderRun(ctx, h)
	return runID != "", err
}

// TerminateHolder ends the run that holds a key, for the run that
// replaces it: it sends the run its terminate signal, so the run ends
// terminated in its own status and stops its groups, and waits until it
// closed; a run that does not close within half a minute is terminated
// by Temporal.
func (l *Locks) TerminateHolder(ctx context.Context, h stepio.LockHolder, by, signal string) error {
	runID, err := l.holderRun(ctx, h)
	if err != nil || runID == "" {
		return err
	}
	if err := l.Client.SignalWorkflow(ctx, h.WorkflowID, runID, signal, nil); err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return nil
		}
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if runID, err = l.holderRun(ctx, h); err != nil || runID == "" {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	err = l.Client.TerminateWorkflow(ctx, h.WorkflowID, runID, "replaced by "+by+" (concurrency policy Replace)")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil
	}
	return err
}

// holderRun is the run ID of the holder's execution that runs ("": it
// ended).
func (l *Locks) holderRun(ctx context.Context, h stepio.LockHolder) (string, error) {
	d, err := l.Client.DescribeWorkflowExecution(ctx, h.WorkflowID, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	info := d.GetWorkflowExecutionInfo()
	if info.GetFirstRunId() != h.Chain || info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return "", nil
	}
	return info.GetExecution().GetRunId(), nil
}
