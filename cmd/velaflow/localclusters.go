package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"k8s.io/client-go/dynamic"

	"github.com/velaflow/velaflow/deploy/crds"
	"github.com/velaflow/velaflow/localstack/kubestack"
)

// localClusters are Kubernetes control planes `velaflow dev` starts on
// loopback (an etcd and a kube-apiserver each, from bin/), for developing
// and trying step types without a real cluster. There is no kubelet: pods
// do not run, and something must play the operators.
type localClusters struct {
	clusters []*kubestack.Cluster
	// file lists them in the --clusters format.
	file string
}

// installOwnCRDs installs KubeVela Workflow's kinds, as `velaflow install
// crds` does, so kubectl knows WorkflowRuns in a local cluster too.
func installOwnCRDs(ctx context.Context, c *kubestack.Cluster) error {
	dc, err := dynamic.NewForConfig(c.RESTConfig())
	if err != nil {
		return err
	}
	_, err = crds.Install(ctx, dc)
	return err
}

// startLocalClusters starts the named clusters under dir (their data is
// kept there across restarts), installs the CRDs, and writes a clusters
// file.
func startLocalClusters(ctx context.Context, names []string, dir string, crds []string, out io.Writer) (*localClusters, error) {
	var crdData [][]byte
	for _, p := range crds {
		files, err := yamlFiles(p)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			crdData = append(crdData, b)
		}
	}
	lc := &localClusters{clusters: make([]*kubestack.Cluster, len(names))}
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := kubestack.Start(ctx, kubestack.Options{Name: name, Dir: filepath.Join(dir, name)})
			if err == nil {
				err = installOwnCRDs(ctx, c)
			}
			if err == nil && len(crdData) > 0 {
				err = kubestack.InstallCRDs(ctx, c.RESTConfig(), crdData...)
			}
			lc.clusters[i], errs[i] = c, err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			lc.stop()
			return nil, fmt.Errorf("local cluster %s: %w", names[i], err)
		}
	}
	var b strings.Builder
	b.WriteString("clusters:\n")
	for _, c := range lc.clusters {
		fmt.Fprintf(&b, "  - {name: %s, kubeconfig: %s}\n", c.Name, c.Kubeconfig)
		fmt.Fprintf(out, "cluster %-10s %s  (kubeconfig %s)\n", c.Name, c.Server, c.Kubeconfig)
	}
	lc.file = filepath.Join(dir, "clusters.yaml")
	if err := os.WriteFile(lc.file, []byte(b.String()), 0o644); err != nil {
		lc.stop()
		return nil, err
	}
	return lc, nil
}

func (lc *localClusters) stop() {
	for _, c := range lc.clusters {
		if c != nil {
			_ = c.Stop()
		}
	}
}

// yamlFiles is p itself, or the .yaml/.yml/.json files in folder p.
func yamlFiles(p string) ([]string, error) {
	info, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return []string{p}, nil
	}
	var out []string
	for _, ext := range []string{"*.yaml", "*.yml", "*.json"} {
		m, _ := filepath.Glob(filepath.Join(p, ext))
		out = append(out, m...)
	}
	return out, nil
}
