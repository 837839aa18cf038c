package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/velaflow/velaflow/launch"
	"github.com/velaflow/velaflow/runs"
	"github.com/velaflow/velaflow/translator"
)

// refFlags start a run of a stored Workflow template (run --ref).
type refFlags struct {
	template, namespace, name, generateName, contextFile string
	sets, setStrings, templates                          []string
}

func (f *refFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.template, "ref", "", "start a run of this Workflow template")
	cmd.Flags().StringVarP(&f.namespace, "namespace", "n", "default", "with --ref: the run's namespace (and the template's)")
	cmd.Flags().StringVar(&f.name, "name", "", "with --ref: the run's name")
	cmd.Flags().StringVar(&f.generateName, "generate-name", "", "with --ref: the run's name is this prefix and five random characters (default: the template's name and a dash)")
	cmd.Flags().StringArrayVar(&f.sets, "set", nil, "with --ref: a context value, key=value (typed: 3 is a number, true a boolean, {a,b} a list; a.b=c nests); repeatable")
	cmd.Flags().StringArrayVar(&f.setStrings, "set-string", nil, "with --ref: a context value kept a string, key=value; repeatable")
	cmd.Flags().StringVar(&f.contextFile, "context-file", "", "with --ref: a YAML or JSON file of context values (--set wins)")
	cmd.Flags().StringArrayVar(&f.templates, "templates", nil, "with --ref: folder or file of Workflow templates; repeatable (default: ask the workers)")
}

// options are the translator's inputs: the files, or the run of the
// template the flags ask for.
func (f *refFlags) options(ctx context.Context, g *globals, files, defs []string) (translator.Options, error) {
	opts := translator.Options{Files: files, DefinitionPaths: defs}
	switch {
	case f.template == "" && len(files) == 0:
		return opts, &exitError{code: 2, err: fmt.Errorf("give -f FILE (WorkflowRuns) or --ref TEMPLATE (a run of a Workflow template)")}
	case f.template != "" && len(files) > 0:
		return opts, &exitError{code: 2, err: fmt.Errorf("-f and --ref do not go together: a run comes from files or from a template")}
	case f.template == "":
		return opts, nil
	case f.name != "" && f.generateName != "":
		return opts, &exitError{code: 2, err: fmt.Errorf("--name and --generate-name do not go together")}
	}
	values, err := launch.Context(f.contextFile, f.sets, f.setStrings)
	if err != nil {
		return opts, &exitError{code: 2, err: err}
	}
	req := launch.Request{Namespace: f.namespace, Template: f.template, Name: f.name, GenerateName: f.generateName, Context: values}
	if req.Name == "" {
		if req, err = f.unusedName(ctx, g, req); err != nil {
			return opts, err
		}
	}
	src, err := req.Source()
	if err != nil {
		return opts, err
	}
	opts.Runs = []translator.Source{src}
	opts.DefinitionPaths = append(append([]string{}, f.templates...), defs...)
	if len(f.templates) == 0 {
		// The workers' templates; local definitions replace them.
		_ = g.askWorkers(ctx, 5*time.Second, func(ctx context.Context, rc *runs.Client) (err error) {
			opts.KnownTemplates, err = rc.WorkerTemplates(ctx, req.Namespace)
			return err
		})
	}
	return opts, nil
}

// unusedName generates a name no run has yet.
func (f *refFlags) unusedName(ctx context.Context, g *globals, req launch.Request) (launch.Request, error) {
	rc, closeFn, err := g.runs()
	if err != nil {
		return req, err
	}
	defer closeFn()
	for range 5 {
		named := req.WithName()
		taken, err := rc.Exists(ctx, translator.WorkflowID(named.Namespace, named.Name))
		if err != nil {
			return req, err
		}
		if !taken {
			return named, nil
		}
	}
	return req, fmt.Errorf("no unused generated name for a run of %s after 5 tries", req.Template)
}
