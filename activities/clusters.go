package activities

import (
	"context"
	"time"

	"github.com/velaflow/velaflow/stepio"
)

// ListClusters reports every cluster the worker knows and whether it
// answers.
func (a *Activities) ListClusters(ctx context.Context) ([]stepio.ClusterInfo, error) {
	if a.Registry == nil {
		return nil, nil
	}
	var out []stepio.ClusterInfo
	for _, name := range a.Registry.Names(ctx) {
		info := stepio.ClusterInfo{Name: name}
		c, err := a.Registry.Get(ctx, name)
		if err != nil {
			info.Error = err.Error()
			out = append(out, info)
			continue
		}
		info.Server = c.Config.Host
		v, err := c.Version(10 * time.Second)
		info.Version = v
		if err != nil {
			info.Error = err.Error()
		}
		out = append(out, info)
	}
	return out, nil
}

// ClusterNames are the names of the clusters the worker knows, without
// asking them anything ("local" too, when the worker has a default
// cluster): a run naming another cluster is refused before it starts.
func (a *Activities) ClusterNames(ctx context.Context) ([]string, error) {
	if a.Registry == nil {
		return []string{}, nil
	}
	return a.Registry.Names(ctx), nil
}
