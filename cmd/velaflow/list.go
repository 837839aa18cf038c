package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/velaflow/velaflow/workflows"
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

func newRestartCmd(g *globals) *cobra.Command {
	var ns, step string
	var wait bool
	cmd := &cobra.Command{
		Use:   "restart NAME [--step STEP] [-n NS] [--wait]",
		Short: "Run a run again: from the start, or from a failed step",
		Long: "Restart a run under the same name with the plan it was started with.\n" +
			"Without --step the whole run starts over. With --step, only that failed step (or sub-step)\n" +
			"and the steps after it or depending on it run again; their outputs are cleared and every\n" +
			"other step keeps its result. A run still going is terminated first.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rc, closeFn, err := g.runs()
			if err != nil {
				return err
			}
			defer closeFn()
			run, err := rc.Restart(cmd.Context(), ns, args[0], step)
			if err != nil {
				return err
			}
			from := "the start"
			if step != "" {
				from = "step " + step
			}
			fmt.Fprintf(cmd.OutOrStdout(), "restarted run %s/%s from %s (run %s)\n", ns, args[0], from, run.GetRunID())
			if !wait {
				return nil
			}
			final, err := waitRun(cmd.Context(), cmd, g, ns, args[0], true)
			if err != nil {
				return err
			}
			if final.Status.Phase != workflows.RunSucceeded {
				return &exitError{code: 1, err: fmt.Errorf("the run did not succeed")}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&ns, "namespace", "n", "default", "the run's namespace")
	cmd.Flags().StringVar(&step, "step", "", "the failed step to restart from")
	cmd.Flags().BoolVar(&wait, "wait", false, "print progress and exit 0 if the run succeeds, 1 otherwise")
	return cmd
}
