// Package worker builds a Temporal worker that runs velaflow: the
// WorkflowRun workflow and the step activities, on one task queue. Scale out
// by starting more workers on the same queue.
package worker

import (
	"context"
	"crypto/x509"
	"reflect"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/velaflow/velaflow/activities"
	"github.com/velaflow/velaflow/activities/kube"
	"github.com/velaflow/velaflow/activities/ops"
	"github.com/velaflow/velaflow/cuedefs"
	"github.com/velaflow/velaflow/metrics"
	"github.com/velaflow/velaflow/stepio"
	"github.com/velaflow/velaflow/translator"
	"github.com/velaflow/velaflow/workflows"
)

// Options configure a worker.
type Options struct {
	TaskQueue string
	Engine    workflows.Config
	// Definitions serve plans that do not pin a step type's template.
	Definitions map[string]cuedefs.Definition
	// Templates are the Workflow templates the worker hands to the CLI
	// (run --ref) when it asks.
	Templates []translator.Source
	// Clusters are the Kubernetes clusters steps may use; nil for none.
	Clusters *kube.Registry
	// Reach is which namespaces besides their own runs may change objects
	// in and read Secrets from; nil allows each run its own namespace
	// alone.
	Reach *kube.Reach
	// NoWatch leaves waiting steps to their backoff timer alone: no watch
	// wakes them when an object they read changes.
	NoWatch bool
	// RootCAs are the certificate authorities that operations' TLS
	// connections (HTTPS, SMTP) trust; nil means the system's.
	RootCAs *x509.CertPool
	// LogLevel is the highest #Log level steps keep (0: the default, 3).
	LogLevel int
	// OpenAIBaseURL is an OpenAI-compatible server that requests to the
	// OpenAI API go to instead ("": the API itself).
	OpenAIBaseURL string
	// Tuning sizes the worker; zero fields take DefaultTuning's.
	Tuning Tuning
	// DataConverter is the client's, for the plans read from history
	// (nil: the SDK's default).
	DataConverter converter.DataConverter
	// Metrics records step executions (nil: none); the client reports the
	// SDK's and the runs' metrics through Metrics.Handler.
	Metrics *metrics.Metrics
}

// Tuning sizes a worker: how many executions it runs at once, how many
// pollers ask for work, and how long a stop waits for executions under way.
type Tuning struct {
	// Concurrent step activities, workflow tasks and local activities
	// (pure steps) the worker runs at once.
	MaxActivities, MaxWorkflowTasks, MaxLocalActivities int
	// Pollers of activity and workflow tasks (0: the SDK's, 2 each).
	ActivityPollers, WorkflowTaskPollers int
	// StopTimeout is how long Stop waits for activities under way to
	// finish before cancelling them; a step cut off is retried elsewhere.
	StopTimeout time.Duration
}

// DefaultTuning is sized for many small runs: executions are short CUE
// evaluations and a waiting step holds no slot. A stop waits 20 s, inside
// Kubernetes' default grace period of 30.
var DefaultTuning = Tuning{MaxActivities: 200, MaxWorkflowTasks: 200, MaxLocalActivities: 200, StopTimeout: 20 * time.Second}

// withDefaults fills the zero fields from DefaultTuning.
func (t Tuning) withDefaults() Tuning {
	d := DefaultTuning
	pick := func(v, def int) int {
		if v > 0 {
			return v
		}
		return def
	}
	t.MaxActivities = pick(t.MaxActivities, d.MaxActivities)
	t.MaxWorkflowTasks = pick(t.MaxWorkflowTasks, d.MaxWorkflowTasks)
	t.MaxLocalActivities = pick(t.MaxLocalActivities, d.MaxLocalActivities)
	if t.StopTimeout == 0 {
		t.StopTimeout = d.StopTimeout
	}
	return t
}

// New registers velaflow's workflow and activities on a new worker.
func New(c client.Client, opts Options) sdkworker.Worker {
	if opts.TaskQueue == "" {
		opts.TaskQueue = workflows.DefaultTaskQueue
	}
	if reflect.ValueOf(opts.Engine).IsZero() {
		opts.Engine = workflows.DefaultConfig()
	}
	if opts.Engine.PureOperations == nil {
		opts.Engine.PureOperations = ops.PureOperations()
	}
	if opts.Definitions == nil {
		opts.Definitions = cuedefs.Builtins()
	}
	t := opts.Tuning.withDefaults()
	w := sdkworker.New(c, opts.TaskQueue, sdkworker.Options{
		MaxConcurrentActivityExecutionSize:      t.MaxActivities,
		MaxConcurrentWorkflowTaskExecutionSize:  t.MaxWorkflowTasks,
		MaxConcurrentLocalActivityExecutionSize: t.MaxLocalActivities,
		MaxConcurrentActivityTaskPollers:        t.ActivityPollers,
		MaxConcurrentWorkflowTaskPollers:        t.WorkflowTaskPollers,
		WorkerStopTimeout:                       t.StopTimeout,
	})
	eng := &workflows.Engine{Config: opts.Engine}
	w.RegisterWorkflowWithOptions(eng.Run, workflow.RegisterOptions{Name: workflows.WorkflowName})
	w.RegisterWorkflowWithOptions(eng.RunGroup, workflow.RegisterOptions{Name: workflows.GroupWorkflowName})
	w.RegisterWorkflowWithOptions(workflows.ListClusters, workflow.RegisterOptions{Name: workflows.ListClustersName})
	defs := opts.Definitions
	templates := opts.Templates
	infos := &workflows.Workers{
		StepTypes: func() map[string]cuedefs.Definition { return defs },
		Templates: func() []translator.Source { return templates },
	}
	w.RegisterWorkflowWithOptions(infos.Run, workflow.RegisterOptions{Name: workflows.WorkersName})
	w.RegisterWorkflowWithOptions(workflows.Lock, workflow.RegisterOptions{Name: stepio.LockName})
	locks := &activities.Locks{Client: c}
	w.RegisterActivityWithOptions(locks.AcquireLock, activity.RegisterOptions{Name: stepio.AcquireLockName})
	w.RegisterActivityWithOptions(locks.HolderAlive, activity.RegisterOptions{Name: stepio.HolderAliveName})
	w.RegisterActivityWithOptions(locks.TerminateHolder, activity.RegisterOptions{Name: stepio.TerminateHolderName})
	acts := &activities.Activities{Definitions: opts.Definitions, Registry: opts.Clusters, Reach: opts.Reach, Metrics: opts.Metrics, RootCAs: opts.RootCAs, LogLevel: opts.LogLevel, OpenAIBaseURL: opts.OpenAIBaseURL,
		PlanDefinitions: activities.HistoryPlanDefinitions(c.WorkflowService(), opts.DataConverter), Heartbeats: c}
	if opts.Clusters != nil && !opts.NoWatch {
		acts.Watcher = &kube.Watcher{Registry: opts.Clusters, Wake: func(ctx context.Context, workflowID, step string) error {
			return c.SignalWorkflow(ctx, workflowID, "", workflows.SignalWake, step)
		}}
	}
	w.RegisterActivityWithOptions(acts.ListClusters, activity.RegisterOptions{Name: stepio.ListClustersName})
	w.RegisterActivityWithOptions(acts.ExecuteStep, activity.RegisterOptions{Name: stepio.ExecuteStepName})
	w.RegisterActivityWithOptions(acts.EvaluateCondition, activity.RegisterOptions{Name: stepio.EvaluateConditionName})
	w.RegisterActivityWithOptions(acts.MirrorStatus, activity.RegisterOptions{Name: stepio.MirrorStatusName})
	w.RegisterActivityWithOptions(acts.ClusterNames, activity.RegisterOptions{Name: stepio.ClusterNamesName})
	w.RegisterActivityWithOptions(acts.ClusterTemplates, activity.RegisterOptions{Name: stepio.ClusterTemplatesName})
	if acts.Watcher != nil {
		return &watchingWorker{Worker: w, watcher: acts.Watcher}
	}
	return w
}

// watchingWorker ends its watches when it stops: none outlives it.
type watchingWorker struct {
	sdkworker.Worker
	watcher *kube.Watcher
}

func (w *watchingWorker) Stop() {
	w.Worker.Stop()
	w.watcher.Stop()
}
