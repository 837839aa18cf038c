package main

import (
	"fmt"
	"maps"
	"slices"

	"github.com/spf13/cobra"
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
				lines, ok := logs[step]
				if !ok {
					return fmt.Errorf("step %s of run %s/%s logged nothing", step, ns, args[0])
				}
				for _, l := range lines {
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
