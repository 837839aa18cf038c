package runs

import (
	"context"
	"errors"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
)

// ErrFromObject is Delete's answer for a run started from a WorkflowRun
// object: the object, not the run, is what to delete.
var ErrFromObject = errors.New("came from a WorkflowRun object")

// Delete removes a run: it is terminated if it still runs, then every
// execution of it (earlier ones of a restart too) and of its groups is
// deleted, so it leaves `list`. A run of a WorkflowRun object is not
// deleted here: deleting the object terminates it.
func (c *Client) Delete(ctx context.Context, namespace, name string) error {
	id := c.ID(ctx, namespace, name)
	desc, err := c.Temporal.DescribeWorkflowExecution(ctx, id, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return noRun("no run %s", id)
	}
	if err != nil {
		return fmt.Errorf("delete run %s: %w", id, err)
	}
	in, err := c.input(ctx, id, desc.WorkflowExecutionInfo.Execution.RunId)
	if err != nil {
		return fmt.Errorf("delete run %s: %w", id, err)
	}
	if in.Object != nil {
		return fmt.Errorf("run %s %w: delete the object (kubectl delete workflowrun %s -n %s); its run is terminated then", id, ErrFromObject, name, namespace)
	}
	if desc.WorkflowExecutionInfo.Status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		if err := c.terminateFor(ctx, id, &in.Plan, "deleted"); err != nil {
			return err
		}
	}
	ids := []string{id}
	for _, s := range in.Plan.Steps {
		if s.IsGroup() {
			ids = append(ids, id+"/"+s.Name)
		}
	}
	for _, wid := range ids {
		if err := c.deleteExecutions(ctx, wid); err != nil {
			return fmt.Errorf("delete run %s: %w", id, err)
		}
	}
	return nil
}

// deleteExecutions deletes every execution under a workflow ID.
func (c *Client) deleteExecutions(ctx context.Context, id string) error {
	ns := c.Namespace
	if ns == "" {
		ns = "default"
	}
	// The latest execution, which visibility may not list yet, then the
	// earlier ones.
	runIDs := []string{""}
	resp, err := c.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: fmt.Sprintf("WorkflowId = '%s'", id)})
	if err != nil {
		return err
	}
	for _, e := range resp.Executions {
		runIDs = append(runIDs, e.Execution.GetRunId())
	}
	for _, runID := range runIDs {
		_, err := c.Temporal.WorkflowService().DeleteWorkflowExecution(ctx, &workflowservice.DeleteWorkflowExecutionRequest{
			Namespace:         ns,
			WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: runID},
		})
		var nf *serviceerror.NotFound
		if err != nil && !errors.As(err, &nf) {
			return err
		}
	}
	return nil
}
