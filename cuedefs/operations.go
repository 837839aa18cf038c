package cuedefs

import (
	"path"
	"sort"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/parser"
)

// WithOperations fills in the operations a template may call, found in its
// source: the op-package definitions it refers to and the `#provider` and
// `#do` fields it writes itself. When the source leaves any in doubt (a
// computed #do, an import velaflow does not know) OperationsKnown stays
// false and the template counts as doing anything.
func WithOperations(d Definition) Definition {
	ops, known := operations(d)
	d.Operations, d.OperationsKnown = ops, known
	return d
}

func operations(d Definition) ([]string, bool) {
	f, err := parser.ParseFile(d.File, d.Source)
	if err != nil {
		return nil, false
	}
	names := map[string]string{} // local name → op package path
	for spec := range f.ImportSpecs() {
		p, _ := strconv.Unquote(spec.Path.Value)
		if _, ok := packages[p]; !ok {
			if strings.HasPrefix(p, "tool/") || strings.Contains(strings.SplitN(p, "/", 2)[0], ".") {
				return nil, false // CUE's tool packages, or a module velaflow does not have
			}
			continue // the standard library computes
		}
		local := path.Base(p)
		if spec.Name != nil {
			local = spec.Name.Name
		}
		names[local] = p
	}
	found := map[string]bool{}
	known := true
	ctx := NewContext()
	pkgs := map[string]cue.Value{}
	ast.Walk(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			x, ok := n.X.(*ast.Ident)
			if !ok {
				return true
			}
			p, ok := names[x.Name]
			if !ok {
				return true
			}
			pv, ok := pkgs[p]
			if !ok {
				inst, err := packageInstance(p)
				if err != nil {
					known = false
					return false
				}
				pv = ctx.BuildInstance(inst)
				pkgs[p] = pv
			}
			label, _, _ := ast.LabelName(n.Sel)
			v := pv.LookupPath(cue.ParsePath(label))
			if !v.Exists() {
				known = false
				return false
			}
			collectTasks(v, found, 0)
		case *ast.StructLit:
			do, provider, written := literalTask(n)
			if written && (do == "" || provider == "") {
				known = false
			} else if written {
				found[provider+"."+do] = true
			}
		}
		return true
	}, nil)
	if !known {
		return nil, false
	}
	ops := make([]string, 0, len(found))
	for op := range found {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	return ops, true
}

// collectTasks adds the operations in v (an op-package definition, which
// may hold others) as "provider.do".
func collectTasks(v cue.Value, found map[string]bool, depth int) {
	if depth > 8 {
		return
	}
	do, _ := v.LookupPath(cue.ParsePath("#do")).String()
	provider, _ := v.LookupPath(cue.ParsePath("#provider")).String()
	if do != "" && provider != "" {
		found[provider+"."+do] = true
	}
	it, err := v.Fields(cue.Definitions(true), cue.Optional(true))
	if err != nil {
		return
	}
	for it.Next() {
		if sel := it.Selector(); sel.IsDefinition() && (sel.String() == "#do" || sel.String() == "#provider") {
			continue
		}
		collectTasks(it.Value(), found, depth+1)
	}
}

// literalTask reads the #do and #provider a template writes in a struct;
// written tells whether it writes either, do or provider is "" when not a
// plain string.
func literalTask(s *ast.StructLit) (do, provider string, written bool) {
	for _, e := range s.Elts {
		f, ok := e.(*ast.Field)
		if !ok {
			continue
		}
		label, _, _ := ast.LabelName(f.Label)
		if label != "#do" && label != "#provider" {
			continue
		}
		written = true
		lit, ok := f.Value.(*ast.BasicLit)
		if !ok {
			continue
		}
		str, err := strconv.Unquote(lit.Value)
		if err != nil {
			continue
		}
		if label == "#do" {
			do = str
		} else {
			provider = str
		}
	}
	return do, provider, written
}
