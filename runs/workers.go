package runs

import (
	"context"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/velaflow/velaflow/cuedefs"
	"github.com/velaflow/velaflow/stepio"
	"github.com/velaflow/velaflow/translator"
	"github.com/velaflow/velaflow/workflows"
)

// workers starts the task queue's workers workflow if it is not running,
// and returns its ID.
func (c *Client) workers(ctx context.Context) (string, error) {
	id := workflows.WorkersID(c.TaskQueue)
	_, err := c.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                c.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		StaticSummary:            "velaflow workers of task queue " + c.TaskQueue + ": answers their step types and clusters",
	}, workflows.WorkersName)
	if err != nil {
		return "", fmt.Errorf("ask the workers of task queue %s: %w", c.TaskQueue, err)
	}
	return id, nil
}

// WorkerStepTypes are the step types a worker of the task queue serves
// (its built-ins and --definitions). Bound ctx: with no worker running,
// nothing answers.
func (c *Client) WorkerStepTypes(ctx context.Context) (map[string]cuedefs.Definition, error) {
	id, err := c.workers(ctx)
	if err != nil {
		return nil, err
	}
	var out map[string]cuedefs.Definition
	if err := c.queryInto(ctx, id, workflows.QueryStepTypes, &out); err != nil {
		return nil, fmt.Errorf("ask a worker of task queue %s for its step types: %w", c.TaskQueue, err)
	}
	return out, nil
}

// WorkerTemplates are the Workflow templates the workers of the task
// queue know for runs of a namespace: those in their --templates folders,
// then the Workflow objects (and step definitions) in their default
// cluster, vela-system's and the namespace's, which win.
func (c *Client) WorkerTemplates(ctx context.Context, namespace string) ([]translator.Source, error) {
	id, err := c.workers(ctx)
	if err != nil {
		return nil, err
	}
	var out []translator.Source
	if err := c.queryInto(ctx, id, workflows.QueryTemplates, &out); err != nil {
		return nil, fmt.Errorf("ask a worker of task queue %s for its templates: %w", c.TaskQueue, err)
	}
	var inCluster []translator.Source
	err = c.askWorkers(ctx, workflows.UpdateClusterTemplates, &inCluster, namespace)
	return append(out, inCluster...), err // the folders' templates, even so
}

// WorkerClusters are the clusters a worker of the task queue reaches, and
// whether each answers.
func (c *Client) WorkerClusters(ctx context.Context) ([]stepio.ClusterInfo, error) {
	var out []stepio.ClusterInfo
	return out, c.askWorkers(ctx, workflows.UpdateClusters, &out)
}

// WorkerClusterNames are the names of the clusters a worker of the task
// queue knows.
func (c *Client) WorkerClusterNames(ctx context.Context) ([]string, error) {
	var out []string
	return out, c.askWorkers(ctx, workflows.UpdateClusterNames, &out)
}

func (c *Client) askWorkers(ctx context.Context, update string, into any, args ...any) error {
	id, err := c.workers(ctx)
	if err != nil {
		return err
	}
	h, err := c.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: update, Args: args, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return fmt.Errorf("ask a worker of task queue %s (%s): %w", c.TaskQueue, update, err)
	}
	return h.Get(ctx, into)
}
