package main

import (
	"context"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/velaflow/velaflow/cuedefs"
	"github.com/velaflow/velaflow/translator"
)

// Shell completion (`velaflow completion bash|zsh|fish|powershell`) of
// run names, step names, step types and -o values. Names are asked of
// Temporal, briefly: a server that does not answer completes nothing.

// runCommands take a run's name as their argument.
var runCommands = []string{"status", "suspend", "resume", "terminate", "restart", "logs", "delete", "debug"}

// outputs are the -o values each command takes.
var outputFormats = map[string][]string{
	"status": {"json", "yaml", "wide"},
	"list":   {"json", "yaml", "wide"},
	"run":    {"json"},
	"debug":  {"json"},
}

func addCompletions(root *cobra.Command, g *globals) {
	for _, c := range root.Commands() {
		if slices.Contains(runCommands, c.Name()) {
			c.ValidArgsFunction = completeRuns(g)
		}
		if c.Flags().Lookup("step") != nil {
			_ = c.RegisterFlagCompletionFunc("step", completeSteps(g))
		}
		if values, ok := outputFormats[c.Name()]; ok {
			_ = c.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
		}
		if c.Name() == "def" {
			for _, sub := range c.Commands() {
				if sub.Name() == "show" || sub.Name() == "render" {
					sub.ValidArgsFunction = completeTypes
				}
			}
		}
	}
}

func completionContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 3*time.Second)
}

func namespaceFlag(cmd *cobra.Command) string {
	ns, _ := cmd.Flags().GetString("namespace")
	return ns
}

func completeRuns(g *globals) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		rc, closeFn, err := g.runs()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		defer closeFn()
		ctx, cancel := completionContext()
		defer cancel()
		list, err := rc.List(ctx, namespaceFlag(cmd))
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []string
		for _, r := range list {
			if !slices.Contains(names, r.Name) {
				names = append(names, r.Name)
			}
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

func completeSteps(g *globals) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) == 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		rc, closeFn, err := g.runs()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		defer closeFn()
		ctx, cancel := completionContext()
		defer cancel()
		obj, err := rc.Status(ctx, namespaceFlag(cmd), args[0])
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return stepNames(obj.Status.Steps), cobra.ShellCompDirectiveNoFileComp
	}
}

func completeTypes(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	defs, _ := cmd.Flags().GetStringArray("definitions")
	c := translator.LoadCatalog(defs...)
	return cuedefs.SortedTypes(c.Definitions), cobra.ShellCompDirectiveNoFileComp
}
