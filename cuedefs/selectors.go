package cuedefs

import (
	"path"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/parser"
)

// checkOpSelectors reports every `pkg.#Name` that names an operation the op
// package does not have, such as a misspelt `http.#HTTPGett`.
func checkOpSelectors(d Definition) error {
	src := strings.Repeat("\n", d.Line) + d.Source
	f, err := parser.ParseFile(d.File, src)
	if err != nil {
		return err
	}
	names := map[string]string{} // local name → import path
	for spec := range f.ImportSpecs() {
		p, _ := strconv.Unquote(spec.Path.Value)
		if _, ok := packages[p]; !ok {
			continue
		}
		local := path.Base(p)
		if spec.Name != nil {
			local = spec.Name.Name
		}
		names[local] = p
	}
	if len(names) == 0 {
		return nil
	}
	ctx := NewContext()
	pkgValues := map[string]cue.Value{}
	var errs errors.Error
	ast.Walk(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		x, ok := sel.X.(*ast.Ident)
		if !ok {
			return true
		}
		importPath, ok := names[x.Name]
		if !ok {
			return true
		}
		pv, ok := pkgValues[importPath]
		if !ok {
			inst, err := packageInstance(importPath)
			if err != nil {
				errs = errors.Append(errs, errors.Promote(err, ""))
				return false
			}
			pv = ctx.BuildInstance(inst)
			pkgValues[importPath] = pv
		}
		label, _, _ := ast.LabelName(sel.Sel)
		if !pv.LookupPath(cue.ParsePath(label)).Exists() {
			errs = errors.Append(errs, errors.Newf(sel.Sel.Pos(), "package %s has no %s", importPath, label))
		}
		return true
	}, nil)
	if errs == nil {
		return nil
	}
	return errs
}
