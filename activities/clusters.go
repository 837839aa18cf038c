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
