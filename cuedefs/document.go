package cuedefs

import (
	"fmt"
	"strings"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/format"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"
)

// Parameter is one parameter of a step type, as `velaflow def show`
// lists it; a nested one's name is dotted.
type Parameter struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Default     string `json:"default,omitempty"`
	Required    bool   `json:"required"`
	Description string `json:"description,omitempty"`
}

// parts splits the template into its imports and its fields.
func (d Definition) parts() (imports, body []ast.Decl, err error) {
	f, err := parser.ParseFile(d.File, d.Source, parser.ParseComments)
	if err != nil {
		return nil, nil, fmt.Errorf("definition %q: %s", d.Type, Describe(err))
	}
	for _, decl := range f.Decls {
		switch decl.(type) {
		case *ast.ImportDecl, *ast.Package:
			imports = append(imports, decl)
		default:
			body = append(body, decl)
		}
	}
	return imports, body, nil
}

// VelaDef is the definition as a `vela def` file: its imports, the
// header naming the type, and the template.
func (d Definition) VelaDef() (string, error) {
	imports, body, err := d.parts()
	if err != nil {
		return "", err
	}
	header := ast.NewStruct("type", ast.NewString("workflow-step"), "description", ast.NewString(d.Description))
	decls := append(imports,
		&ast.Field{Label: ast.NewString(d.Type), Value: header},
		&ast.Field{Label: ast.NewIdent("template"), Value: &ast.StructLit{Elts: body}},
	)
	b, err := format.Node(&ast.File{Decls: decls}, format.Simplify())
	if err != nil {
		return "", fmt.Errorf("definition %q: %w", d.Type, err)
	}
	return string(b), nil
}

// Parameters lists the fields of the template's parameter, with the
// descriptions its `// +usage=` comments (or plain comments) give.
func (d Definition) Parameters() ([]Parameter, error) {
	_, body, err := d.parts()
	if err != nil {
		return nil, err
	}
	for _, decl := range body {
		f, ok := decl.(*ast.Field)
		if !ok {
			continue
		}
		if name, _, _ := ast.LabelName(f.Label); name != "parameter" {
			continue
		}
		if s, ok := f.Value.(*ast.StructLit); ok {
			return parameterFields("", s), nil
		}
	}
	return nil, nil
}

func parameterFields(prefix string, s *ast.StructLit) []Parameter {
	var out []Parameter
	for _, elt := range s.Elts {
		f, ok := elt.(*ast.Field)
		if !ok {
			continue
		}
		name, _, err := ast.LabelName(f.Label)
		if err != nil {
			continue // a pattern such as [string]: the struct is a map
		}
		p := Parameter{Name: prefix + name, Description: usage(f)}
		p.Type, p.Default = typeAndDefault(f.Value)
		p.Required = f.Constraint != token.OPTION && p.Default == ""
		if sub, ok := f.Value.(*ast.StructLit); ok {
			if elem, isMap := mapOf(sub); isMap {
				p.Type = "map[string]" + elem
				out = append(out, p)
				continue
			}
			p.Type = "struct"
			out = append(out, p)
			out = append(out, parameterFields(p.Name+".", sub)...)
			continue
		}
		out = append(out, p)
	}
	return out
}

// mapOf tells a struct that is only `[string]: T`, and T.
func mapOf(s *ast.StructLit) (string, bool) {
	if len(s.Elts) != 1 {
		return "", false
	}
	f, ok := s.Elts[0].(*ast.Field)
	if !ok {
		return "", false
	}
	if _, isPattern := f.Label.(*ast.ListLit); !isPattern {
		return "", false
	}
	return exprString(f.Value), true
}

// typeAndDefault reads `*default | alternative | ...`: an enumeration of
// literals is the type as written (default first); otherwise the type is
// the alternatives that are not literals.
func typeAndDefault(v ast.Expr) (typ, def string) {
	var lits, types []string
	var walk func(ast.Expr)
	walk = func(e ast.Expr) {
		if b, ok := e.(*ast.BinaryExpr); ok && b.Op == token.OR {
			walk(b.X)
			walk(b.Y)
			return
		}
		if u, ok := e.(*ast.UnaryExpr); ok && u.Op == token.MUL {
			def = exprString(u.X)
			if isLiteral(u.X) {
				lits = append([]string{def}, lits...)
			}
			return
		}
		if isLiteral(e) {
			lits = append(lits, exprString(e))
		} else {
			types = append(types, exprString(e))
		}
	}
	walk(v)
	switch {
	case len(types) > 0:
		return strings.Join(types, " | "), def
	case len(lits) > 1:
		return strings.Join(lits, " | "), def
	case def != "":
		return kindOf(def), def
	}
	return strings.Join(lits, " | "), def
}

func isLiteral(e ast.Expr) bool {
	_, ok := e.(*ast.BasicLit)
	return ok
}

// kindOf names the type of a default written as a literal.
func kindOf(lit string) string {
	switch {
	case strings.HasPrefix(lit, `"`):
		return "string"
	case lit == "true" || lit == "false":
		return "bool"
	case strings.ContainsAny(lit, "."):
		return "number"
	default:
		return "int"
	}
}

func exprString(e ast.Expr) string {
	b, err := format.Node(e)
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b)), " ")
}

// usage is a field's description: its `// +usage=` comment, else the
// text of the comments above it.
func usage(f *ast.Field) string {
	var plain []string
	for _, cg := range ast.Comments(f) {
		if !cg.Doc {
			continue
		}
		for _, c := range cg.List {
			text := strings.TrimSpace(strings.TrimPrefix(c.Text, "//"))
			if rest, ok := strings.CutPrefix(text, "+usage="); ok {
				return strings.TrimSpace(rest)
			}
			if !strings.HasPrefix(text, "+") {
				plain = append(plain, text)
			}
		}
	}
	return strings.Join(plain, " ")
}
