package runs

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/velaflow/velaflow/stepio"
	"github.com/velaflow/velaflow/translator"
	"github.com/velaflow/velaflow/workflows"
)

// ObjectWorkflowID is the workflow ID of a run started from a WorkflowRun
// object: a deleted and re-created object of the same name is another
// run.
func ObjectWorkflowID(obj stepio.RunObject) string {
	return translator.WorkflowID(obj.Namespace, obj.Name) + "/" + obj.UID
}

// StartObject starts the run of a WorkflowRun object; the run writes its
// status into the object. A run of the object that is still going is
// ErrAlreadyRunning.
func (c *Client) StartObject(ctx context.Context, plan *translator.Plan, obj stepio.RunObject) (client.WorkflowRun, error) {
	in := workflows.RunInput{Plan: *plan, RecordEngine: true, Object: &obj}
	return c.start(ctx, ObjectWorkflowID(obj), in, enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL)
}

// ID is the workflow ID of the run called namespace/name: the run the CLI
// started under that name, else the newest run of a WorkflowRun object of
// that name (so the CLI operates on runs from a cluster too).
func (c *Client) ID(ctx context.Context, namespace, name string) string {
	id := translator.WorkflowID(namespace, name)
	_, err := c.Temporal.DescribeWorkflowExecution(ctx, id, "")
	var nf *serviceerror.NotFound
	if !errors.As(err, &nf) {
		return id
	}
	query := fmt.Sprintf("WorkflowType = '%s' AND %s = '%s' AND %s = '%s'", workflows.WorkflowName,
		workflows.AttrNamespace.GetName(), namespace, workflows.AttrName.GetName(), name)
	resp, err := c.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, PageSize: 20})
	if err != nil {
		return id
	}
	for _, e := range resp.Executions { // newest first
		if other := e.Execution.GetWorkflowId(); other != id {
			return other
		}
	}
	return id
}

// TerminateID ends the run with workflow ID id, and its groups, if it is
// still going.
func (c *Client) TerminateID(ctx context.Context, id, reason string) error {
	desc, err := c.Temporal.DescribeWorkflowExecution(ctx, id, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("terminate run %s: %w", id, err)
	}
	if desc.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return nil
	}
	prev, err := c.input(ctx, id, desc.WorkflowExecutionInfo.Execution.RunId)
	if err != nil {
		return fmt.Errorf("terminate run %s: %w", id, err)
	}
	return c.terminateFor(ctx, id, &prev.Plan, reason)
}
