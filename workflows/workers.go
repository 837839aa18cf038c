package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/velaflow/velaflow/cuedefs"
	"github.com/velaflow/velaflow/stepio"
	"github.com/velaflow/velaflow/translator"
)

// The workers of a task queue answer questions about themselves through
// one long-lived workflow per task queue (WorkersID): the step types they
// serve (a query: it records nothing) and the clusters they reach (an
// update running a local activity). Asking leaves no workflow behind per
// question.
const (
	// WorkersName is the workflow type; start it with ID WorkersID.
	WorkersName = "VelaflowWorkers"
	// QueryStepTypes answers the step types the answering worker serves:
	// map[string]cuedefs.Definition.
	QueryStepTypes = "step-types"
	// QueryTemplates answers the Workflow templates the answering worker
	// was given (--templates): []translator.Source.
	QueryTemplates = "templates"
	// UpdateClusters answers the clusters a worker reaches:
	// []stepio.ClusterInfo.
	UpdateClusters = "clusters"
	// UpdateClusterNames answers the names of the clusters a worker
	// knows, without asking them: []string.
	UpdateClusterNames = "cluster-names"
	// UpdateClusterTemplates answers the Workflow templates (and step
	// definitions) in the worker's default cluster for runs of a
	// namespace: []translator.Source.
	UpdateClusterTemplates = "cluster-templates"
)

// WorkersID is the ID of the task queue's workers workflow.
func WorkersID(taskQueue string) string { return "velaflow-workers/" + taskQueue }

// Workers is the workers workflow; StepTypes is the answering worker's
// catalogue (a query may read the worker's own state: it changes nothing
// in the workflow).
type Workers struct {
	StepTypes func() map[string]cuedefs.Definition
	Templates func() []translator.Source
}

// Run waits for questions, and continues as new when its history grows.
func (w *Workers) Run(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryStepTypes, func() (map[string]cuedefs.Definition, error) {
		return w.StepTypes(), nil
	}); err != nil {
		return err
	}
	if err := workflow.SetQueryHandler(ctx, QueryTemplates, func() ([]translator.Source, error) {
		if w.Templates == nil {
			return nil, nil
		}
		return w.Templates(), nil
	}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandler(ctx, UpdateClusters, listClusters); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandler(ctx, UpdateClusterNames, clusterNames); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandler(ctx, UpdateClusterTemplates, clusterTemplates); err != nil {
		return err
	}
	_ = workflow.Await(ctx, func() bool {
		return workflow.GetInfo(ctx).GetContinueAsNewSuggested() && workflow.AllHandlersFinished(ctx)
	})
	return workflow.NewContinueAsNewError(ctx, WorkersName)
}

func listClusters(ctx workflow.Context) ([]stepio.ClusterInfo, error) {
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: time.Minute})
	var out []stepio.ClusterInfo
	err := workflow.ExecuteLocalActivity(ctx, stepio.ListClustersName).Get(ctx, &out)
	return out, err
}

func clusterNames(ctx workflow.Context) ([]string, error) {
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: time.Minute})
	var out []string
	err := workflow.ExecuteLocalActivity(ctx, stepio.ClusterNamesName).Get(ctx, &out)
	return out, err
}

func clusterTemplates(ctx workflow.Context, namespace string) ([]translator.Source, error) {
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: time.Minute})
	var out []translator.Source
	err := workflow.ExecuteLocalActivity(ctx, stepio.ClusterTemplatesName, namespace).Get(ctx, &out)
	return out, err
}
