package cuedefs

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/build"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/parser"
)

//go:embed packages
var packageFS embed.FS

// opPackage is one importable package, e.g. "vela/http".
type opPackage struct {
	importPath string
	files      map[string]string // file name → source
}

// packages maps import path → package, read once from the embedded tree.
var packages = mustReadPackages()

func mustReadPackages() map[string]*opPackage {
	pkgs := map[string]*opPackage{}
	err := fs.WalkDir(packageFS, "packages", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".cue") {
			return err
		}
		src, err := packageFS.ReadFile(p)
		if err != nil {
			return err
		}
		importPath := strings.TrimPrefix(path.Dir(p), "packages/")
		pkg := pkgs[importPath]
		if pkg == nil {
			pkg = &opPackage{importPath: importPath, files: map[string]string{}}
			pkgs[importPath] = pkg
		}
		pkg.files[path.Base(p)] = string(src)
		return nil
	})
	if err != nil {
		panic(fmt.Sprintf("cuedefs: reading embedded packages: %v", err))
	}
	return pkgs
}

// scaffold declares the fields every template may refer to without declaring
// them. It is appended after the template so line numbers stay the template's.
const scaffold = "\ncontext: _\nparameter: _\n"

// Compile builds a template into a CUE value in ctx. filename is used in
// error positions; lineOffset is added to every line so that errors point into
// the file the template came from (a YAML file holding it as a string, say).
// Imports of the op packages are resolved from the embedded tree; imports of
// CUE's standard library work as usual.
func Compile(ctx *cue.Context, source, filename string, lineOffset int) (cue.Value, error) {
	file, err := parser.ParseFile(filename, withPreamble(source, lineOffset)+scaffold, parser.ParseComments)
	if err != nil {
		return cue.Value{}, err
	}
	dropUnusedImports(file)
	rewriteListAddition(file)
	inst := build.NewContext().NewInstance("", nil)
	for spec := range file.ImportSpecs() {
		importPath := strings.Trim(spec.Path.Value, `"`)
		if inst.LookupImport(importPath) != nil {
			continue
		}
		if _, ok := packages[importPath]; !ok {
			continue // standard library, or an error the build reports with a position
		}
		dep, err := packageInstance(importPath)
		if err != nil {
			return cue.Value{}, err
		}
		inst.Imports = append(inst.Imports, dep)
	}
	if err := inst.AddSyntax(file); err != nil {
		return cue.Value{}, err
	}
	v := ctx.BuildInstance(inst)
	if v.Err() != nil {
		// The top-level value is also in error while a comprehension's
		// condition waits for an operation's result (`if apply.status.x
		// > 0`); Validate tells such incomplete values from real errors.
		if err := ValidatePending(v); err != nil {
			return cue.Value{}, err
		}
	}
	return v, nil
}

// preamble turns on the evaluation KubeVela's templates are written for:
// `x != _|_ && x.y == 1` must not evaluate the right operand when the
// left is false (the CUE spec's rule, an opt-in experiment in CUE v0.17).
const preamble = "@experiment(shortcircuit)"

// withPreamble puts the preamble before source and shifts source down by
// lineOffset lines without touching the text the user wrote. With no
// offset the preamble shares the first line.
func withPreamble(source string, lineOffset int) string {
	if lineOffset > 0 {
		return preamble + strings.Repeat("\n", lineOffset) + source
	}
	return preamble + ", " + source
}

// CompileExpr compiles an expression (which may start with imports) in the
// scope of v, with the template's evaluation rules.
func CompileExpr(ctx *cue.Context, scope cue.Value, expr, filename string) cue.Value {
	return ctx.CompileString(withPreamble(expr, 0), cue.Scope(scope), cue.InferBuiltins(true), cue.Filename(filename))
}

// dropUnusedImports removes imports nothing refers to. KubeVela accepts
// templates that import a package they no longer use (its own published
// definitions do); CUE would refuse them.
func dropUnusedImports(f *ast.File) {
	used := map[*ast.ImportSpec]bool{}
	unresolved := map[string]bool{}
	for _, id := range f.Unresolved {
		unresolved[id.Name] = true
	}
	ast.Walk(f, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			if spec, ok := id.Node.(*ast.ImportSpec); ok {
				used[spec] = true
			}
		}
		return true
	}, nil)
	decls := f.Decls[:0]
	for _, d := range f.Decls {
		imp, ok := d.(*ast.ImportDecl)
		if !ok {
			decls = append(decls, d)
			continue
		}
		specs := imp.Specs[:0]
		for _, s := range imp.Specs {
			if used[s] || unresolved[importName(s)] {
				specs = append(specs, s)
			}
		}
		imp.Specs = specs
		if len(specs) > 0 {
			decls = append(decls, imp)
		}
	}
	f.Decls = decls
}

// importName is the name an import is referred to by.
func importName(s *ast.ImportSpec) string {
	if s.Name != nil {
		return s.Name.Name
	}
	p, _ := strconv.Unquote(s.Path.Value)
	if i := strings.LastIndexByte(p, ':'); i >= 0 {
		return p[i+1:]
	}
	return path.Base(p)
}

// packageInstance parses an op package into a build instance. Packages are
// parsed per build because the evaluator annotates syntax trees it resolves.
func packageInstance(importPath string) (*build.Instance, error) {
	pkg := packages[importPath]
	inst := build.NewContext().NewInstance("", nil)
	inst.ImportPath = importPath
	inst.PkgName = path.Base(importPath)
	names := make([]string, 0, len(pkg.files))
	for n := range pkg.files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f, err := parser.ParseFile(importPath+"/"+n, pkg.files[n], parser.ParseComments)
		if err != nil {
			return nil, fmt.Errorf("op package %s: %w", importPath, err)
		}
		if err := inst.AddSyntax(f); err != nil {
			return nil, fmt.Errorf("op package %s: %w", importPath, err)
		}
	}
	return inst, nil
}

// NewContext returns a fresh CUE context. Values from different contexts
// must not be mixed.
func NewContext() *cue.Context { return cuecontext.New() }
