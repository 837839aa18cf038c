package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/velaflow/velaflow/runs"
	"github.com/velaflow/velaflow/stepio"
)

func newClusterCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "cluster", Short: "The Kubernetes clusters workers reach"}
	list := &cobra.Command{
		Use:   "list",
		Short: "Ask a worker which clusters it reaches, and whether they answer",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var infos []stepio.ClusterInfo
			err := g.askWorkers(cmd.Context(), 30*time.Second, func(ctx context.Context, rc *runs.Client) (err error) {
				infos, err = rc.WorkerClusters(ctx)
				return err
			})
			if err != nil {
				return err
			}
			if len(infos) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "the workers of task queue %s know no Kubernetes cluster (velaflow worker --kubeconfig, --clusters)\n", g.taskQueue)
				return nil
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSERVER\tVERSION\tSTATUS")
			for _, i := range infos {
				status := "ok"
				if i.Error != "" {
					status = i.Error
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", i.Name, i.Server, i.Version, status)
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(list)
	return cmd
}
