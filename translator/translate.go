package translator

import (
	"fmt"
	"reflect"
	"slices"
	"sort"

	"github.com/velaflow/velaflow/cuedefs"
)

// Options says where to read from.
type Options struct {
	// Files hold WorkflowRuns, and may hold Workflows and definitions too.
	Files []string
	// Runs are WorkflowRuns given as data (one a trigger built), read
	// after Files.
	Runs []Source
	// DefinitionPaths are folders (or files) of Workflows and
	// WorkflowStepDefinitions, as YAML or .cue.
	DefinitionPaths []string
	// Known are definitions known elsewhere (the workers'): they replace
	// the built-ins, and those of DefinitionPaths replace them.
	Known map[string]cuedefs.Definition
	// KnownTemplates are Workflows (and definitions) known elsewhere, as
	// data (the workers' templates); DefinitionPaths replace them.
	KnownTemplates []Source
	// Clusters, when not nil, are the clusters the workers know: a step
	// whose `cluster` property names another is an error.
	Clusters []string
}

// Result is what the files hold: the runs' plans, the other Kubernetes
// objects given beside them, and warnings (a definition replacing a
// built-in, one that does not compile but no run uses).
type Result struct {
	Plans    []*Plan
	Objects  []Object
	Warnings []string
}

// Translate reads, validates and plans every WorkflowRun in the files. It
// returns all problems found at once, as Errors.
func Translate(opts Options) ([]*Plan, error) {
	res, err := TranslateAll(opts)
	if err != nil {
		return nil, err
	}
	return res.Plans, nil
}

// TranslateAll is Translate that also returns the objects beside the runs
// and the warnings.
func TranslateAll(opts Options) (*Result, error) {
	if len(opts.Files) == 0 && len(opts.Runs) == 0 {
		return nil, fmt.Errorf("no files given")
	}
	in, errs := readInputs(opts.Files, opts.DefinitionPaths, opts.Known, opts.KnownTemplates)
	for _, s := range opts.Runs {
		errs = append(errs, in.readData(s.Name, s.Data, true)...)
	}
	in.clusters = opts.Clusters
	return in.translate(errs, append(slices.Clone(opts.Files), sourceNames(opts.Runs)...))
}

// translate plans every run read, given the problems reading found.
func (in *inputs) translate(errs Errors, files []string) (*Result, error) {
	res := &Result{Objects: in.objects}
	used := map[string]bool{}
	for _, doc := range in.runs {
		p, es := in.plan(doc, used)
		errs = append(errs, es...)
		if p != nil {
			res.Plans = append(res.Plans, p)
		}
	}
	if len(errs) > 0 {
		return nil, errs.sorted()
	}
	if len(res.Plans) == 0 {
		var none Errors
		for _, f := range files {
			none = append(none, FieldError{File: f, Line: 1, Msg: "no WorkflowRun found (a run is a document of kind WorkflowRun)"})
		}
		return nil, none
	}
	in.brokenWarnings(used)
	res.Warnings = in.warnings
	return res, nil
}

// Catalog is the step types a worker or the CLI knows: the built-ins and
// the definitions in some folders.
type Catalog struct {
	Definitions map[string]cuedefs.Definition
	// Broken are the definitions that do not compile, with why.
	Broken map[string]Errors
	// Warnings tell of definitions replacing others and of documents
	// ignored.
	Warnings []string
	// Errors are the files that cannot be read at all.
	Errors Errors
}

// LoadCatalog reads the built-in definitions plus those in paths. A
// definition that does not compile is in Broken, not an error.
func LoadCatalog(paths ...string) *Catalog {
	in, errs := readInputs(nil, paths, nil, nil)
	return &Catalog{Definitions: in.definitions, Broken: in.broken, Warnings: in.warnings, Errors: errs.sorted()}
}

// BrokenWarnings tell of the definitions that do not compile.
func (c *Catalog) BrokenWarnings() []string {
	var out []string
	for _, typ := range sortedKeys(c.Broken) {
		out = append(out, brokenWarning(typ, c.Broken[typ]))
	}
	return out
}

// LoadDefinitions returns the built-in definitions plus those in paths
// that compile; files that cannot be read are an error.
func LoadDefinitions(paths ...string) (map[string]cuedefs.Definition, error) {
	c := LoadCatalog(paths...)
	if len(c.Errors) > 0 {
		return nil, c.Errors
	}
	return c.Definitions, nil
}

func (in *inputs) plan(doc *document, used map[string]bool) (*Plan, Errors) {
	var run WorkflowRun
	if es := doc.into(&run); es != nil {
		return nil, es
	}
	if es := unknownFields(doc, reflect.TypeOf(run)); es != nil {
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
		Debug:       run.Metadata.Annotations[DebugAnnotation] == "true",
	}

	stepsDoc, stepsField := doc, "spec.workflowSpec.steps"
	conc, concDoc, concField := run.Spec.Concurrency, doc, "spec.concurrency"
	var steps []WorkflowStep
	switch {
	case run.Spec.WorkflowSpec != nil:
		steps = run.Spec.WorkflowSpec.Steps
	case run.Spec.WorkflowRef != "":
		wfDoc, ok := in.workflows[WorkflowID(p.Namespace, run.Spec.WorkflowRef)]
		if !ok {
			wfDoc, ok = in.workflows[WorkflowID(anyNamespace, run.Spec.WorkflowRef)]
		}
		if !ok {
			c.add(doc, "spec.workflowRef", "no Workflow %q in namespace %q among the given files and definitions", run.Spec.WorkflowRef, p.Namespace)
			return nil, c.errs
		}
		var wf Workflow
		wfDoc.into(&wf) // decoded without error when it was read
		steps, stepsDoc, stepsField = wf.Steps, wfDoc, "steps"
		applyMode(&p.Mode, wf.Mode, wfDoc, "mode", c)
		if conc == nil {
			conc, concDoc, concField = wf.Concurrency, wfDoc, "concurrency"
		}
	default:
		c.add(doc, "spec", "needs spec.workflowSpec.steps or spec.workflowRef")
		return nil, c.errs
	}
	applyMode(&p.Mode, run.Spec.Mode, doc, "spec.mode", c)
	p.Concurrency = concurrency(conc, p, concDoc, concField, c)
	if len(steps) == 0 {
		c.add(stepsDoc, stepsField, "no steps")
	}

	v := &validator{in: in, doc: stepsDoc, c: c, plan: p, used: used}
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
