package testsuite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	sdkworker "go.temporal.io/sdk/worker"
	"k8s.io/client-go/dynamic"

	"github.com/velaflow/velaflow/activities/kube"
	"github.com/velaflow/velaflow/localstack/kubestack"
	"github.com/velaflow/velaflow/worker"
)

// kubeBed is the Kubernetes test bed the kube tests share: two real
// clusters, "shanghai" (also the worker's default cluster) and "us-west",
// each an etcd and a kube-apiserver, with the ImagePullJob CRD installed;
// a third name, "restricted", reaches shanghai as a user RBAC forbids
// everything. A worker on its own task queue knows all three.
type kubeBed struct {
	clusters  map[string]*kubestack.Cluster
	taskQueue string
	worker    sdkworker.Worker
	watch     bool
}

const kubeTaskQueue = "velaflow-kube"

// bedReach is the bed worker's namespace policy: every run reaches
// vela-system too (KubeVela's vela-cli and addon steps run Jobs there, as
// a worker for KubeVela's definitions would allow with
// --allow-namespaces vela-system), and runs in reach-platform reach
// everything.
var bedReach = &kube.Reach{Rules: []kube.ReachRule{
	kube.AllowNamespaces([]string{"vela-system"}),
	{Runs: []string{"reach-platform"}, Reach: []string{"*"}},
}}

var (
	bedOnce sync.Once
	bed     *kubeBed
	bedErr  error
	// stopBed stops what the bed started; TestMain calls it.
	stopBed = func() {}
)

// theKubeBed starts the test bed the first time a test needs it.
func theKubeBed(t testing.TB) *kubeBed {
	t.Helper()
	bedOnce.Do(func() { bed, bedErr = startKubeBed() })
	require.NoError(t, bedErr, "start the Kubernetes test bed")
	return bed
}

func startKubeBed() (*kubeBed, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	if _, err := kubestack.FindBinDir(filepath.Join(root, "bin")); err != nil {
		return nil, fmt.Errorf("the Kubernetes test bed needs bin/kube-apiserver and bin/etcd (run `make kube`; make test does): %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b := &kubeBed{clusters: map[string]*kubestack.Cluster{}, taskQueue: kubeTaskQueue, watch: true}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var errs []error
	for _, name := range []string{"shanghai", "us-west"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := kubestack.Start(ctx, kubestack.Options{Name: name, BinDir: filepath.Join(root, "bin")})
			if err == nil {
				err = kubestack.InstallCRDs(ctx, c.RESTConfig(), []byte(imagePullJobCRD))
			}
			mu.Lock()
			defer mu.Unlock()
			if c != nil {
				b.clusters[name] = c
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("cluster %s: %w", name, err))
			}
		}()
	}
	wg.Wait()
	stopBed = func() {
		if b.worker != nil {
			b.worker.Stop()
		}
		for _, c := range b.clusters {
			_ = c.Stop()
		}
	}
	if len(errs) > 0 {
		stopBed()
		return nil, errs[0]
	}
	dir, err := os.MkdirTemp("", "velaflow-kubebed-")
	if err != nil {
		return nil, err
	}
	file := filepath.Join(dir, "clusters.yaml")
	content := fmt.Sprintf("clusters:\n  - {name: shanghai, kubeconfig: %s}\n  - {name: us-west, kubeconfig: %s}\n  - {name: restricted, kubeconfig: %s}\n",
		b.clusters["shanghai"].Kubeconfig, b.clusters["us-west"].Kubeconfig, b.clusters["shanghai"].LimitedKubeconfig)
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		return nil, err
	}
	reg, err := kube.NewRegistry(kube.Options{Kubeconfig: b.clusters["shanghai"].Kubeconfig, ClustersFile: file})
	if err != nil {
		stopBed()
		return nil, err
	}
	b.worker = worker.New(shared.client, worker.Options{TaskQueue: kubeTaskQueue, Engine: harnessEngine(), Clusters: reg, RootCAs: testCA.pool, Reach: bedReach})
	if err := b.worker.Start(); err != nil {
		stopBed()
		return nil, err
	}
	return b, nil
}

// dyn is an admin dynamic client of a bed cluster, for the test's own
// reads and the status patches an operator would make.
func (b *kubeBed) dyn(t *testing.T, cluster string) dynamic.Interface {
	t.Helper()
	d, err := dynamic.NewForConfig(b.clusters[cluster].RESTConfig())
	require.NoError(t, err)
	return d
}

// velaflow runs the CLI against the bed's worker (its task queue).
func (b *kubeBed) velaflow(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	out, errOut, code, err := runCLI(time.Now().Add(3*time.Minute), shared.address, b.taskQueue, args...)
	if err != nil {
		t.Fatalf("velaflow %v: %v", args, err)
	}
	return out, errOut, code
}
