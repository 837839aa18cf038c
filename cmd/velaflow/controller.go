package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/velaflow/velaflow/activities/kube"
	"github.com/velaflow/velaflow/controller"
)

func newControllerCmd(g *globals) *cobra.Command {
	var kubeconfig, kubeContext string
	var verbose bool
	opts := controller.Options{}
	c := &cobra.Command{
		Use:   "controller",
		Short: "Run WorkflowRun objects of a Kubernetes cluster on Temporal (Kubernetes-native mode)",
		Long: `Watch WorkflowRun objects (core.oam.dev/v1alpha1) in a cluster and run each
on Temporal, with the cluster's Workflows and WorkflowStepDefinitions (the
run's namespace first, then --system-namespace) pinned at its start. Each
run writes its status into its object, and the operations KubeVela's
tooling writes into .status (vela workflow suspend|resume|terminate|restart,
kubectl patch --subresource=status) reach the run. Deleting an object
terminates its run. Several replicas may run: one works at a time
(leader election). Workers must know the cluster as --cluster-name.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			ctrl.SetLogger(logr.FromSlogHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
			rules := clientcmd.NewDefaultClientConfigLoadingRules()
			rules.ExplicitPath = kubeconfig
			cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kubeContext}).ClientConfig()
			if err != nil {
				return &exitError{code: 2, err: fmt.Errorf("kubeconfig: %w", err)}
			}
			if opts.LeaderElectionNamespace == "" {
				opts.LeaderElectionNamespace = opts.SystemNamespace
				if opts.Namespace != "" {
					opts.LeaderElectionNamespace = opts.Namespace
				}
			}
			rc, closeRuns, err := g.runs()
			if err != nil {
				return err
			}
			defer closeRuns()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return controller.Run(ctx, cfg, rc, opts)
		},
	}
	f := c.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the cluster (default: $KUBECONFIG, then in-cluster, then ~/.kube/config)")
	f.StringVar(&kubeContext, "context", "", "kubeconfig context (default: the current one)")
	f.StringVar(&opts.ClusterName, "cluster-name", kube.DefaultName, "the name workers know this cluster by (their default cluster is \"local\")")
	f.StringVar(&opts.Namespace, "namespace", "", "watch only this namespace (default: all)")
	f.StringVar(&opts.SystemNamespace, "system-namespace", "vela-system", "namespace whose Workflows and WorkflowStepDefinitions every namespace's runs see")
	f.BoolVar(&opts.LeaderElection, "leader-elect", true, "let one replica work at a time")
	f.StringVar(&opts.LeaderElectionID, "leader-election-id", "velaflow-controller", "name of the Lease the replicas share")
	f.StringVar(&opts.LeaderElectionNamespace, "leader-election-namespace", "", "namespace of the Lease (default: --namespace, else --system-namespace)")
	f.StringVar(&opts.MetricsAddress, "metrics-address", "0", "serve Prometheus metrics here (\"0\": off)")
	f.StringVar(&opts.HealthAddress, "health-address", "0", "serve /healthz and /readyz here (\"0\": off)")
	f.IntVar(&opts.Workers, "workers", 16, "objects handled at once")
	f.Float32Var(&opts.QPS, "kube-qps", 100, "requests per second to the API server, on average")
	f.IntVar(&opts.Burst, "kube-burst", 200, "requests to the API server at once, at most")
	f.BoolVarP(&verbose, "verbose", "v", false, "log every operation")
	return c
}
