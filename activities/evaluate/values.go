package evaluate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/token"
)

// fromJSON turns decoded data into a CUE value as CUE reads JSON: whole
// numbers are ints, and nested lists of open structs keep their fields
// (filling such Go values directly with Encode loses them in
// comprehensions, cuelang.org/go v0.17.1). The syntax tree is built from
// the data directly rather than printed as JSON and parsed back.
func fromJSON(cctx *cue.Context, data any) (cue.Value, error) {
	if plainData(data) {
		v := cctx.Encode(data) // no syntax tree to compile: cheaper
		return v, v.Err()
	}
	expr, err := literal(data)
	if err != nil {
		return cue.Value{}, err
	}
	v := cctx.BuildExpr(expr)
	return v, v.Err()
}

// plainData tells data holds only strings, booleans and nulls in maps,
// which Encode turns into the same values BuildExpr would (numbers and
// lists take the syntax tree: see fromJSON).
func plainData(data any) bool {
	switch x := data.(type) {
	case map[string]any:
		for _, v := range x {
			if !plainData(v) {
				return false
			}
		}
		return true
	case string, bool, nil:
		return true
	}
	return false
}

// literal is data as a CUE expression; other Go values go through their
// JSON form.
func literal(data any) (ast.Expr, error) {
	switch x := data.(type) {
	case nil:
		return ast.NewNull(), nil
	case bool:
		return ast.NewBool(x), nil
	case string:
		return ast.NewString(x), nil
	case json.Number:
		return number(string(x))
	case float64:
		b, err := json.Marshal(x) // the text JSON gives it
		if err != nil {
			return nil, err
		}
		return number(string(b))
	case int:
		return ast.NewLit(token.INT, strconv.Itoa(x)), nil
	case int64:
		return ast.NewLit(token.INT, strconv.FormatInt(x, 10)), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys) // as json.Marshal orders them
		fields := make([]any, 0, 2*len(keys))
		for _, k := range keys {
			e, err := literal(x[k])
			if err != nil {
				return nil, err
			}
			fields = append(fields, ast.NewString(k), e)
		}
		return ast.NewStruct(fields...), nil
	case []any:
		elems := make([]ast.Expr, len(x))
		for i, e := range x {
			var err error
			if elems[i], err = literal(e); err != nil {
				return nil, err
			}
		}
		return ast.NewList(elems...), nil
	}
	b, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	var generic any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&generic); err != nil {
		return nil, err
	}
	return literal(generic)
}

// number is a JSON number literal: an int unless it has a fraction or an
// exponent, as CUE reads JSON.
func number(s string) (ast.Expr, error) {
	if _, err := strconv.ParseFloat(s, 64); err != nil {
		return nil, fmt.Errorf("invalid number %q", s)
	}
	if strings.ContainsAny(s, ".eE") {
		return ast.NewLit(token.FLOAT, s), nil
	}
	return ast.NewLit(token.INT, s), nil
}

// plainPath matches a valueFrom that only selects a field (a.b.$returns.c),
// which is looked up rather than compiled as an expression.
var plainPath = regexp.MustCompile(`^[A-Za-z$][A-Za-z0-9_$]*(\.[A-Za-z$][A-Za-z0-9_$]*)*$`)

// lookupPlain finds a valueFrom that is a plain path in scope; false when
// it is not one or is not there (the expression is then compiled, which
// also words the error).
func lookupPlain(scope cue.Value, expr string) (cue.Value, bool) {
	if !plainPath.MatchString(expr) {
		return cue.Value{}, false
	}
	first, _, _ := strings.Cut(expr, ".")
	if first == "null" || first == "true" || first == "false" {
		return cue.Value{}, false
	}
	path := cue.ParsePath(expr)
	if path.Err() != nil {
		return cue.Value{}, false
	}
	x := scope.LookupPath(path)
	return x, x.Exists()
}
