package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/velaflow/velaflow/deploy/crds"
)

func newInstallCmd() *cobra.Command {
	install := &cobra.Command{Use: "install", Short: "Install what velaflow needs in a Kubernetes cluster"}
	var kubeconfig, kubeContext string
	var timeout time.Duration
	c := &cobra.Command{
		Use:   "crds",
		Short: "Apply the WorkflowRun, Workflow and WorkflowStepDefinition CRDs (server-side apply; again and again alike)",
		Long: `Apply velaflow's CustomResourceDefinitions of KubeVela Workflow's kinds:
WorkflowRun and Workflow (core.oam.dev/v1alpha1), WorkflowStepDefinition
(core.oam.dev/v1beta1), and wait until they are Established. Where a
definition of the same name is there and velaflow did not install it
(KubeVela's), it is kept as it is. The cluster is the kubeconfig's, as
kubectl finds it (--kubeconfig, $KUBECONFIG, ~/.kube/config).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rules := clientcmd.NewDefaultClientConfigLoadingRules()
			rules.ExplicitPath = kubeconfig
			cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kubeContext}).ClientConfig()
			if err != nil {
				return fmt.Errorf("kubeconfig: %w", err)
			}
			dc, err := dynamic.NewForConfig(cfg)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			done, err := crds.Install(ctx, dc)
			for _, o := range done {
				if o.Kept {
					fmt.Fprintf(cmd.OutOrStdout(), "kept %s: installed by someone else (KubeVela's), used as it is\n", o.Name)
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "applied %s\n", o.Name)
				}
			}
			return err
		},
	}
	c.Flags().StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)")
	c.Flags().StringVar(&kubeContext, "context", "", "kubeconfig context (default: the current one)")
	c.Flags().DurationVar(&timeout, "timeout", time.Minute, "how long to wait for the cluster")
	install.AddCommand(c)
	return install
}
