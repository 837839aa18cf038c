package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/velaflow/velaflow/runs"
	"github.com/velaflow/velaflow/workflows"
)

func newListCmd(g *globals) *cobra.Command {
	var ns, output, phase, schedule string
	var all, watch bool
	cmd := &cobra.Command{
		Use:   "list [-n NS | -A] [--phase P] [--schedule S] [-o json|yaml|wide] [--watch]",
		Short: "List runs, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if phase != "" && !slices.Contains(workflows.RunPhases, phase) {
				return &exitError{code: 2, err: fmt.Errorf("--phase %q: want one of %s", phase, strings.Join(workflows.RunPhases, ", "))}
			}
			if !slices.Contains([]string{"", "wide", "json", "yaml"}, output) {
				return &exitError{code: 2, err: fmt.Errorf("unknown output %q (json, yaml or wide)", output)}
			}
			opts := runs.ListOptions{Namespace: ns, Phase: phase, Schedule: schedule}
			if all && schedule != "" {
				return &exitError{code: 2, err: fmt.Errorf("--schedule names a schedule of one namespace: give -n, not -A")}
			}
			if all {
				opts.Namespace = ""
			}
			rc, closeFn, err := g.runs()
			if err != nil {
				return err
			}
			defer closeFn()
			list, err := rc.ListRuns(cmd.Context(), opts)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			switch output {
			case "json":
				return printJSON(cmd, orEmptyList(list))
			case "yaml":
				return printYAML(cmd, orEmptyList(list))
			}
			printRuns(w, list, output == "wide")
			if watch {
				return watchRuns(cmd, rc, opts, list, output == "wide")
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&ns, "namespace", "n", "default", "the runs' namespace")
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "runs of every namespace")
	cmd.Flags().StringVar(&schedule, "schedule", "", "only runs this schedule (of the namespace) started")
	cmd.Flags().StringVar(&phase, "phase", "", "only runs in this phase: "+strings.Join(workflows.RunPhases, ", "))
	cmd.Flags().StringVarP(&output, "output", "o", "", "json, yaml, or wide (with the workflow ID)")
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "after the list, print a line for each run that starts or changes phase")
	return cmd
}

// orEmptyList prints an empty list as [], not null.
func orEmptyList[T any](l []T) []T {
	if l == nil {
		return []T{}
	}
	return l
}

// printRuns prints runs as a table.
func printRuns(w io.Writer, list []runs.Summary, wide bool) {
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	head := "NAMESPACE\tNAME\tPHASE\tSTARTED\tDURATION"
	if wide {
		head += "\tWORKFLOW ID"
	}
	fmt.Fprintln(tw, head)
	for _, r := range list {
		fmt.Fprintln(tw, runLine(r, wide))
	}
	tw.Flush()
}

func runLine(r runs.Summary, wide bool) string {
	dur := "-"
	if r.End != nil {
		dur = duration(r.End.Sub(r.Start))
	}
	line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s", r.Namespace, r.Name, r.Phase, r.Start.Local().Format(time.RFC3339), dur)
	if wide {
		line += "\t" + r.WorkflowID
	}
	return line
}

// watchRuns prints a line whenever a run starts or changes phase, until
// interrupted. Temporal's visibility has no watch: it is read every
// second.
func watchRuns(cmd *cobra.Command, rc *runs.Client, opts runs.ListOptions, list []runs.Summary, wide bool) error {
	seen := map[string]string{}
	for _, r := range list {
		seen[r.WorkflowID] = r.Phase
	}
	for {
		select {
		case <-cmd.Context().Done():
			return nil
		case <-time.After(time.Second):
		}
		now, err := rc.ListRuns(cmd.Context(), opts)
		if err != nil {
			return err
		}
		var changed []runs.Summary
		for _, r := range now {
			if seen[r.WorkflowID] != r.Phase {
				seen[r.WorkflowID] = r.Phase
				changed = append(changed, r)
			}
		}
		slices.Reverse(changed) // oldest first, as they happened
		tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 2, 2, ' ', 0)
		for _, r := range changed {
			fmt.Fprintln(tw, runLine(r, wide))
		}
		tw.Flush()
	}
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

func newDeleteCmd(g *globals) *cobra.Command {
	var ns string
	cmd := &cobra.Command{
		Use:   "delete NAME [-n NS]",
		Short: "Delete a run: terminate it if it still runs, and remove it and its history",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rc, closeFn, err := g.runs()
			if err != nil {
				return err
			}
			defer closeFn()
			if err := rc.Delete(cmd.Context(), ns, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted run %s/%s\n", ns, args[0])
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
