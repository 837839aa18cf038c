package cuedefs

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"
)

// Definition is one step type: a CUE template plus where it came from. The
// Plan pins Definitions by value, so a run keeps the template it started with.
type Definition struct {
	// Type is the step type users write, e.g. "request".
	Type        string `json:"type"`
	Description string `json:"description,omitempty"`
	// Source is the template: imports, parameter, operations.
	Source string `json:"source"`
	// Digest is the sha256 of Source, so two runs can tell whether they ran
	// the same template.
	Digest string `json:"digest"`
	// File and Line locate the template's first line, for error messages.
	File string `json:"file"`
	Line int    `json:"line"`
	// Builtin is true for the definitions shipped with velaflow.
	Builtin bool `json:"builtin,omitempty"`
	// Operations are the operations ("provider.do") the template may call;
	// OperationsKnown is false when its source leaves that in doubt
	// (WithOperations).
	Operations      []string `json:"operations,omitempty"`
	OperationsKnown bool     `json:"operationsKnown,omitempty"`
}

// NewDefinition fills the digest of a definition.
func NewDefinition(typ, description, source, file string, line int) Definition {
	sum := sha256.Sum256([]byte(source))
	return Definition{
		Type:        typ,
		Description: description,
		Source:      source,
		Digest:      "sha256:" + hex.EncodeToString(sum[:]),
		File:        file,
		Line:        line,
	}
}

// Check compiles and validates the template. The error it returns is a CUE
// error list whose positions are in d.File; Describe formats it.
func (d Definition) Check() error {
	v, err := Compile(NewContext(), d.Source, d.File, d.Line)
	if err == nil {
		// Validate finds conflicts; values still waiting for parameters or
		// operation results are fine here. CUE treats a selector into an
		// imported package as incomplete, so unknown operations are checked
		// on their own.
		err = ValidatePending(v)
	}
	if err == nil {
		err = checkOpSelectors(d)
	}
	return err
}

// Describe formats CUE errors one per line as "file:line: message".
func Describe(err error) string {
	var lines []string
	for _, e := range errors.Errors(err) {
		msg := e.Error()
		if p := e.Position(); p.IsValid() {
			msg = fmt.Sprintf("%s:%d: %s", p.Filename(), p.Line(), strings.TrimPrefix(msg, p.String()+": "))
		} else if ps := e.InputPositions(); len(ps) > 0 && ps[0].IsValid() {
			msg = fmt.Sprintf("%s:%d: %s", ps[0].Filename(), ps[0].Line(), msg)
		}
		lines = append(lines, "  "+msg)
	}
	if len(lines) == 0 {
		return "  " + err.Error()
	}
	return strings.Join(dedupe(lines), "\n")
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	out := in[:0]
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// ParseCUEFile reads a definition written as a .cue file. Two forms are
// accepted:
//
//   - the `vela def` form: a top-level `"<type>": {type: "workflow-step",
//     description: ...}` header and a `template: {...}` field;
//   - a bare template, whose type is the file name without ".cue".
//
// For the first form the template keeps its line and column positions, so
// errors point into the file as written.
func ParseCUEFile(filename string, src []byte) (Definition, error) {
	f, err := parser.ParseFile(filename, src, parser.ParseComments)
	if err != nil {
		return Definition{}, ParseError{err}
	}
	var tmpl *ast.StructLit
	var typ, desc string
	for _, decl := range f.Decls {
		field, ok := decl.(*ast.Field)
		if !ok {
			continue
		}
		name, _, _ := ast.LabelName(field.Label)
		if name == "template" {
			s, ok := field.Value.(*ast.StructLit)
			if !ok {
				return Definition{}, fmt.Errorf("%s:%d: template must be a struct", filename, field.Pos().Line())
			}
			tmpl = s
			continue
		}
		if s, ok := field.Value.(*ast.StructLit); ok && headerString(s, "type") == "workflow-step" {
			typ, desc = name, headerString(s, "description")
		}
	}
	if tmpl == nil {
		base := filename[strings.LastIndex(filename, "/")+1:]
		return NewDefinition(strings.TrimSuffix(base, ".cue"), "", string(src), filename, 0), nil
	}
	if typ == "" {
		return Definition{}, fmt.Errorf(`%s: a template field but no "<type>": {type: "workflow-step"} header`, filename)
	}
	keep := [][2]int{}
	// Keep whole import declarations, parentheses included.
	for imp := range f.ImportDecls() {
		keep = append(keep, [2]int{imp.Pos().Offset(), imp.End().Offset()})
	}
	keep = append(keep, [2]int{tmpl.Lbrace.Offset() + 1, tmpl.Rbrace.Offset()})
	return NewDefinition(typ, desc, blankOutside(string(src), keep), filename, 0), nil
}

// blankOutside replaces every character outside the kept ranges with a space
// (newlines stay), so the remaining text keeps its line and column.
func blankOutside(src string, keep [][2]int) string {
	b := []byte(src)
	kept := make([]bool, len(b))
	for _, r := range keep {
		for i := r[0]; i < r[1] && i < len(b); i++ {
			kept[i] = true
		}
	}
	for i := range b {
		if !kept[i] && b[i] != '\n' {
			b[i] = ' '
		}
	}
	lines := strings.Split(string(b), "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " \t")
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n") + "\n"
}

func headerString(s *ast.StructLit, key string) string {
	for _, el := range s.Elts {
		f, ok := el.(*ast.Field)
		if !ok {
			continue
		}
		if name, _, _ := ast.LabelName(f.Label); name == key {
			if lit, ok := f.Value.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				return strings.Trim(lit.Value, `"`)
			}
		}
	}
	return ""
}

// Object is the definition as a WorkflowStepDefinition object, what
// `kubectl apply` takes (`vela def render` writes the same).
func (d Definition) Object(namespace string) map[string]any {
	md := map[string]any{"name": d.Type}
	if namespace != "" {
		md["namespace"] = namespace
	}
	if d.Description != "" {
		md["annotations"] = map[string]any{"definition.oam.dev/description": d.Description}
	}
	return map[string]any{
		"apiVersion": "core.oam.dev/v1beta1",
		"kind":       "WorkflowStepDefinition",
		"metadata":   md,
		"spec":       map[string]any{"schematic": map[string]any{"cue": map[string]any{"template": tidySource(d.Source)}}},
	}
}

// tidySource drops the blank lines a `vela def` file's header left, the
// indentation of the template's body inside `template: {`, and indents
// with spaces (YAML writes a block with tabs as a quoted string).
func tidySource(src string) string {
	var out []string
	for _, l := range strings.Split(src, "\n") {
		if strings.TrimSpace(l) == "" {
			if len(out) > 0 && out[len(out)-1] != "" {
				out = append(out, "")
			}
			continue
		}
		l = strings.TrimRight(strings.TrimPrefix(l, "\t"), " \t")
		body := strings.TrimLeft(l, "\t")
		out = append(out, strings.Repeat("  ", len(l)-len(body))+body)
	}
	return strings.TrimSpace(strings.Join(out, "\n")) + "\n"
}

// ParseError is a definition file that is not CUE: its message names the
// positions; Err keeps them for callers that place errors themselves.
type ParseError struct{ Err error }

func (e ParseError) Error() string { return Describe(e.Err) }
func (e ParseError) Unwrap() error { return e.Err }
