package translator

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// unknownFields reports the fields of a WorkflowRun or Workflow that its
// type does not have (`dependOn`, `timout`), with the field meant when
// one is close. metadata is Kubernetes' and status is the server's: both
// are left alone, as `kubectl get -o yaml` output carries them.
func unknownFields(d *document, t reflect.Type) Errors {
	var errs Errors
	walkFields(d.node, t, "", func(path, key string, line int, known []string) {
		msg := fmt.Sprintf("unknown field %q", key)
		if m := closest(key, known); m != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", m)
		}
		errs = append(errs, FieldError{File: d.file, Line: line, Field: join(path, key), Msg: msg})
	})
	return errs
}

func walkFields(n *yaml.Node, t reflect.Type, path string, report func(path, key string, line int, known []string)) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return // a type error, reported when decoding
		}
		fields := jsonFields(t)
		known := make([]string, 0, len(fields))
		for k := range fields {
			known = append(known, k)
		}
		sort.Strings(known)
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			ft, ok := fields[key]
			switch {
			case !ok && path == "" && key == "status":
			case !ok:
				report(path, key, n.Content[i].Line, known)
			case path == "" && key == "metadata":
			default:
				walkFields(n.Content[i+1], ft, join(path, key), report)
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, item := range n.Content {
			walkFields(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i), report)
		}
	}
}

// jsonFields maps a struct's JSON names to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// closest is the known name a mistyped one most likely meant: one a few
// edits away, or one it starts (fromKey for from).
func closest(name string, known []string) string {
	best, bestDist := "", 0
	lower := strings.ToLower(name)
	for _, k := range known {
		d := editDistance(lower, strings.ToLower(k))
		if d > max(2, len(k)/3) && !strings.HasPrefix(lower, strings.ToLower(k)) {
			continue
		}
		if best == "" || d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
