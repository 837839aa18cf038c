package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/velaflow/velaflow/stepio"
)

// ListClustersName is a short workflow asking a worker which Kubernetes
// clusters it reaches (`velaflow cluster list`).
const ListClustersName = "ListClusters"

// ListClusters runs the ListClusters activity once on a worker of the
// task queue.
func ListClusters(ctx workflow.Context) ([]stepio.ClusterInfo, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	var out []stepio.ClusterInfo
	err := workflow.ExecuteActivity(ctx, stepio.ListClustersName).Get(ctx, &out)
	return out, err
}
