package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/velaflow/velaflow/cuedefs"
	"github.com/velaflow/velaflow/runs"
	"github.com/velaflow/velaflow/translator"
	"github.com/velaflow/velaflow/workflows"
)

func newRunCmd(g *globals) *cobra.Command {
	var files, defs []string
	var wait, skipObjects, replace bool
	var output, kubeconfig string
	var ref refFlags
	cmd := &cobra.Command{
		Use:   "run (-f FILE... | --ref TEMPLATE [--set k=v]...) [--definitions DIR]... [--wait] [-o json]",
		Short: "Validate WorkflowRuns and start them",
		Long: "Validate every WorkflowRun in the files (with the Workflows and definitions given) and start it.\n" +
			"With --ref, start a run of a stored Workflow template instead, its spec.context built from\n" +
			"--context-file, --set and --set-string; the template is looked for in --templates, then\n" +
			"among the workers' templates (worker --templates).\n" +
			"Invalid input exits 2 with every error on stderr and starts nothing.\n" +
			"With --wait, print each step's progress and exit 0 if the run succeeded, 1 otherwise.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := ref.options(cmd.Context(), g, files, defs)
			if err != nil {
				return err
			}
			res, err := g.translate(cmd.Context(), opts)
			if err != nil {
				return err
			}
			printWarnings(cmd, res.Warnings)
			plans := res.Plans
			if !skipObjects {
				err := runs.ApplyObjects(cmd.Context(), kubeconfig, res.Objects, func(o translator.Object) {
					if output != "json" {
						fmt.Fprintf(cmd.OutOrStdout(), "applied %s\n", o.Name())
					}
				})
				if err != nil {
					return err
				}
			}
			rc, closeFn, err := g.runs()
			if err != nil {
				return err
			}
			defer closeFn()
			ctx := cmd.Context()
			for _, p := range plans {
				start := rc.Start
				if replace {
					start = rc.Replace
				}
				run, err := start(ctx, p)
				if err != nil {
					return err
				}
				if output != "json" {
					fmt.Fprintf(cmd.OutOrStdout(), "started run %s (workflow %s, run %s)\n", p.Name, run.GetID(), run.GetRunID())
				}
			}
			if !wait {
				if output == "json" {
					return printJSON(cmd, startedJSON(plans))
				}
				return nil
			}
			failed := false
			for _, p := range plans {
				final, err := waitRun(ctx, cmd, g, p.Namespace, p.Name, output != "json")
				if err != nil {
					return err
				}
				if output == "json" {
					if err := printJSON(cmd, final); err != nil {
						return err
					}
				}
				if final.Status.Phase != workflows.RunSucceeded {
					failed = true
				}
			}
			if failed {
				return &exitError{code: 1, err: fmt.Errorf("a run did not succeed")}
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&files, "file", "f", nil, "YAML file with WorkflowRuns (and Workflows/definitions); repeatable")
	cmd.Flags().StringArrayVar(&defs, "definitions", nil, "folder or file of Workflows and WorkflowStepDefinitions (.yaml/.cue); repeatable")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the run to finish, printing step progress")
	cmd.Flags().BoolVar(&replace, "replace", false, "terminate a run of the same name that is still going, and start this one")
	cmd.Flags().BoolVar(&skipObjects, "skip-objects", false, "do not apply the other Kubernetes objects in the files (ConfigMaps, Secrets ...)")
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "cluster the other objects in the files are applied to (default: $KUBECONFIG, then in-cluster)")
	cmd.Flags().StringVarP(&output, "output", "o", "", "json prints the started runs (or, with --wait, the final runs) as JSON")
	ref.register(cmd)
	return cmd
}

// translate validates and plans runs as `run` does: step types and
// clusters the command line does not know are asked of the workers.
// Invalid input is exit code 2.
func (g *globals) translate(ctx context.Context, opts translator.Options) (*translator.Result, error) {
	res, err := translator.TranslateAll(opts)
	if unknown := unknownTypes(err); len(unknown) > 0 {
		// Step types the workers serve need no --definitions.
		if known := g.workerStepTypes(ctx, unknown); known != nil {
			opts.Known = known
			res, err = translator.TranslateAll(opts)
		}
	}
	if err == nil && namesClusters(res.Plans) {
		// Clusters the workers do not know fail here, not at the step.
		if names := g.workerClusterNames(ctx); names != nil {
			opts.Clusters = names
			res, err = translator.TranslateAll(opts)
		}
	}
	if err != nil {
		return nil, &exitError{code: 2, err: fmt.Errorf("invalid input:\n%w", err)}
	}
	return res, nil
}

// printWarnings writes the translator's warnings to stderr.
func printWarnings(cmd *cobra.Command, warnings []string) {
	for _, w := range warnings {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s\n", w)
	}
}

func startedJSON(plans []*translator.Plan) []map[string]string {
	var out []map[string]string
	for _, p := range plans {
		out = append(out, map[string]string{"name": p.Name, "namespace": p.Namespace, "workflowID": p.ID()})
	}
	return out
}

// waitRun follows a run until it finishes, showing its progress (when
// progress is set): redrawn in place on a terminal, lines otherwise.
func waitRun(ctx context.Context, cmd *cobra.Command, g *globals, ns, name string, showProgress bool) (*runObject, error) {
	rc, closeFn, err := g.runs()
	if err != nil {
		return nil, err
	}
	defer closeFn()
	var view progress
	if showProgress {
		view = newProgress(ctx, cmd.OutOrStdout(), ns, name, g.noColor)
	}
	_, err = rc.Watch(ctx, ns, name, 300*time.Millisecond, func(st *workflows.Status) {
		if view != nil {
			view.update(st)
		}
	})
	if err != nil {
		return nil, err
	}
	obj, err := rc.Status(ctx, ns, name)
	if err != nil {
		return nil, err
	}
	if view != nil {
		view.finish(obj.Status)
	}
	return obj, nil
}

func forEachStep(steps []workflows.StepStatus, indent string, fn func(workflows.StepStatus, string)) {
	for _, s := range steps {
		fn(s, indent)
		forEachStep(s.SubSteps, indent+"  ", fn)
	}
}

func printJSON(cmd *cobra.Command, v any) error {
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// unknownTypes are the step types translation errors say are unknown.
func unknownTypes(err error) []string {
	es, ok := err.(translator.Errors)
	if !ok {
		return nil
	}
	var out []string
	for _, e := range es {
		if e.UnknownType != "" && !slices.Contains(out, e.UnknownType) {
			out = append(out, e.UnknownType)
		}
	}
	return out
}

// workerStepTypes asks a worker of the task queue for its step types, if
// it serves any of want; nil if none does or no worker answers soon.
func (g *globals) workerStepTypes(ctx context.Context, want []string) map[string]cuedefs.Definition {
	var known map[string]cuedefs.Definition
	err := g.askWorkers(ctx, 5*time.Second, func(ctx context.Context, rc *runs.Client) (err error) {
		known, err = rc.WorkerStepTypes(ctx)
		return err
	})
	if err != nil {
		return nil
	}
	for _, t := range want {
		if _, ok := known[t]; ok {
			return known
		}
	}
	return nil
}

// namesClusters tells whether a step names a cluster besides the default.
func namesClusters(plans []*translator.Plan) bool {
	var any func([]translator.Step) bool
	any = func(steps []translator.Step) bool {
		for _, s := range steps {
			if c, ok := s.Properties["cluster"].(string); ok && c != "" && c != "local" {
				return true
			}
			if any(s.SubSteps) {
				return true
			}
		}
		return false
	}
	for _, p := range plans {
		if any(p.Steps) {
			return true
		}
	}
	return false
}

// workerClusterNames asks a worker of the task queue which clusters it
// knows; nil if none answers soon (the steps then find out).
func (g *globals) workerClusterNames(ctx context.Context) []string {
	var names []string
	err := g.askWorkers(ctx, 5*time.Second, func(ctx context.Context, rc *runs.Client) (err error) {
		names, err = rc.WorkerClusterNames(ctx)
		return err
	})
	if err != nil {
		return nil
	}
	return names
}
