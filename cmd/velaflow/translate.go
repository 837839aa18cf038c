package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/velaflow/velaflow/cuedefs"
	"github.com/velaflow/velaflow/translator"
)

func newTranslateCmd() *cobra.Command {
	var files, defs []string
	cmd := &cobra.Command{
		Use:   "translate -f FILE... [--definitions DIR]...",
		Short: "Validate WorkflowRuns and print their Plans as JSON, starting nothing",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			plans, err := translator.Translate(translator.Options{Files: files, DefinitionPaths: defs})
			if err != nil {
				return &exitError{code: 2, err: fmt.Errorf("invalid input:\n%w", err)}
			}
			if len(plans) == 1 {
				return printJSON(cmd, plans[0])
			}
			return printJSON(cmd, plans)
		},
	}
	cmd.Flags().StringArrayVarP(&files, "file", "f", nil, "YAML file with WorkflowRuns; repeatable")
	cmd.Flags().StringArrayVar(&defs, "definitions", nil, "folder or file of Workflows and definitions; repeatable")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

func newDefCmd() *cobra.Command {
	var defs []string
	root := &cobra.Command{Use: "def", Short: "List and show step definitions"}
	root.PersistentFlags().StringArrayVar(&defs, "definitions", nil, "folder or file of definitions besides the built-ins; repeatable")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the step types",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			all, err := translator.LoadDefinitions(defs...)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 2, 2, ' ', 0)
			fmt.Fprintln(tw, "TYPE\tSOURCE\tDESCRIPTION")
			for _, t := range cuedefs.SortedTypes(all) {
				d := all[t]
				src := d.File
				if d.Builtin {
					src = "built-in"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", t, src, d.Description)
			}
			return tw.Flush()
		},
	}
	show := &cobra.Command{
		Use:   "show TYPE",
		Short: "Print a step type's CUE template",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			all, err := translator.LoadDefinitions(defs...)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			d, ok := all[args[0]]
			if !ok {
				return fmt.Errorf("unknown step type %q (known: %s)", args[0], strings.Join(cuedefs.SortedTypes(all), ", "))
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "// %s: %s\n// from %s, %s\n", d.Type, d.Description, d.File, d.Digest)
			fmt.Fprint(w, strings.TrimLeft(d.Source, "\n"))
			return nil
		},
	}
	root.AddCommand(list, show)
	return root
}
