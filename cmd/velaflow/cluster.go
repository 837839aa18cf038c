package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/velaflow/velaflow/stepio"
	"github.com/velaflow/velaflow/workflows"
)

func newClusterCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "cluster", Short: "The Kubernetes clusters workers reach"}
	list := &cobra.Command{
		Use:   "list",
		Short: "Ask a worker which clusters it reaches, and whether they answer",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
				ID:                       "velaflow-cluster-list-" + uuid.NewString(),
				TaskQueue:                g.taskQueue,
				WorkflowExecutionTimeout: 30 * time.Second,
			}, workflows.ListClustersName)
			if err != nil {
				return err
			}
			var infos []stepio.ClusterInfo
			if err := run.Get(ctx, &infos); err != nil {
				if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
					return fmt.Errorf("no worker on task queue %q answered within 30s", g.taskQueue)
				}
				return err
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
