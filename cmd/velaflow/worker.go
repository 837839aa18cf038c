package main

import (
	"crypto/x509"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/velaflow/velaflow/activities/kube"
	"github.com/velaflow/velaflow/metrics"
	"github.com/velaflow/velaflow/translator"
	"github.com/velaflow/velaflow/worker"
	"github.com/velaflow/velaflow/workflows"
)

// workerFlags are shared by `worker` and `dev`.
type workerFlags struct {
	defs      []string
	templates []string
	engine    workflows.Config
	kube      kube.Options
	caFile    string
	logLevel  int
	openAI    string
	tuning    worker.Tuning
	sticky    int
	allowNS   []string
	policy    string
	observe   observeFlags
}

func (f *workerFlags) register(cmd *cobra.Command) {
	f.engine = workflows.DefaultConfig()
	cmd.Flags().StringArrayVar(&f.defs, "definitions", nil, "folder or file of definitions for plans that do not pin them; repeatable")
	cmd.Flags().StringArrayVar(&f.templates, "templates", nil, "folder or file of Workflow templates that run --ref finds here (when it is given none); repeatable")
	cmd.Flags().Int32Var(&f.engine.MaxStepErrorRetries, "max-step-error-retry-times", f.engine.MaxStepErrorRetries, "executions of a failing step before FailedAfterRetries")
	cmd.Flags().DurationVar(&f.engine.WaitBackoffMax, "wait-backoff-max", f.engine.WaitBackoffMax, "longest durable wait between executions of a waiting step")
	cmd.Flags().StringVar(&f.kube.Kubeconfig, "kubeconfig", "", "kubeconfig of the default cluster (default: $KUBECONFIG, then in-cluster)")
	cmd.Flags().StringVar(&f.kube.ClustersFile, "clusters", "", "YAML file naming more clusters: clusters: [{name, kubeconfig, context}]")
	cmd.Flags().IntVar(&f.logLevel, "log-level", 3, "highest level of #Log data that steps keep (#Log's level defaults to 3)")
	cmd.Flags().StringVar(&f.openAI, "openai-base-url", os.Getenv("OPENAI_BASE_URL"), "an OpenAI-compatible server that requests to https://api.openai.com/v1 go to (default $OPENAI_BASE_URL)")
	cmd.Flags().StringVar(&f.caFile, "ca-file", "", "PEM certificate authorities that HTTPS and SMTP operations trust besides the system's")
	t := &f.tuning
	*t = worker.DefaultTuning
	cmd.Flags().IntVar(&t.MaxActivities, "max-concurrent-activities", t.MaxActivities, "step executions with I/O run at once")
	cmd.Flags().IntVar(&t.MaxLocalActivities, "max-concurrent-local-activities", t.MaxLocalActivities, "pure step executions (no I/O) run at once")
	cmd.Flags().IntVar(&t.MaxWorkflowTasks, "max-concurrent-workflow-tasks", t.MaxWorkflowTasks, "workflow tasks run at once")
	cmd.Flags().IntVar(&t.ActivityPollers, "activity-pollers", 0, "pollers of step executions (0: the SDK's, 2)")
	cmd.Flags().IntVar(&t.WorkflowTaskPollers, "workflow-task-pollers", 0, "pollers of workflow tasks, at least 2 (0: the SDK's, 2)")
	cmd.Flags().IntVar(&f.sticky, "sticky-cache-size", 0, "runs kept in memory between their workflow tasks, for this process (0: the SDK's, 10000); a run evicted is replayed from its history")
	cmd.Flags().DurationVar(&t.StopTimeout, "stop-timeout", t.StopTimeout, "on SIGTERM or Ctrl-C, how long step executions under way may take to finish before they are cancelled (and retried elsewhere)")
	cmd.Flags().StringSliceVar(&f.allowNS, "allow-namespaces", nil, "namespaces (globs) every run may change objects in and read Secrets from besides its own; \"*\" for all, cluster-scoped objects included")
	cmd.Flags().StringVar(&f.policy, "namespace-policy", "", "YAML file of rules: which runs (by namespace) may reach which namespaces (docs/security.md)")
	cmd.Flags().StringVar(&f.kube.SecretNamespace, "cluster-secrets-namespace", kube.DefaultSecretNamespace, "namespace of the default cluster whose cluster Secrets register clusters (\"-\": none)")
}

func (f *workerFlags) start(c client.Client, taskQueue string, dc converter.DataConverter, m *metrics.Metrics) (sdkworker.Worker, error) {
	if f.tuning.WorkflowTaskPollers == 1 {
		return nil, &exitError{code: 2, err: fmt.Errorf("--workflow-task-pollers 1: want 0 (the SDK's) or at least 2; pollers alternate between the sticky and the shared queue")}
	}
	if f.sticky < 0 {
		return nil, &exitError{code: 2, err: fmt.Errorf("--sticky-cache-size %d: want 0 or more", f.sticky)}
	}
	if f.sticky > 0 {
		sdkworker.SetStickyWorkflowCacheSize(f.sticky)
	}
	catalog := translator.LoadCatalog(f.defs...)
	if len(catalog.Errors) > 0 {
		return nil, &exitError{code: 2, err: catalog.Errors}
	}
	for _, w := range append(catalog.Warnings, catalog.BrokenWarnings()...) {
		fmt.Fprintf(os.Stderr, "warning: %s\n", w)
	}
	defs := catalog.Definitions
	templates, err := translator.TemplateSources(f.templates...)
	if err != nil {
		return nil, &exitError{code: 2, err: fmt.Errorf("--templates: %w", err)}
	}
	reg, err := kube.NewRegistry(f.kube)
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	roots, err := rootCAs(f.caFile)
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	reach, err := f.reach()
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	tuneGC()
	w := worker.New(c, worker.Options{TaskQueue: taskQueue, Engine: f.engine, Definitions: defs, Templates: templates, Clusters: reg, Reach: reach, RootCAs: roots, LogLevel: f.logLevel, OpenAIBaseURL: f.openAI, Tuning: f.tuning, DataConverter: dc, Metrics: m})
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("start worker: %w", err)
	}
	return w, nil
}

// workerGCPercent is the worker's garbage collection target unless GOGC
// says otherwise: a worker holds many waiting runs, and Go's default
// (100) lets its heap grow to twice what they need. Measured with make
// bench at 1000 waiting runs: 261 MiB resident at 100, 150-165 at 50,
// 127-132 at 25; but at 25 the worker's CPU cut 200-run bursts from
// 0.86x to 0.71x the local-activity baseline (docs/operations.md).
const workerGCPercent = 50

func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(workerGCPercent)
	}
}

func newWorkerCmd(g *globals) *cobra.Command {
	f := &workerFlags{}
	cmd := &cobra.Command{
		Use:   "worker [--definitions DIR]...",
		Short: "Run a velaflow worker; start more to scale out",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ob, err := f.observe.start()
			if err != nil {
				return err
			}
			defer ob.close()
			c, err := g.dial(ob.configure)
			if err != nil {
				return err
			}
			defer c.Close()
			w, err := f.start(c, g.taskQueue, g.dataConverter, ob.metrics)
			if err != nil {
				return err
			}
			if err := ob.serve(f.observe.metricsListen, c, metrics.TemporalReady(c)); err != nil {
				w.Stop()
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "worker polling task queue %q at %s\n", g.taskQueue, g.address)
			waitForInterrupt()
			// Stop polls no more and lets executions under way finish
			// for up to --stop-timeout, so none is cut off and repeated.
			fmt.Fprintf(cmd.ErrOrStderr(), "stopping: executions under way have up to %s to finish\n", f.tuning.StopTimeout)
			w.Stop()
			fmt.Fprintln(cmd.ErrOrStderr(), "stopped")
			return nil
		},
	}
	f.register(cmd)
	f.observe.register(cmd, ":9090")
	return cmd
}

// waitForInterrupt returns at the first SIGTERM or Ctrl-C; a second one
// exits at once.
func waitForInterrupt() {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	<-ch
	go func() {
		<-ch
		fmt.Fprintln(os.Stderr, "interrupted again: exiting now")
		os.Exit(130)
	}()
}

// rootCAs is the system's pool plus the certificates of file ("" for the
// system's alone).
func rootCAs(file string) (*x509.CertPool, error) {
	if file == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--ca-file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--ca-file %s: no PEM certificate in it", file)
	}
	return pool, nil
}

// reach is the namespace policy of --namespace-policy and
// --allow-namespaces together.
func (f *workerFlags) reach() (*kube.Reach, error) {
	r := &kube.Reach{}
	if f.policy != "" {
		var err error
		if *r, err = kube.LoadReach(f.policy); err != nil {
			return nil, err
		}
	}
	if len(f.allowNS) > 0 {
		allow := kube.Reach{Rules: []kube.ReachRule{kube.AllowNamespaces(f.allowNS)}}
		if err := allow.Validate(); err != nil {
			return nil, fmt.Errorf("--allow-namespaces: %w", err)
		}
		r.Rules = append(r.Rules, allow.Rules...)
	}
	return r, nil
}
