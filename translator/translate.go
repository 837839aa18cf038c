package translator

import (
	"fmt"
	"sort"

	"github.com/velaflow/velaflow/cuedefs"
)

// Options says where to read from.
type Options struct {
	// Files hold WorkflowRuns, and may hold Workflows and definitions too.
	Files []string
	// DefinitionPaths are folders (or files) of Workflows and
	// WorkflowStepDefinitions, as YAML or .cue.
	DefinitionPaths []string
}

// Translate reads, validates and plans every WorkflowRun in the files. It
// returns all problems found at once, as Errors.
func Translate(opts Options) ([]*Plan, error) {
	if len(opts.Files) == 0 {
		return nil, fmt.Errorf("no files given")
	}
	in, errs := readInputs(opts.Files, opts.DefinitionPaths)
	var plans []*Plan
	for _, doc := range in.runs {
		p, es := in.plan(doc)
		errs = append(errs, es...)
		if p != nil {
			plans = append(plans, p)
		}
	}
	if len(errs) > 0 {
		return nil, errs.sorted()
	}
	if len(plans) == 0 {
		return nil, fmt.Errorf("%v: no WorkflowRun found", opts.Files)
	}
	return plans, nil
}

// LoadDefinitions returns the built-in definitions plus those in paths.
func LoadDefinitions(paths ...string) (map[string]cuedefs.Definition, error) {
	in, errs := readInputs(nil, paths)
	if len(errs) > 0 {
		return nil, errs.sorted()
	}
	return in.definitions, nil
}

func (in *inputs) plan(doc *document) (*Plan, Errors) {
	var run WorkflowRun
	if es := doc.into(&run); es != nil {
		return nil, es
	}
	c := &collector{}
	if run.Metadata.Name == "" {
		c.add(doc, "metadata.name", "missing: a WorkflowRun needs a name")
	}
	p := &Plan{
		Name:        run.Metadata.Name,
		Namespace:   namespaceOr(run.Metadata.Namespace),
		Context:     run.Spec.Context,
		Mode:        Mode{Steps: ModeStepByStep, SubSteps: ModeDAG},
		Definitions: map[string]cuedefs.Definition{},
		Source:      doc.file,
	}

	stepsDoc, stepsField := doc, "spec.workflowSpec.steps"
	var steps []WorkflowStep
	switch {
	case run.Spec.WorkflowSpec != nil:
		steps = run.Spec.WorkflowSpec.Steps
	case run.Spec.WorkflowRef != "":
		wfDoc, ok := in.workflows[WorkflowID(p.Namespace, run.Spec.WorkflowRef)]
		if !ok {
			c.add(doc, "spec.workflowRef", "no Workflow %q in namespace %q among the given files and definitions", run.Spec.WorkflowRef, p.Namespace)
			return nil, c.errs
		}
		var wf Workflow
		wfDoc.into(&wf) // decoded without error when it was read
		steps, stepsDoc, stepsField = wf.Steps, wfDoc, "steps"
		applyMode(&p.Mode, wf.Mode, wfDoc, "mode", c)
	default:
		c.add(doc, "spec", "needs spec.workflowSpec.steps or spec.workflowRef")
		return nil, c.errs
	}
	applyMode(&p.Mode, run.Spec.Mode, doc, "spec.mode", c)
	if len(steps) == 0 {
		c.add(stepsDoc, stepsField, "no steps")
	}

	v := &validator{in: in, doc: stepsDoc, c: c, plan: p}
	p.Steps = v.steps(steps, stepsField, "step", false)
	v.checkGraph(p.Steps, stepsField)
	return p, c.errs
}

func applyMode(dst *Mode, m *WorkflowMode, doc *document, field string, c *collector) {
	if m == nil {
		return
	}
	if m.Steps != "" {
		if checkMode(m.Steps, doc, field+".steps", c) {
			dst.Steps = m.Steps
		}
	}
	if m.SubSteps != "" {
		if checkMode(m.SubSteps, doc, field+".subSteps", c) {
			dst.SubSteps = m.SubSteps
		}
	}
}

func checkMode(m string, doc *document, field string, c *collector) bool {
	if m == ModeStepByStep || m == ModeDAG {
		return true
	}
	c.add(doc, field, "must be StepByStep or DAG, not %q", m)
	return false
}

// sortedKeys lists a set's members in order, for stable messages.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
