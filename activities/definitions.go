package activities

import (
	"context"
	"fmt"
	"sync"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/velaflow/velaflow/cuedefs"
	"github.com/velaflow/velaflow/stepio"
)

// PlanDefinitions returns the definitions pinned by the plan of the
// workflow execution that scheduled the activity in ctx.
type PlanDefinitions func(ctx context.Context) (map[string]cuedefs.Definition, error)

// definition is the template an execution runs. Executions name a pinned
// template by digest (its source is in the run's input, once): the
// worker's catalogue or its cache usually has it; otherwise it is read
// from the start of the execution's history.
func (a *Activities) definition(ctx context.Context, in stepio.Input) (cuedefs.Definition, error) {
	switch {
	case in.Definition != nil:
		return *in.Definition, nil
	case in.DefinitionDigest != "":
		return a.pinned(ctx, in.Step.Type, in.DefinitionDigest)
	}
	if d, ok := a.Definitions[in.Step.Type]; ok {
		return d, nil
	}
	return cuedefs.Definition{}, temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("unknown step type %q: the plan does not pin it and this worker does not know it", in.Step.Type), stepio.ReasonRendering, nil)
}

func (a *Activities) pinned(ctx context.Context, typ, digest string) (cuedefs.Definition, error) {
	if d, ok := a.Definitions[typ]; ok && d.Digest == digest {
		return d, nil
	}
	if d, ok := a.cache.get(digest); ok {
		return d, nil
	}
	if a.PlanDefinitions == nil {
		return cuedefs.Definition{}, fmt.Errorf("step type %q: template %s is not in this worker's catalogue, and the worker cannot read the run's plan", typ, short(digest))
	}
	defs, err := a.PlanDefinitions(ctx)
	if err != nil {
		return cuedefs.Definition{}, fmt.Errorf("step type %q: reading the run's plan for its template: %w", typ, err)
	}
	for _, d := range defs {
		a.cache.put(d)
	}
	if d, ok := a.cache.get(digest); ok {
		return d, nil
	}
	return cuedefs.Definition{}, temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("step type %q: the run's plan pins no template %s", typ, short(digest)), stepio.ReasonRendering, nil)
}

func short(digest string) string {
	if len(digest) > 12 {
		return digest[:12]
	}
	return digest
}

// definitionCache keeps the templates recently read from runs' plans.
type definitionCache struct {
	mu    sync.Mutex
	defs  map[string]cuedefs.Definition
	order []string // oldest first
}

const cachedDefinitions = 512

func (c *definitionCache) get(digest string) (cuedefs.Definition, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.defs[digest]
	return d, ok
}

func (c *definitionCache) put(d cuedefs.Definition) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.defs[d.Digest]; ok {
		return
	}
	if c.defs == nil {
		c.defs = map[string]cuedefs.Definition{}
	}
	if len(c.order) >= cachedDefinitions {
		delete(c.defs, c.order[0])
		c.order = c.order[1:]
	}
	c.defs[d.Digest] = d
	c.order = append(c.order, d.Digest)
}

// HistoryPlanDefinitions reads the definitions from the input of the
// first event of the activity's workflow execution: a run's input holds
// its plan, a group's holds the group's plan; both carry definitions.
func HistoryPlanDefinitions(svc workflowservice.WorkflowServiceClient, dc converter.DataConverter) PlanDefinitions {
	if dc == nil {
		dc = converter.GetDefaultDataConverter()
	}
	return func(ctx context.Context) (map[string]cuedefs.Definition, error) {
		info := activity.GetInfo(ctx)
		resp, err := svc.GetWorkflowExecutionHistory(ctx, &workflowservice.GetWorkflowExecutionHistoryRequest{
			Namespace:       info.WorkflowNamespace,
			Execution:       &commonpb.WorkflowExecution{WorkflowId: info.WorkflowExecution.ID, RunId: info.WorkflowExecution.RunID},
			MaximumPageSize: 1,
		})
		if err != nil {
			return nil, err
		}
		events := resp.GetHistory().GetEvents()
		if len(events) == 0 || events[0].GetWorkflowExecutionStartedEventAttributes() == nil {
			return nil, fmt.Errorf("workflow %s has no start event", info.WorkflowExecution.ID)
		}
		payloads := events[0].GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()
		if len(payloads) == 0 {
			return nil, fmt.Errorf("workflow %s started without input", info.WorkflowExecution.ID)
		}
		// The shapes of workflows.RunInput (the plan inline) and
		// workflows.GroupInput (the plan under "plan").
		var input struct {
			Definitions map[string]cuedefs.Definition `json:"definitions"`
			Plan        struct {
				Definitions map[string]cuedefs.Definition `json:"definitions"`
			} `json:"plan"`
		}
		if err := dc.FromPayload(payloads[0], &input); err != nil {
			return nil, fmt.Errorf("reading the input of workflow %s: %w", info.WorkflowExecution.ID, err)
		}
		if input.Definitions != nil {
			return input.Definitions, nil
		}
		return input.Plan.Definitions, nil
	}
}
