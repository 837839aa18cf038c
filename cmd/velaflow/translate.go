package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/velaflow/velaflow/cuedefs"
	"github.com/velaflow/velaflow/runs"
	"github.com/velaflow/velaflow/translator"
)

func newTranslateCmd() *cobra.Command {
	var files, defs []string
	cmd := &cobra.Command{
		Use:   "translate -f FILE... [--definitions DIR]...",
		Short: "Validate WorkflowRuns and print their Plans as JSON, starting nothing",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := translator.TranslateAll(translator.Options{Files: files, DefinitionPaths: defs})
			if err != nil {
				return &exitError{code: 2, err: fmt.Errorf("invalid input:\n%w", err)}
			}
			printWarnings(cmd, res.Warnings)
			plans := res.Plans
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

func newDefCmd(g *globals) *cobra.Command {
	var defs []string
	root := &cobra.Command{Use: "def", Short: "List, show and check step definitions"}
	root.PersistentFlags().StringArrayVar(&defs, "definitions", nil, "folder or file of definitions besides the built-ins; repeatable")
	load := func(cmd *cobra.Command) (*translator.Catalog, error) {
		c := translator.LoadCatalog(defs...)
		if len(c.Errors) > 0 {
			return nil, &exitError{code: 2, err: c.Errors}
		}
		printWarnings(cmd, c.Warnings)
		return c, nil
	}
	var namespace string
	render := &cobra.Command{
		Use:   "render [TYPE]...",
		Short: "Print definitions as WorkflowStepDefinition objects, for kubectl apply",
		Long: `Print the named step types (default: every one of --definitions) as
WorkflowStepDefinition YAML, ready for kubectl apply -f -, as vela def
render does: the controller runs WorkflowRun objects with the definitions
of their cluster.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := load(cmd)
			if err != nil {
				return err
			}
			types := args
			if len(types) == 0 {
				for _, t := range cuedefs.SortedTypes(c.Definitions) {
					if !c.Definitions[t].Builtin {
						types = append(types, t)
					}
				}
			}
			for i, t := range types {
				d, ok := c.Definitions[t]
				if !ok {
					return &exitError{code: 2, err: fmt.Errorf("no step type %q", t)}
				}
				out, err := yaml.Marshal(d.Object(namespace))
				if err != nil {
					return err
				}
				if i > 0 {
					fmt.Fprintln(cmd.OutOrStdout(), "---")
				}
				fmt.Fprint(cmd.OutOrStdout(), string(out))
			}
			return nil
		},
	}
	render.Flags().StringVarP(&namespace, "namespace", "n", "", "namespace of the objects (default: none, kubectl's)")
	var fromWorker bool
	list := &cobra.Command{
		Use:   "list [--worker]",
		Short: "List the step types, and where each comes from",
		Long: `List the step types: the built-ins and those of --definitions, or with
--worker those a worker of the task queue serves (its built-ins and its
own --definitions; run uses them when a step type is not known here).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := load(cmd)
			if err != nil {
				return err
			}
			if fromWorker {
				var known map[string]cuedefs.Definition
				err := g.askWorkers(cmd.Context(), 30*time.Second, func(ctx context.Context, rc *runs.Client) (err error) {
					known, err = rc.WorkerStepTypes(ctx)
					return err
				})
				if err != nil {
					return err
				}
				c = &translator.Catalog{Definitions: known}
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 2, 2, ' ', 0)
			fmt.Fprintln(tw, "TYPE\tSOURCE\tDESCRIPTION")
			for _, t := range cuedefs.SortedTypes(c.Definitions) {
				d := c.Definitions[t]
				src := d.File
				if d.Builtin {
					src = "built-in"
				} else if _, ok := cuedefs.Builtins()[t]; ok {
					src += " (replaces the built-in)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", t, src, d.Description)
			}
			for _, t := range slices.Sorted(maps.Keys(c.Broken)) {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", t, c.Broken[t][0].File, "does not compile (velaflow def vet)")
			}
			return tw.Flush()
		},
	}
	show := &cobra.Command{
		Use:   "show TYPE",
		Short: "Print a step type's parameters (a table) and its definition (CUE, as vela def files are written)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := load(cmd)
			if err != nil {
				return err
			}
			d, ok := c.Definitions[args[0]]
			if !ok {
				if es, broken := c.Broken[args[0]]; broken {
					return &exitError{code: 2, err: es}
				}
				return fmt.Errorf("unknown step type %q (known: %s)", args[0], strings.Join(cuedefs.SortedTypes(c.Definitions), ", "))
			}
			src, err := d.VelaDef()
			if err != nil {
				return err
			}
			params, err := d.Parameters()
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			from := d.File
			if d.Builtin {
				from = "built-in"
			}
			fmt.Fprintf(w, "// %s: %s\n// from %s, %s\n//\n", d.Type, d.Description, from, d.Digest)
			for _, line := range strings.Split(strings.TrimRight(parameterTable(params), "\n"), "\n") {
				fmt.Fprintln(w, strings.TrimRight("// "+line, " "))
			}
			fmt.Fprintln(w)
			fmt.Fprint(w, src)
			return nil
		},
	}
	vet := &cobra.Command{
		Use:   "vet DIR|FILE...",
		Short: "Check every definition in folders or files; exit 1 if any does not compile",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := translator.LoadCatalog(args...)
			w := cmd.ErrOrStderr()
			problems := append(translator.Errors{}, c.Errors...)
			for _, t := range slices.Sorted(maps.Keys(c.Broken)) {
				problems = append(problems, c.Broken[t]...)
			}
			for _, p := range problems {
				fmt.Fprintln(w, p.Error())
			}
			printWarnings(cmd, c.Warnings)
			user := 0
			for _, d := range c.Definitions {
				if !d.Builtin {
					user++
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d definitions compile, %d do not\n", user, len(c.Broken))
			if len(problems) > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d problems", len(problems))}
			}
			return nil
		},
	}
	list.Flags().BoolVar(&fromWorker, "worker", false, "the step types a worker of the task queue serves")
	root.AddCommand(list, show, vet, render, newDefDocCmd(load))
	return root
}
