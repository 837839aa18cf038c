package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/velaflow/velaflow/runs"
	"github.com/velaflow/velaflow/workflows"
)

type runObject = runs.Object

func newStatusCmd(g *globals) *cobra.Command {
	var ns, output string
	var watch bool
	cmd := &cobra.Command{
		Use:   "status NAME [-n NS] [-o json|yaml|wide] [--watch]",
		Short: "Show a run's status",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains([]string{"", "wide", "json", "yaml"}, output) {
				return &exitError{code: exitInvalid, err: fmt.Errorf("unknown output %q (json, yaml or wide)", output)}
			}
			if len(args) == 0 {
				return statusUsage(cmd, g, ns)
			}
			if watch {
				_, err := waitRun(cmd.Context(), cmd, g, ns, args[0], true)
				return err
			}
			rc, closeFn, err := g.runs()
			if err != nil {
				return err
			}
			defer closeFn()
			obj, err := rc.Status(cmd.Context(), ns, args[0])
			if err != nil {
				return err
			}
			switch output {
			case "json":
				return printJSON(cmd, obj)
			case "yaml":
				return printYAML(cmd, obj)
			case "", "wide":
				printTable(cmd, obj, output == "wide")
				return nil
			default:
				return &exitError{code: 2, err: fmt.Errorf("unknown output %q (json, yaml or wide)", output)}
			}
		},
	}
	cmd.Flags().StringVarP(&ns, "namespace", "n", "default", "the run's namespace")
	cmd.Flags().StringVarP(&output, "output", "o", "", "json, yaml, or wide (a table with reasons, messages and outputs)")
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "follow the run until it finishes")
	return cmd
}

// printTable prints the run and a table of its steps; wide adds each
// step's reason, message and outputs.
func printTable(cmd *cobra.Command, obj *runs.Object, wide bool) {
	st := obj.Status
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "Run:      %s/%s\nPhase:    %s\nMode:     %s\nStarted:  %s\n", obj.Metadata.Namespace, obj.Metadata.Name, st.Phase, st.Mode, st.StartTime.Local().Format(time.RFC3339))
	if st.EndTime != nil {
		fmt.Fprintf(w, "Ended:    %s (%s)\n", st.EndTime.Local().Format(time.RFC3339), duration(st.EndTime.Sub(st.StartTime)))
	}
	if st.Message != "" {
		fmt.Fprintf(w, "Message:  %s\n", st.Message)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	head := "STEP\tTYPE\tPHASE\tSTARTED\tDURATION"
	if wide {
		head += "\tREASON\tMESSAGE"
	}
	head += "\tOUTPUTS"
	fmt.Fprintln(tw, head)
	now := time.Now()
	forEachStep(st.Steps, "", func(s workflows.StepStatus, indent string) {
		r := stepRows([]workflows.StepStatus{s}, indent, now)[0]
		line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s", r.name, r.typ, r.phase, dash(r.start), dash(r.took))
		if wide {
			line += fmt.Sprintf("\t%s\t%s", dash(s.Reason), dash(oneLine(s.Message)))
		}
		line += "\t" + outputs(s.Outputs)
		fmt.Fprintln(tw, line)
	})
	tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

func outputs(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%v", k, m[k]))
	}
	return oneLine(strings.Join(parts, " "))
}

// statusUsage answers `status` without a name: how to ask, and the runs
// there are to ask about.
func statusUsage(cmd *cobra.Command, g *globals, ns string) error {
	fmt.Fprintf(cmd.OutOrStdout(), "Usage: velaflow status NAME [-n NS] [-o json|yaml|wide] [--watch]\n\n")
	rc, closeFn, err := g.runs()
	if err != nil {
		return err
	}
	defer closeFn()
	list, err := rc.List(cmd.Context(), ns)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintf(cmd.OutOrStdout(), "No runs in namespace %s.\n", ns)
		return nil
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Runs in namespace %s:\n", ns)
	printRuns(cmd.OutOrStdout(), list, false)
	return nil
}

func printYAML(cmd *cobra.Command, v any) error {
	data, err := yaml.Marshal(v)
	if err != nil {
		return err
	}
	_, err = cmd.OutOrStdout().Write(data)
	return err
}
