package translator

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	cueerrors "cuelang.org/go/cue/errors"

	"github.com/velaflow/velaflow/cuedefs"
)

const descriptionAnnotation = "definition.oam.dev/description"

// inputs is everything read from the given files and folders.
type inputs struct {
	runs        []*document
	workflows   map[string]*document // "<namespace>/<name>"
	definitions map[string]cuedefs.Definition
	// broken are the definitions that do not compile, by type: they fail
	// the runs that use them, and only those.
	broken map[string]Errors
	// objects are the other Kubernetes objects of the run files.
	objects []Object
	// clusters are the clusters the workers know (nil: not checked).
	clusters []string
	warnings []string
}

// Object is a Kubernetes object given beside the WorkflowRuns (a ConfigMap
// a run reads, say), to be applied before the runs start.
type Object struct {
	File string         `json:"file"`
	Line int            `json:"line"`
	Data map[string]any `json:"object"`
}

// Name is "Kind namespace/name" (no namespace when it has none).
func (o Object) Name() string {
	md, _ := o.Data["metadata"].(map[string]any)
	name, _ := md["name"].(string)
	if ns, _ := md["namespace"].(string); ns != "" {
		name = ns + "/" + name
	}
	kind, _ := o.Data["kind"].(string)
	return kind + " " + name
}

func (in *inputs) warnf(format string, args ...any) {
	in.warnings = append(in.warnings, fmt.Sprintf(format, args...))
}

// readInputs reads files and definition folders. Folders are read for
// Workflows and WorkflowStepDefinitions (.yaml, .yml, .cue); files may hold
// any of the three kinds.
func readInputs(files, definitionPaths []string, known map[string]cuedefs.Definition, knownDocs []Source) (*inputs, Errors) {
	in := newInputs()
	for k, v := range known {
		in.definitions[k] = v
	}
	var errs Errors
	for _, s := range knownDocs {
		errs = append(errs, in.readData(s.Name, s.Data, false)...)
	}
	for _, p := range definitionPaths {
		paths, err := definitionFiles(p)
		if err != nil {
			errs = append(errs, FieldError{File: p, Msg: err.Error()})
			continue
		}
		for _, f := range paths {
			errs = append(errs, in.readFile(f, false)...)
		}
	}
	for _, f := range files {
		errs = append(errs, in.readFile(f, true)...)
	}
	return in, errs
}

// newInputs holds the built-in definitions.
func newInputs() *inputs {
	in := &inputs{workflows: map[string]*document{}, definitions: map[string]cuedefs.Definition{}, broken: map[string]Errors{}}
	for k, v := range cuedefs.Builtins() {
		in.definitions[k] = v
	}
	return in
}

// anyNamespace keys the templates that serve every namespace.
const anyNamespace = "*"

// TemplateSources reads the Workflow templates in folders (or files) as
// sources, for a worker to hand to the CLI; a file that does not parse is
// an error.
func TemplateSources(paths ...string) ([]Source, error) {
	var out []Source
	var errs Errors
	for _, p := range paths {
		files, err := definitionFiles(p)
		if err != nil {
			errs = append(errs, FieldError{File: p, Msg: err.Error()})
			continue
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				errs = append(errs, FieldError{File: f, Line: 1, Msg: err.Error()})
				continue
			}
			errs = append(errs, newInputs().readData(f, data, false)...)
			out = append(out, Source{Name: f, Data: data})
		}
	}
	if len(errs) > 0 {
		return nil, errs.sorted()
	}
	return out, nil
}

// definitionFiles lists the definition files in a folder, or the file itself.
func definitionFiles(p string) ([]string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{p}, nil
	}
	var out []string
	err = filepath.WalkDir(p, func(f string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch filepath.Ext(f) {
		case ".yaml", ".yml", ".cue":
			if !d.IsDir() {
				out = append(out, f)
			}
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

func (in *inputs) readFile(file string, runsAllowed bool) Errors {
	if st, err := os.Stat(file); err == nil && st.Size() > maxFileBytes {
		return Errors{{File: file, Line: 1, Msg: fmt.Sprintf("the file is %d bytes; velaflow reads files of at most %d", st.Size(), maxFileBytes)}}
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return Errors{{File: file, Line: 1, Msg: err.Error()}}
	}
	return in.readData(file, data, runsAllowed)
}

// readData reads one file's content; file names it in errors.
func (in *inputs) readData(file string, data []byte, runsAllowed bool) Errors {
	if filepath.Ext(file) == ".cue" {
		d, err := cuedefs.ParseCUEFile(file, data)
		if err != nil {
			// The type is unknown; the file name is the best guess.
			typ := strings.TrimSuffix(filepath.Base(file), ".cue")
			var pe cuedefs.ParseError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			in.markBroken(typ, cueErrors(err, file, "", ""))
			return nil
		}
		return in.addDefinition(d, nil, "")
	}
	docs, errs := decodeDocuments(file, data)
	for _, doc := range docs {
		switch doc.kind {
		case KindWorkflowRun:
			if !runsAllowed {
				errs = append(errs, FieldError{File: file, Line: doc.line, Field: "kind", Msg: "a definitions folder holds Workflows and WorkflowStepDefinitions, not WorkflowRuns"})
				continue
			}
			if e := checkAPIVersion(doc, GroupV1alpha1); e != nil {
				errs = append(errs, *e)
				continue
			}
			in.runs = append(in.runs, doc)
		case KindWorkflow:
			if e := checkAPIVersion(doc, GroupV1alpha1); e != nil {
				errs = append(errs, *e)
				continue
			}
			var wf Workflow
			if es := doc.into(&wf); es != nil {
				errs = append(errs, es...)
				continue
			}
			if es := unknownFields(doc, reflect.TypeOf(wf)); es != nil {
				errs = append(errs, es...)
				continue
			}
			in.workflows[WorkflowID(namespaceOr(wf.Metadata.Namespace), wf.Metadata.Name)] = doc
			if wf.Metadata.Namespace == "" {
				// A template in a folder that names no namespace serves all.
				in.workflows[WorkflowID(anyNamespace, wf.Metadata.Name)] = doc
			}
		case KindWorkflowStepDefinition:
			if e := checkAPIVersion(doc, GroupV1beta1); e != nil {
				errs = append(errs, *e)
				continue
			}
			errs = append(errs, in.readStepDefinition(doc)...)
		case "":
			msg := "missing"
			if fieldNode(doc.node, "kind") != nil {
				msg = "must be a string such as WorkflowRun"
			}
			errs = append(errs, FieldError{File: file, Line: doc.lineOf("kind"), Field: "kind", Msg: msg})
		default:
			if !runsAllowed {
				in.warnf("%s:%d: %s ignored: a definitions folder holds Workflows and WorkflowStepDefinitions", file, doc.line, doc.kind)
				continue
			}
			if doc.api == "" {
				errs = append(errs, FieldError{File: file, Line: doc.line, Field: "apiVersion", Msg: fmt.Sprintf("missing: a %s needs an apiVersion", doc.kind)})
				continue
			}
			es := in.addObject(doc)
			errs = append(errs, es...)
		}
	}
	return errs
}

func checkAPIVersion(doc *document, want string) *FieldError {
	if doc.api == want {
		return nil
	}
	if doc.api == "" {
		return &FieldError{File: doc.file, Line: doc.lineOf("apiVersion"), Field: "apiVersion",
			Msg: fmt.Sprintf("missing: a %s needs apiVersion %s", doc.kind, want)}
	}
	return &FieldError{File: doc.file, Line: doc.lineOf("apiVersion"), Field: "apiVersion",
		Msg: fmt.Sprintf("%s must be %s, not %q", doc.kind, want, doc.api)}
}

func (in *inputs) readStepDefinition(doc *document) Errors {
	var def WorkflowStepDefinition
	if es := doc.into(&def); es != nil {
		return es
	}
	const field = "spec.schematic.cue.template"
	if def.Metadata.Name == "" {
		return Errors{{File: doc.file, Line: doc.lineOf("metadata.name"), Field: "metadata.name", Msg: "missing"}}
	}
	if strings.TrimSpace(def.Spec.Schematic.CUE.Template) == "" {
		in.markBroken(def.Metadata.Name, Errors{{File: doc.file, Line: doc.lineOf(field), Field: field, Msg: "missing"}})
		return nil
	}
	// Template line 1 is the line after a block scalar's "|", else the
	// scalar's own line.
	offset := doc.lineOf(field)
	if n := templateNode(doc); n != nil {
		offset = n.Line
		if n.Style&(yamlLiteral|yamlFolded) == 0 {
			offset--
		}
	}
	d := cuedefs.NewDefinition(def.Metadata.Name, def.Metadata.Annotations[descriptionAnnotation],
		def.Spec.Schematic.CUE.Template, doc.file, offset)
	return in.addDefinition(d, doc, field)
}

// addDefinition checks that a user definition compiles and records it; a
// user definition replaces a built-in of the same type, and says so. One
// that does not compile is kept aside: it fails only the runs using it.
func (in *inputs) addDefinition(d cuedefs.Definition, doc *document, field string) Errors {
	if err := d.Check(); err != nil {
		es := cueErrors(err, d.File, field, fmt.Sprintf("definition %q does not compile: ", d.Type))
		// An error at the end of the template (an unclosed brace) is
		// placed after it by the fields the compiler appends.
		last := d.Line + strings.Count(strings.TrimRight(d.Source, "\n"), "\n") + 1
		for i := range es {
			if es[i].File == d.File && es[i].Line > last {
				es[i].Line = last
			}
		}
		in.markBroken(d.Type, es)
		return nil
	}
	where := d.File
	if doc != nil {
		where = fmt.Sprintf("%s:%d", d.File, doc.line)
	}
	if prev, ok := in.definitions[d.Type]; ok {
		if prev.Builtin {
			in.warnf("%s: definition %q replaces the built-in one", where, d.Type)
		} else {
			in.warnf("%s: definition %q replaces the one in %s", where, d.Type, prev.File)
		}
	}
	delete(in.broken, d.Type)
	in.definitions[d.Type] = d
	return nil
}

// markBroken sets a definition aside that does not compile.
func (in *inputs) markBroken(typ string, errs Errors) {
	in.broken[typ] = errs
	delete(in.definitions, typ)
}

// addObject keeps a Kubernetes object of a run file, to be applied
// before the runs start.
func (in *inputs) addObject(doc *document) Errors {
	var obj map[string]any
	if es := doc.into(&obj); es != nil {
		return es
	}
	md, _ := obj["metadata"].(map[string]any)
	if name, _ := md["name"].(string); name == "" {
		return Errors{{File: doc.file, Line: doc.lineOf("metadata.name"), Field: "metadata.name", Msg: fmt.Sprintf("missing: a %s needs a name", doc.kind)}}
	}
	in.objects = append(in.objects, Object{File: doc.file, Line: doc.line, Data: obj})
	return nil
}

// brokenWarnings tell of the broken definitions no run used.
func (in *inputs) brokenWarnings(used map[string]bool) {
	for _, typ := range sortedKeys(in.broken) {
		if !used[typ] {
			in.warnings = append(in.warnings, brokenWarning(typ, in.broken[typ]))
		}
	}
}

func brokenWarning(typ string, es Errors) string {
	return fmt.Sprintf("definition %q does not compile, so runs cannot use it:\n  %s", typ, strings.ReplaceAll(es.Error(), "\n", "\n  "))
}

// cueErrors converts CUE errors into FieldErrors at the positions CUE gives.
func cueErrors(err error, file, field, prefix string) Errors {
	var out Errors
	for _, e := range cueerrors.Errors(err) {
		fe := FieldError{File: file, Field: field}
		pos := e.Position()
		if !pos.IsValid() {
			if ps := e.InputPositions(); len(ps) > 0 {
				pos = ps[0]
			}
		}
		if pos.IsValid() {
			fe.File, fe.Line = pos.Filename(), pos.Line()
		}
		format, args := e.Msg()
		msg := fmt.Sprintf(format, args...)
		if p := e.Path(); len(p) > 0 {
			msg = strings.Join(p, ".") + ": " + msg
		}
		fe.Msg = prefix + msg
		out = append(out, fe)
	}
	if len(out) == 0 {
		out = Errors{{File: file, Field: field, Msg: prefix + err.Error()}}
	}
	return out
}

func namespaceOr(ns string) string {
	if ns == "" {
		return "default"
	}
	return ns
}
