package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/velaflow/velaflow/runs"
)

func newScheduleCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schedule",
		Short: "Start a run on a schedule (cron or interval), on Temporal Schedules",
		Long: "A schedule starts a run of a WorkflowRun file or of a Workflow template whenever it is due.\n" +
			"Each run is named after the schedule and the time it was due (NAME-2026-12-01T02:00:00Z);\n" +
			"`velaflow list --schedule NAME` lists them. Schedules survive restarts and show in the Web UI.",
	}
	cmd.AddCommand(newScheduleCreateCmd(g), newScheduleListCmd(g), newScheduleDescribeCmd(g),
		newScheduleActCmd(g, "trigger", "Start the schedule's run now (under its overlap policy)"),
		newScheduleActCmd(g, "pause", "Pause a schedule: it starts nothing until unpaused"),
		newScheduleActCmd(g, "unpause", "Unpause a schedule"),
		newScheduleActCmd(g, "delete", "Delete a schedule; the runs it started stay"))
	return cmd
}

func newScheduleCreateCmd(g *globals) *cobra.Command {
	var s runs.Schedule
	var files, defs []string
	var ref refFlags
	cmd := &cobra.Command{
		Use:   "create NAME (--cron EXPR | --every DURATION)... (-f FILE | --ref TEMPLATE [--set k=v]...)",
		Short: "Create a schedule of a run",
		Long: "Validate the run (one WorkflowRun in -f, or a run of --ref with its context) and create a schedule\n" +
			"that starts it when due. The run, with its step definitions, is fixed when the schedule is created;\n" +
			"delete and create the schedule again to change it.\n" +
			"--overlap says what happens when a run is due while the last one still runs: " + strings.Join(runs.OverlapNames(), ", ") + ".",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s.Name = args[0]
			if len(s.Cron) == 0 && len(s.Every) == 0 {
				return &exitError{code: 2, err: fmt.Errorf("give --cron EXPR or --every DURATION")}
			}
			if _, ok := runs.OverlapPolicies[s.Overlap]; !ok {
				return &exitError{code: 2, err: fmt.Errorf("--overlap %q: want one of %s", s.Overlap, strings.Join(runs.OverlapNames(), ", "))}
			}
			if s.TimeZone != "" {
				if _, err := time.LoadLocation(s.TimeZone); err != nil {
					return &exitError{code: 2, err: fmt.Errorf("--timezone %q: %w", s.TimeZone, err)}
				}
			}
			ref.name = s.Name // the schedule names its runs
			opts, err := ref.options(cmd.Context(), g, files, defs)
			if err != nil {
				return err
			}
			res, err := g.translate(cmd.Context(), opts)
			if err != nil {
				return err
			}
			printWarnings(cmd, res.Warnings)
			if len(res.Plans) != 1 {
				return &exitError{code: 2, err: fmt.Errorf("a schedule starts one run: %d WorkflowRuns given", len(res.Plans))}
			}
			plan := res.Plans[0]
			s.Namespace = plan.Namespace
			if cmd.Flags().Changed("namespace") && ref.namespace != plan.Namespace {
				return &exitError{code: 2, err: fmt.Errorf("-n %s: the run in the file is in namespace %s", ref.namespace, plan.Namespace)}
			}
			rc, closeFn, err := g.runs()
			if err != nil {
				return err
			}
			defer closeFn()
			if err := rc.CreateSchedule(cmd.Context(), s, plan); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created schedule %s in namespace %s\n", s.Name, s.Namespace)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&s.Cron, "cron", nil, `when, as a cron expression ("0 2 * * *": minute hour day-of-month month day-of-week); repeatable`)
	f.DurationSliceVar(&s.Every, "every", nil, "when, as a fixed interval (10m, 24h); repeatable")
	f.StringVar(&s.TimeZone, "timezone", "", "IANA time zone of the cron expressions (Europe/Berlin; default UTC)")
	f.StringVar(&s.Overlap, "overlap", "skip", "when a run is due while the last still runs: "+strings.Join(runs.OverlapNames(), ", "))
	f.DurationVar(&s.CatchupWindow, "catchup-window", 0, "how late a run missed while Temporal was down may still start (default: Temporal's, one year)")
	f.BoolVar(&s.Paused, "paused", false, "create the schedule paused")
	f.StringVar(&s.Note, "note", "", "a note shown with the schedule")
	f.StringArrayVarP(&files, "file", "f", nil, "YAML file with the WorkflowRun (and Workflows/definitions)")
	f.StringArrayVar(&defs, "definitions", nil, "folder or file of Workflows and WorkflowStepDefinitions (.yaml/.cue); repeatable")
	f.StringVar(&ref.template, "ref", "", "schedule runs of this Workflow template")
	f.StringVarP(&ref.namespace, "namespace", "n", "default", "with --ref: the schedule's namespace (and the template's)")
	f.StringArrayVar(&ref.sets, "set", nil, "with --ref: a context value, key=value (typed); repeatable")
	f.StringArrayVar(&ref.setStrings, "set-string", nil, "with --ref: a context value kept a string; repeatable")
	f.StringVar(&ref.contextFile, "context-file", "", "with --ref: a YAML or JSON file of context values")
	f.StringArrayVar(&ref.templates, "templates", nil, "with --ref: folder or file of Workflow templates (default: ask the workers)")
	_ = cmd.RegisterFlagCompletionFunc("overlap", cobra.FixedCompletions(runs.OverlapNames(), cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func newScheduleListCmd(g *globals) *cobra.Command {
	var ns, output string
	var all bool
	cmd := &cobra.Command{
		Use:   "list [-n NS | -A] [-o json|yaml]",
		Short: "List schedules",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rc, closeFn, err := g.runs()
			if err != nil {
				return err
			}
			defer closeFn()
			if all {
				ns = ""
			}
			list, err := rc.ListSchedules(cmd.Context(), ns)
			if err != nil {
				return err
			}
			switch output {
			case "json":
				return printJSON(cmd, orEmptyList(list))
			case "yaml":
				return printYAML(cmd, orEmptyList(list))
			case "":
			default:
				return &exitError{code: 2, err: fmt.Errorf("unknown output %q (json or yaml)", output)}
			}
			printSchedules(cmd.OutOrStdout(), list)
			return nil
		},
	}
	cmd.Flags().StringVarP(&ns, "namespace", "n", "default", "the schedules' namespace")
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "schedules of every namespace")
	cmd.Flags().StringVarP(&output, "output", "o", "", "json or yaml")
	return cmd
}

func printSchedules(w io.Writer, list []runs.ScheduleSummary) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAMESPACE\tNAME\tWHEN\tPAUSED\tNEXT\tLAST RUN")
	for _, s := range list {
		next, last := "-", "-"
		if len(s.Next) > 0 {
			next = s.Next[0].Local().Format(time.DateTime)
		}
		if n := len(s.Recent); n > 0 {
			last = s.Recent[n-1].Run
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\t%s\n", s.Namespace, s.Name, when(s), s.Paused, next, last)
	}
	tw.Flush()
}

func when(s runs.ScheduleSummary) string {
	var parts []string
	for _, c := range s.Cron {
		parts = append(parts, "cron "+c)
	}
	for _, e := range s.Every {
		parts = append(parts, "every "+e)
	}
	w := strings.Join(parts, "; ")
	if s.TimeZone != "" {
		w += " (" + s.TimeZone + ")"
	}
	return w
}

func newScheduleDescribeCmd(g *globals) *cobra.Command {
	var ns, output string
	cmd := &cobra.Command{
		Use:   "describe NAME [-n NS] [-o json|yaml]",
		Short: "Show a schedule: when, overlap policy, next times, recent runs",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rc, closeFn, err := g.runs()
			if err != nil {
				return err
			}
			defer closeFn()
			s, err := rc.DescribeSchedule(cmd.Context(), ns, args[0])
			if err != nil {
				return err
			}
			switch output {
			case "json":
				return printJSON(cmd, s)
			case "yaml":
				return printYAML(cmd, s)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "Schedule:  %s/%s\nWhen:      %s\nOverlap:   %s\nCatch-up:  %s\nPaused:    %v\n", s.Namespace, s.Name, when(*s), s.Overlap, s.CatchupWindow, s.Paused)
			if s.Note != "" {
				fmt.Fprintf(w, "Note:      %s\n", s.Note)
			}
			fmt.Fprintf(w, "Started:   %d runs (%d skipped as overlapping, %d missed the catch-up window)\n", s.Actions, s.Skipped, s.Missed)
			for _, t := range s.Next {
				fmt.Fprintf(w, "Next:      %s\n", t.Local().Format(time.RFC3339))
			}
			for _, r := range s.Running {
				fmt.Fprintf(w, "Running:   %s\n", r)
			}
			for _, f := range s.Recent {
				fmt.Fprintf(w, "Recent:    %s (due %s)\n", f.Run, f.Scheduled.Local().Format(time.RFC3339))
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&ns, "namespace", "n", "default", "the schedule's namespace")
	cmd.Flags().StringVarP(&output, "output", "o", "", "json or yaml")
	return cmd
}

// newScheduleActCmd is trigger, pause, unpause or delete.
func newScheduleActCmd(g *globals, verb, short string) *cobra.Command {
	var ns, note string
	cmd := &cobra.Command{
		Use:   verb + " NAME [-n NS]",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rc, closeFn, err := g.runs()
			if err != nil {
				return err
			}
			defer closeFn()
			ctx, name := cmd.Context(), args[0]
			switch verb {
			case "trigger":
				err = rc.TriggerSchedule(ctx, ns, name)
			case "pause", "unpause":
				err = rc.PauseSchedule(ctx, ns, name, verb == "pause", note)
			case "delete":
				err = rc.DeleteSchedule(ctx, ns, name)
			}
			if err != nil {
				return err
			}
			past := map[string]string{"trigger": "triggered", "pause": "paused", "unpause": "unpaused", "delete": "deleted"}[verb]
			fmt.Fprintf(cmd.OutOrStdout(), "%s schedule %s in namespace %s\n", past, name, ns)
			return nil
		},
	}
	cmd.Flags().StringVarP(&ns, "namespace", "n", "default", "the schedule's namespace")
	if verb == "pause" || verb == "unpause" {
		cmd.Flags().StringVar(&note, "note", "", "why, shown with the schedule")
	}
	return cmd
}
