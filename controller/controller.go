// Package controller is velaflow's Kubernetes-native mode: it runs
// WorkflowRun objects applied to a cluster on Temporal, as the KubeVela
// Workflow controller runs them, and carries the operations KubeVela's
// tooling writes into their status to the runs. The runs write their
// status into the objects (workflows/mirror.go).
package controller

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	crcontroller "sigs.k8s.io/controller-runtime/pkg/controller"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/velaflow/velaflow/runs"
)

// Options configure the controller.
type Options struct {
	// ClusterName is the name workers know this cluster by ("local": their
	// default cluster); runs write their status through it.
	ClusterName string
	// Namespace limits the controller to one namespace ("": all).
	Namespace string
	// SystemNamespace holds the definitions every namespace's runs see.
	SystemNamespace string
	// LeaderElection lets one of several replicas work at a time, holding
	// a Lease named LeaderElectionID in LeaderElectionNamespace.
	LeaderElection          bool
	LeaderElectionID        string
	LeaderElectionNamespace string
	// MetricsAddress and HealthAddress serve Prometheus metrics and the
	// /healthz and /readyz probes ("0": off).
	MetricsAddress, HealthAddress string
	// Workers is how many objects are handled at once.
	Workers int
	// QPS and Burst bound the controller's requests to the API server.
	QPS   float32
	Burst int
}

// Run runs the controller until ctx ends.
func Run(ctx context.Context, cfg *rest.Config, rc *runs.Client, opts Options) error {
	mgr, err := newManager(cfg, opts)
	if err != nil {
		return err
	}
	if _, err := mgr.GetRESTMapper().RESTMapping(runGVK.GroupKind(), runGVK.Version); err != nil {
		if meta.IsNoMatchError(err) {
			return fmt.Errorf("the cluster has no WorkflowRun kind (%s): install the CRDs first (velaflow install crds)", runGVK.GroupVersion())
		}
		return fmt.Errorf("controller: %w", err)
	}
	r := &Reconciler{opts: opts, client: mgr.GetClient(), reader: mgr.GetAPIReader(), runs: rc,
		recorder: mgr.GetEventRecorder("velaflow-controller"), written: map[string]string{}, sent: map[string]string{}}
	run := &unstructured.Unstructured{}
	run.SetGroupVersionKind(runGVK)
	err = ctrl.NewControllerManagedBy(mgr).For(run).Named("workflowrun").
		WithOptions(crcontroller.Options{MaxConcurrentReconciles: opts.Workers}).
		Complete(r)
	if err != nil {
		return err
	}
	return mgr.Start(ctx)
}

func newManager(cfg *rest.Config, opts Options) (ctrl.Manager, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = opts.QPS, opts.Burst
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	mo := ctrl.Options{
		Scheme:                        scheme,
		LeaderElection:                opts.LeaderElection,
		LeaderElectionID:              opts.LeaderElectionID,
		LeaderElectionNamespace:       opts.LeaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
		Metrics:                       metricsserver.Options{BindAddress: opts.MetricsAddress},
		HealthProbeBindAddress:        opts.HealthAddress,
		GracefulShutdownTimeout:       ptr(10 * time.Second),
	}
	if opts.Namespace != "" {
		mo.Cache = cache.Options{DefaultNamespaces: map[string]cache.Config{opts.Namespace: {}}}
	}
	mgr, err := ctrl.NewManager(cfg, mo)
	if err != nil {
		return nil, fmt.Errorf("controller: %w", err)
	}
	if opts.HealthAddress != "0" && opts.HealthAddress != "" {
		if err := mgr.AddHealthzCheck("ping", func(_ *http.Request) error { return nil }); err != nil {
			return nil, err
		}
		if err := mgr.AddReadyzCheck("ping", func(_ *http.Request) error { return nil }); err != nil {
			return nil, err
		}
	}
	return mgr, nil
}

func ptr[T any](v T) *T { return &v }
