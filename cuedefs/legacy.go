package cuedefs

import (
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/ast/astutil"
	"cuelang.org/go/cue/token"
)

// rewriteListAddition turns `[...] + x` and `x + [...]` into
// list.Concat([[...], x]). CUE dropped list arithmetic in v0.11; KubeVela's
// published templates still use it (addon-operation: a command plus
// parameter.args). Only additions with a list literal on one side are
// rewritten: with references on both sides the types are not known here.
func rewriteListAddition(f *ast.File) {
	astutil.Apply(f, nil, func(c astutil.Cursor) bool {
		b, ok := c.Node().(*ast.BinaryExpr)
		if !ok || b.Op != token.ADD || !(isListLit(b.X) || isListLit(b.Y)) {
			return true
		}
		concat := &ast.SelectorExpr{X: c.Import("list"), Sel: ast.NewIdent("Concat")}
		c.Replace(ast.NewCall(concat, ast.NewList(b.X, b.Y)))
		return true
	})
}

func isListLit(e ast.Expr) bool {
	for {
		p, ok := e.(*ast.ParenExpr)
		if !ok {
			break
		}
		e = p.X
	}
	_, ok := e.(*ast.ListLit)
	return ok
}
