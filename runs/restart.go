package runs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/velaflow/velaflow/translator"
	"github.com/velaflow/velaflow/workflows"
)

// Restart runs a run again under the same name, with the plan it was
// started with. With step empty the whole run starts over; otherwise only
// that failed step (or sub-step) and the steps after it or depending on it
// re-run, and the other steps keep their results. A run still going is
// terminated first.
func (c *Client) Restart(ctx context.Context, namespace, name, step string) (client.WorkflowRun, error) {
	return c.RestartID(ctx, c.ID(ctx, namespace, name), step)
}

// RestartID is Restart for the run with workflow ID id. A run started
// from a WorkflowRun object stays tied to it.
func (c *Client) RestartID(ctx context.Context, id, step string) (client.WorkflowRun, error) {
	desc, err := c.Temporal.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return nil, noRun("no run %s", id)
		}
		return nil, fmt.Errorf("restart run %s: %w", id, err)
	}
	prev, err := c.input(ctx, id, desc.WorkflowExecutionInfo.Execution.RunId)
	if err != nil {
		return nil, fmt.Errorf("restart run %s: %w", id, err)
	}
	in := workflows.RunInput{Plan: prev.Plan, RecordEngine: true, Object: prev.Object}
	if step != "" {
		status, err := c.StatusID(ctx, id)
		if err != nil {
			return nil, err
		}
		st := findStep(status.Steps, step)
		if st == nil {
			return nil, fmt.Errorf("run %s has no step %q", id, step)
		}
		if st.Phase != workflows.StepFailed {
			return nil, fmt.Errorf("step %q of run %s is %s: only a failed step can be restarted (restart the whole run without --step)", step, id, st.Phase)
		}
		vars, err := c.vars(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("restart run %s: read its variables: %w", id, err)
		}
		in.Restart = &workflows.Restart{Step: step, Previous: status, Vars: vars}
	}
	if desc.WorkflowExecutionInfo.Status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		if err := c.terminate(ctx, id, &prev.Plan); err != nil {
			return nil, err
		}
	}
	return c.start(ctx, id, in, enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL)
}

// vars are a run's variables. Runs of engines that kept none to query
// had none to carry: they restart without.
func (c *Client) vars(ctx context.Context, id string) (map[string]any, error) {
	var vars map[string]any
	err := c.queryInto(ctx, id, workflows.QueryVars, &vars)
	var qf *serviceerror.QueryFailed
	if errors.As(err, &qf) && strings.Contains(qf.Message, "unknown queryType") {
		return nil, nil
	}
	return vars, err
}

// input is the input a run's execution was started with.
func (c *Client) input(ctx context.Context, id, runID string) (*workflows.RunInput, error) {
	it := c.Temporal.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return nil, fmt.Errorf("its history is empty")
	}
	ev, err := it.Next()
	if err != nil {
		return nil, err
	}
	attrs := ev.GetWorkflowExecutionStartedEventAttributes()
	if attrs == nil {
		return nil, fmt.Errorf("its history does not start with the run's input")
	}
	var in workflows.RunInput
	if err := c.converter().FromPayloads(attrs.Input, &in); err != nil {
		return nil, fmt.Errorf("read its input: %w", err)
	}
	return &in, nil
}

// terminate ends a run that is still going and its groups' child
// workflows, which outlive the run's executions, and waits until they
// have closed, so a new run can start them under the same IDs.
func (c *Client) terminate(ctx context.Context, id string, plan *translator.Plan) error {
	return c.terminateFor(ctx, id, plan, "replaced")
}

func (c *Client) terminateFor(ctx context.Context, id string, plan *translator.Plan, reason string) error {
	if err := c.Temporal.TerminateWorkflow(ctx, id, "", reason); err != nil {
		var nf *serviceerror.NotFound
		if !errors.As(err, &nf) {
			return fmt.Errorf("terminate run %s: %w", id, err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, s := range plan.Steps {
		if !s.IsGroup() {
			continue
		}
		child := id + "/" + s.Name
		_ = c.Temporal.TerminateWorkflow(ctx, child, "", "its run was replaced") // not running: nothing to do
		for {
			d, err := c.Temporal.DescribeWorkflowExecution(ctx, child, "")
			if err != nil || d.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("group %s of run %s is still running after it was terminated", s.Name, id)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

func findStep(steps []workflows.StepStatus, name string) *workflows.StepStatus {
	for i := range steps {
		if steps[i].Name == name {
			return &steps[i]
		}
		if sub := findStep(steps[i].SubSteps, name); sub != nil {
			return sub
		}
	}
	return nil
}
