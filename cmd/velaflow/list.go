package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

func newListCmd(g *globals) *cobra.Command {
	var ns string
	cmd := &cobra.Command{
		Use:   "list [-n NS]",
		Short: "List runs, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rc, closeFn, err := g.runs()
			if err != nil {
				return err
			}
			defer closeFn()
			list, err := rc.List(cmd.Context(), ns)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 2, 2, ' ', 0)
			fmt.Fprintln(tw, "NAMESPACE\tNAME\tPHASE\tSTARTED\tDURATION")
			for _, r := range list {
				dur := "-"
				if r.End != nil {
					dur = r.End.Sub(r.Start).Round(time.Millisecond).String()
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Namespace, r.Name, r.Phase, r.Start.Format(time.RFC3339), dur)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVarP(&ns, "namespace", "n", "", "only runs of this namespace")
	return cmd
}

func newSignalCmd(g *globals, signal, short string) *cobra.Command {
	var ns string
	cmd := &cobra.Command{
		Use:   signal + " NAME [-n NS]",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rc, closeFn, err := g.runs()
			if err != nil {
				return err
			}
			defer closeFn()
			if err := rc.Signal(cmd.Context(), ns, args[0], signal); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "sent %s to run %s/%s\n", signal, ns, args[0])
			return nil
		},
	}
	cmd.Flags().StringVarP(&ns, "namespace", "n", "default", "the run's namespace")
	return cmd
}
