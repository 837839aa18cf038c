package activities

import (
	"context"
	"time"
)

// ListClustersName is the activity `velaflow cluster list` runs on a worker.
const ListClustersName = "ListClusters"

// ClusterInfo is one cluster as a worker sees it.
type ClusterInfo struct {
	Name    string `json:"name"`
	Server  string `json:"server,omitempty"`
	Version string `json:"version,omitempty"`
	// Error says why the cluster cannot be reached.
	Error string `json:"error,omitempty"`
}

// ListClusters reports every cluster the worker knows and whether it
// answers.
func (a *Activities) ListClusters(ctx context.Context) ([]ClusterInfo, error) {
	if a.Registry == nil {
		return nil, nil
	}
	var out []ClusterInfo
	for _, name := range a.Registry.Names(ctx) {
		info := ClusterInfo{Name: name}
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
