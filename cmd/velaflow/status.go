package main

import (
	"fmt"
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
		Use:   "status NAME [-n NS] [-o json|yaml] [--watch]",
		Short: "Show a run's status",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
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
				data, err := yaml.Marshal(obj)
				if err != nil {
					return err
				}
				_, err = cmd.OutOrStdout().Write(data)
				return err
			case "":
				printTable(cmd, obj)
				return nil
			default:
				return fmt.Errorf("unknown output %q (json or yaml)", output)
			}
		},
	}
	cmd.Flags().StringVarP(&ns, "namespace", "n", "default", "the run's namespace")
	cmd.Flags().StringVarP(&output, "output", "o", "", "json or yaml")
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "follow the run until it finishes")
	return cmd
}

func printTable(cmd *cobra.Command, obj *runs.Object) {
	st := obj.Status
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "Run:      %s/%s\nPhase:    %s\nMode:     %s\nStarted:  %s\n", obj.Metadata.Namespace, obj.Metadata.Name, st.Phase, st.Mode, st.StartTime.Format(time.RFC3339))
	if st.EndTime != nil {
		fmt.Fprintf(w, "Ended:    %s (%s)\n", st.EndTime.Format(time.RFC3339), st.EndTime.Sub(st.StartTime).Round(time.Millisecond))
	}
	if st.Message != "" {
		fmt.Fprintf(w, "Message:  %s\n", st.Message)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tTYPE\tPHASE\tREASON\tMESSAGE\tOUTPUTS")
	forEachStep(st.Steps, "", func(s workflows.StepStatus, indent string) {
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%s\t%s\n", indent, s.Name, s.Type, s.Phase, s.Reason, oneLine(s.Message), outputs(s.Outputs))
	})
	tw.Flush()
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
