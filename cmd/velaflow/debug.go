package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/velaflow/velaflow/translator"
	"github.com/velaflow/velaflow/workflows"
)

func newDebugCmd(g *globals) *cobra.Command {
	var ns, step, output string
	cmd := &cobra.Command{
		Use:   "debug NAME --step STEP [-n NS] [-o json]",
		Short: "Show a step's latest execution: its parameters, result, and (in debug mode) its template's values and operations",
		Long: `Show what a step's latest execution was given (its properties and inputs)
and how it ended (phase, message, outputs, error). A run in debug mode,
annotated ` + translator.DebugAnnotation + `: "true" as in KubeVela, also
records the values its template computed and every operation it ran,
with what each was given and gave back (a whole HTTP response body, for
one); secrets the step read are masked.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if step == "" {
				return &exitError{code: exitInvalid, err: fmt.Errorf("--step is required")}
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
			names := stepNames(obj.Status.Steps)
			if !slices.Contains(names, step) {
				return &exitError{code: exitNotFound, err: fmt.Errorf("run %s/%s has no step %q (its steps: %s)", ns, args[0], step, strings.Join(names, ", "))}
			}
			execs, err := rc.Debug(cmd.Context(), ns, args[0])
			if err != nil {
				return err
			}
			e, ok := execs[step]
			if !ok {
				return &exitError{code: exitNotFound, err: fmt.Errorf("step %q of run %s/%s has not executed (yet)", step, ns, args[0])}
			}
			if output == "json" {
				return printJSON(cmd, e)
			}
			printExecution(cmd.OutOrStdout(), step, e)
			return nil
		},
	}
	cmd.Flags().StringVarP(&ns, "namespace", "n", "default", "the run's namespace")
	cmd.Flags().StringVar(&step, "step", "", "the step (or sub-step)")
	cmd.Flags().StringVarP(&output, "output", "o", "", "json")
	return cmd
}

func printExecution(w io.Writer, step string, e *workflows.StepExecution) {
	fmt.Fprintf(w, "Step:       %s (execution %d)\n", step, e.Execution)
	if e.Error != "" {
		fmt.Fprintf(w, "Error:      %s\n", e.Error)
	} else {
		fmt.Fprintf(w, "Phase:      %s\n", e.Phase)
	}
	if e.Message != "" {
		fmt.Fprintf(w, "Message:    %s\n", e.Message)
	}
	if e.Debug != nil && e.Debug.Message != "" {
		fmt.Fprintf(w, "\nWhole message:\n  %s\n", strings.ReplaceAll(e.Debug.Message, "\n", "\n  "))
	}
	section(w, "Parameters", e.Properties)
	section(w, "Inputs", e.Inputs)
	section(w, "Outputs", e.Outputs)
	if e.Debug == nil || (e.Debug.Value == nil && len(e.Debug.Operations) == 0) {
		fmt.Fprintf(w, "\n(The template's values and operations are recorded in debug mode: annotate the run %s: \"true\".)\n", translator.DebugAnnotation)
		return
	}
	if len(e.Debug.Operations) > 0 {
		fmt.Fprintln(w, "\nOperations:")
		tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
		fmt.Fprintln(tw, "  PATH\tOPERATION\tPARAMS\tRESULT")
		for _, op := range e.Debug.Operations {
			result := compact(op.Returns)
			switch {
			case op.Error != "":
				result = "error: " + op.Error
			case op.Memoized:
				result += " (recorded by an earlier execution)"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", op.Path, op.Operation, oneLine(compact(op.Params)), oneLine(result))
		}
		tw.Flush()
	}
	section(w, "Values", e.Debug.Value)
}

// section prints a value as indented YAML under a title.
func section(w io.Writer, title string, v any) {
	if v == nil {
		return
	}
	if m, ok := v.(map[string]any); ok && len(m) == 0 {
		return
	}
	b, err := yaml.Marshal(v)
	if err != nil {
		return
	}
	fmt.Fprintf(w, "\n%s:\n  %s\n", title, strings.ReplaceAll(strings.TrimRight(string(b), "\n"), "\n", "\n  "))
}

func compact(v any) string {
	if v == nil {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
