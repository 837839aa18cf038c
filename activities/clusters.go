package activities

import (
	"context"
	"time"

	"github.com/velaflow/velaflow/activities/kube"
	"github.com/velaflow/velaflow/stepio"
	"github.com/velaflow/velaflow/translator"
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

// templateKinds are the objects a cluster's templates are made of:
// Workflows and the step definitions they use.
var templateKinds = []struct{ apiVersion, kind string }{
	{translator.GroupV1alpha1, translator.KindWorkflow},
	{translator.GroupV1beta1, translator.KindWorkflowStepDefinition},
}

// ClusterTemplates are the Workflow templates (and step definitions) in
// the worker's default cluster for runs of a namespace: those of
// vela-system, then the namespace's own, which win, as the controller
// resolves them. A cluster without KubeVela's kinds has none.
func (a *Activities) ClusterTemplates(ctx context.Context, namespace string) ([]translator.Source, error) {
	if a.Registry == nil {
		return nil, nil
	}
	c, err := a.Registry.Get(ctx, kube.DefaultName)
	if err != nil {
		return nil, nil // no default cluster
	}
	var out []translator.Source
	for _, ns := range []string{"vela-system", namespace} {
		for _, k := range templateKinds {
			list, err := c.List(ctx, k.apiVersion, k.kind, kube.Filter{Namespace: ns})
			if kube.IsNotServed(err) {
				continue
			}
			if err != nil {
				return nil, err
			}
			items, _ := list["items"].([]any)
			for _, item := range items {
				obj, _ := item.(map[string]any)
				obj["apiVersion"], obj["kind"] = k.apiVersion, k.kind
				src, err := translator.ObjectSource(obj, "spec", "mode", "steps", "concurrency")
				if err != nil {
					return nil, err
				}
				out = append(out, src)
			}
		}
		if namespace == "vela-system" {
			break
		}
	}
	return out, nil
}
