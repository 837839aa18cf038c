package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"k8s.io/client-go/kubernetes"

	"github.com/velaflow/velaflow/localstack/devstack"
	"github.com/velaflow/velaflow/localstack/kubestack"
	"github.com/velaflow/velaflow/runs"
	"github.com/velaflow/velaflow/translator"
)

const (
	velaflowQueue = "bench-velaflow"
	baselineQueue = "bench-baseline"
)

// bench is the sitting's stack: one dev server, one Kubernetes cluster,
// velaflow's worker and the baseline's worker, each its own process.
type bench struct {
	s         settings
	dir       string
	server    *testsuite.DevServer
	serverPID int
	c         client.Client
	runs      *runs.Client
	cluster   *kubestack.Cluster
	kube      kubernetes.Interface
	velaflow  *process
	baseline  *process
	plans     map[string]*translator.Plan // by workload: print20, burst, wait
	cli       string                      // bin/velaflow

	mu  sync.Mutex
	seq int // makes run names unique
}

func setUp(ctx context.Context, s settings) (b *bench, err error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	cli := filepath.Join(root, "bin", "velaflow")
	if _, err := os.Stat(cli); err != nil {
		return nil, fmt.Errorf("%s is missing: make bench builds it", cli)
	}
	b = &bench{s: s}
	if b.dir, err = os.MkdirTemp("", "velaflow-bench-"); err != nil {
		return nil, err
	}
	started := b // the returns below set b to nil
	defer func() {
		if err != nil {
			started.tearDown()
		}
	}()
	fmt.Println("starting a dev server, a Kubernetes cluster and the workers ...")
	serverLog, err := os.Create(filepath.Join(b.dir, "temporal.log"))
	if err != nil {
		return nil, err
	}
	opts := devstack.Options{TemporalPath: filepath.Join(root, "bin", "temporal"), ExtraArgs: s.serverArgs, Stdout: serverLog, Stderr: serverLog}
	if !s.memoryDB {
		opts.DBFile = filepath.Join(b.dir, "temporal.db")
	}
	startCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if b.server, err = devstack.Start(startCtx, opts); err != nil {
		return nil, fmt.Errorf("start the dev server: %w", err)
	}
	b.c = b.server.Client()
	b.runs = runs.New(b.c, velaflowQueue)
	if b.serverPID, err = childNamed("temporal"); err != nil {
		return nil, err
	}
	if b.cluster, err = kubestack.Start(startCtx, kubestack.Options{Name: "bench", Dir: filepath.Join(b.dir, "kube")}); err != nil {
		return nil, fmt.Errorf("start the Kubernetes cluster: %w", err)
	}
	if b.kube, err = kubernetes.NewForConfig(b.cluster.RESTConfig()); err != nil {
		return nil, err
	}
	b.cli = cli
	if err := b.startWorkers(); err != nil {
		return nil, err
	}
	return b, b.translatePlans()
}

// startWorkers starts velaflow's worker and the baseline's, each its own
// process.
func (b *bench) startWorkers() error {
	addr := b.server.FrontendHostPort()
	var err error
	if b.velaflow, err = startProcess("velaflow worker", filepath.Join(b.dir, "velaflow-worker.log"), b.cli, "worker",
		"--address", addr, "--task-queue", velaflowQueue, "--kubeconfig", b.cluster.Kubeconfig, "--cluster-secrets-namespace", "-",
		// Metrics off, as the baseline worker has none: the ratios compare
		// the engines, not their instrumentation.
		"--metrics-listen", ""); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	b.baseline, err = startProcess("baseline worker", filepath.Join(b.dir, "baseline-worker.log"), self, "baseline-worker",
		"--address", addr, "--task-queue", baselineQueue)
	return err
}

func (b *bench) restartWorkers() error {
	b.velaflow.stop()
	b.baseline.stop()
	return b.startWorkers()
}

func (b *bench) tearDown() {
	for _, p := range []*process{b.velaflow, b.baseline} {
		if p != nil {
			p.stop()
		}
	}
	if b.cluster != nil {
		_ = b.cluster.Stop()
	}
	if b.server != nil {
		_ = b.server.Stop()
	}
	_ = os.RemoveAll(b.dir)
}

// waitConfigMap is a step type written as KubeVela users write them: read
// an object, wait on a field of the result.
const waitConfigMap = `
apiVersion: core.oam.dev/v1beta1
kind: WorkflowStepDefinition
metadata: {name: wait-configmap}
spec:
  schematic:
    cue:
      template: |
        import (
        	"vela/kube"
        	"vela/builtin"
        )
        parameter: {name: string}
        read: kube.#Read & {
        	$params: value: {apiVersion: "v1", kind: "ConfigMap", metadata: {name: parameter.name, namespace: "default"}}
        }
        ready: *read.$returns.value.data.ready | "missing"
        wait: builtin.#ConditionalWait & {
        	$params: {continue: ready == "true", message: "\(parameter.name) is \(ready)"}
        }
`

// translatePlans translates the WorkflowRuns the workloads start, once;
// each run is a copy under a new name.
func (b *bench) translatePlans() error {
	prints := func(name string, n int) string {
		var sb strings.Builder
		fmt.Fprintf(&sb, "apiVersion: core.oam.dev/v1alpha1\nkind: WorkflowRun\nmetadata: {name: %s}\nspec:\n  workflowSpec:\n    steps:\n", name)
		for i := range n {
			fmt.Fprintf(&sb, "      - {name: step%d, type: print-message-in-status, properties: {message: \"step %d\"}}\n", i, i)
		}
		return sb.String()
	}
	docs := map[string]string{
		"print20": prints("print20", 20),
		"burst":   prints("burst", b.s.steps),
		"wait": `apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: wait}
spec:
  workflowSpec:
    steps:
      - {name: wait, type: wait-configmap, properties: {name: to-be-set}}
---` + waitConfigMap,
	}
	b.plans = map[string]*translator.Plan{}
	for name, doc := range docs {
		file := filepath.Join(b.dir, name+".yaml")
		if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
			return err
		}
		plans, err := translator.Translate(translator.Options{Files: []string{file}})
		if err != nil {
			return err
		}
		b.plans[name] = plans[0]
	}
	return nil
}

// next is a number no run of the sitting had.
func (b *bench) next() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	return b.seq
}

// plan is a copy of the workload's plan under the run name numbered seq.
func (b *bench) plan(workload string, seq int) *translator.Plan {
	p := *b.plans[workload]
	p.Name = fmt.Sprintf("%s-%d", workload, seq)
	return &p
}
