package cuedefs

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/errors"
)

// ParamError is one way the properties of a step fail the definition's
// parameter. Path is relative to parameter.
type ParamError struct {
	Path []string
	Msg  string
}

// CheckParameters unifies properties with the definition's parameter, in
// the step's context (parameter defaults may refer to it), and reports
// missing required parameters, wrong types and disallowed fields.
func CheckParameters(d Definition, properties, context map[string]any) []ParamError {
	ctx := NewContext()
	v, err := Compile(ctx, d.Source, d.File, d.Line)
	if err != nil {
		return []ParamError{{Msg: fmt.Sprintf("definition %q does not compile", d.Type)}}
	}
	if properties == nil {
		properties = map[string]any{}
	}
	if context != nil {
		v = v.FillPath(cue.ParsePath("context"), ctx.Encode(Numbers(deepCopy(context))))
	}
	param := v.LookupPath(cue.ParsePath("parameter")).Unify(ctx.Encode(Numbers(deepCopy(properties))))
	err = param.Validate(cue.Concrete(true))
	if err == nil {
		return nil
	}
	var out []ParamError
	seen := map[string]bool{}
	for _, e := range errors.Errors(err) {
		path := e.Path()
		if len(path) > 0 && path[0] == "parameter" {
			path = path[1:]
		}
		msg := "required parameter missing"
		if present(properties, path) {
			format, args := e.Msg()
			msg = fmt.Sprintf(format, args...)
		}
		key := strings.Join(path, ".") + "\x00" + msg
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, ParamError{Path: path, Msg: msg})
	}
	return sentences(out)
}

var (
	emptyDisjunction = regexp.MustCompile(`^\d+ errors in empty disjunction:?$`)
	conflicting      = regexp.MustCompile(`^conflicting values (.+) and (.+)$`)
)

// sentences turns CUE's report of a value that matches no alternative
// (an empty disjunction, then one conflict per alternative) into the
// sentence a person needs: "GETT" is not one of "GET", "POST", ....
func sentences(errs []ParamError) []ParamError {
	var out []ParamError
	for i := 0; i < len(errs); i++ {
		e := errs[i]
		if !emptyDisjunction.MatchString(e.Msg) {
			out = append(out, e)
			continue
		}
		var alts []string
		value := ""
		j, same := i+1, true
		for ; j < len(errs) && slices.Equal(errs[j].Path, e.Path); j++ {
			m := conflicting.FindStringSubmatch(errs[j].Msg)
			if m == nil {
				break
			}
			if value == "" {
				value = m[2]
			}
			same = same && m[2] == value && !strings.Contains(m[2], "(")
			alts = append(alts, m[1])
		}
		if len(alts) == 0 || !same {
			out = append(out, e)
			continue
		}
		slices.Sort(alts)
		out = append(out, ParamError{Path: e.Path, Msg: fmt.Sprintf("%s is not one of %s", value, strings.Join(alts, ", "))})
		i = j - 1
	}
	return out
}

// present tells whether properties has a value at path.
func present(properties map[string]any, path []string) bool {
	var cur any = properties
	for _, p := range path {
		switch c := cur.(type) {
		case map[string]any:
			next, ok := c[p]
			if !ok {
				return false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(c) {
				return false
			}
			cur = c[i]
		default:
			return false
		}
	}
	return true
}

// deepCopy copies JSON-like data, so Numbers does not change the caller's.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}
