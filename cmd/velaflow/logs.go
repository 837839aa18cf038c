package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/velaflow/velaflow/workflows"
)

func newLogsCmd(g *globals) *cobra.Command {
	var ns, step string
	cmd := &cobra.Command{
		Use:   "logs NAME [--step STEP] [-n NS]",
		Short: "Print what the steps of a run logged (#Log) in their latest execution",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rc, closeFn, err := g.runs()
			if err != nil {
				return err
			}
			defer closeFn()
			logs, err := rc.Logs(cmd.Context(), ns, args[0])
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if step != "" {
				// A step that logged nothing prints nothing, as a run does;
				// a step the run does not have is an error.
				obj, err := rc.Status(cmd.Context(), ns, args[0])
				if err != nil {
					return err
				}
				names := stepNames(obj.Status.Steps)
				if !slices.Contains(names, step) {
					return fmt.Errorf("run %s/%s has no step %q (its steps: %s)", ns, args[0], step, strings.Join(names, ", "))
				}
				for _, l := range logs[step] {
					fmt.Fprintln(w, l)
				}
				return nil
			}
			for _, name := range slices.Sorted(maps.Keys(logs)) {
				for _, l := range logs[name] {
					fmt.Fprintf(w, "%s: %s\n", name, l)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&ns, "namespace", "n", "default", "the run's namespace")
	cmd.Flags().StringVar(&step, "step", "", "only this step's lines, without the step prefix")
	return cmd
}

// stepNames lists the names of steps and their sub-steps, in order.
func stepNames(steps []workflows.StepStatus) []string {
	var out []string
	for _, s := range steps {
		out = append(out, s.Name)
		out = append(out, stepNames(s.SubSteps)...)
	}
	return out
}
