package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/velaflow/velaflow/workflows"
)

func newLogsCmd(g *globals) *cobra.Command {
	var ns, step string
	var follow bool
	cmd := &cobra.Command{
		Use:   "logs NAME [--step STEP] [-n NS] [-f]",
		Short: "Print what the steps of a run logged (#Log) in their latest execution",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rc, closeFn, err := g.runs()
			if err != nil {
				return err
			}
			defer closeFn()
			name := args[0]
			if step != "" {
				// A step that logged nothing prints nothing, as a run does;
				// a step the run does not have is an error.
				obj, err := rc.Status(cmd.Context(), ns, name)
				if err != nil {
					return err
				}
				names := stepNames(obj.Status.Steps)
				if !slices.Contains(names, step) {
					return &exitError{code: exitNotFound, err: fmt.Errorf("run %s/%s has no step %q (its steps: %s)", ns, name, step, strings.Join(names, ", "))}
				}
			}
			p := &logPrinter{w: cmd.OutOrStdout(), step: step, printed: map[string][]string{}}
			for {
				logs, err := rc.Logs(cmd.Context(), ns, name)
				if err != nil {
					return err
				}
				p.print(logs)
				if !follow {
					return nil
				}
				obj, err := rc.Status(cmd.Context(), ns, name)
				if err != nil {
					return err
				}
				if obj.Status.Finished {
					logs, err := rc.Logs(cmd.Context(), ns, name)
					if err == nil {
						p.print(logs)
					}
					return err
				}
				select {
				case <-cmd.Context().Done():
					return nil
				case <-time.After(time.Second):
				}
			}
		},
	}
	cmd.Flags().StringVarP(&ns, "namespace", "n", "default", "the run's namespace")
	cmd.Flags().StringVar(&step, "step", "", "only this step's lines, without the step prefix")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "go on printing what the steps log until the run finishes")
	return cmd
}

// logPrinter prints each step's lines once: a step's next execution
// replaces its lines, and only what was not printed yet is.
type logPrinter struct {
	w       io.Writer
	step    string
	printed map[string][]string
}

func (p *logPrinter) print(logs map[string][]string) {
	for _, name := range slices.Sorted(maps.Keys(logs)) {
		if p.step != "" && name != p.step {
			continue
		}
		lines, before := logs[name], p.printed[name]
		from := 0
		if len(lines) >= len(before) && slices.Equal(lines[:len(before)], before) {
			from = len(before) // the same execution logged more
		}
		for _, l := range lines[from:] {
			if p.step != "" {
				fmt.Fprintln(p.w, l)
			} else {
				fmt.Fprintf(p.w, "%s: %s\n", name, l)
			}
		}
		p.printed[name] = lines
	}
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
