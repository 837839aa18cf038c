package translator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// document is one YAML document with an index from field path to line.
type document struct {
	file  string
	line  int // first line of the document
	kind  string
	api   string
	node  *yaml.Node
	lines map[string]int
}

// lineOf returns the line of field, or of its nearest enclosing field that
// is present in the file (a missing field is reported where it belongs).
func (d *document) lineOf(field string) int {
	for f := field; f != ""; f = parentField(f) {
		if l, ok := d.lines[f]; ok {
			return l
		}
	}
	return d.line
}

// parentField drops the last element of a dotted path with [i] indexes.
func parentField(f string) string {
	if strings.HasSuffix(f, "]") {
		if i := strings.LastIndex(f, "["); i >= 0 {
			return f[:i]
		}
	}
	if i := strings.LastIndexAny(f, ".["); i >= 0 {
		return f[:i]
	}
	return ""
}

// decodeDocuments splits a YAML stream into documents.
func decodeDocuments(file string, data []byte) ([]*document, Errors) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*document
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, Errors{yamlError(file, err)}
		}
		if len(n.Content) == 0 || n.Content[0].Kind == yaml.ScalarNode && n.Content[0].Tag == "!!null" {
			continue // empty document, e.g. a trailing ---
		}
		root := n.Content[0]
		if e := checkAliases(file, root); e != nil {
			return nil, Errors{*e}
		}
		d := &document{file: file, line: root.Line, node: root, lines: map[string]int{}}
		index(root, "", d.lines)
		if root.Kind != yaml.MappingNode {
			return nil, Errors{{File: file, Line: root.Line, Msg: "a document must be a mapping (an object with apiVersion and kind)"}}
		}
		d.kind = scalarField(root, "kind")
		d.api = scalarField(root, "apiVersion")
		docs = append(docs, d)
	}
	return docs, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func yamlError(file string, err error) FieldError {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return FieldError{File: file, Line: line, Msg: "invalid YAML: " + m[2]}
	}
	return FieldError{File: file, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// index records the line of every field and list item under n.
func index(n *yaml.Node, path string, lines map[string]int) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			lines[p] = k.Line
			index(v, p, lines)
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			lines[p] = item.Line
			index(item, p, lines)
		}
	}
	// An alias is not followed: its fields are found at its own line.
}

func scalarField(m *yaml.Node, key string) string {
	if v := fieldNode(m, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}

func fieldNode(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// into decodes the document into one of the API types, reporting type
// mismatches at the field they occur.
func (d *document) into(out any) Errors {
	var generic any
	if err := d.node.Decode(&generic); err != nil {
		return Errors{yamlError(d.file, err)}
	}
	raw, err := json.Marshal(jsonFriendly(generic))
	if err != nil {
		return Errors{{File: d.file, Line: d.line, Msg: err.Error()}}
	}
	if err := json.Unmarshal(raw, out); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return Errors{{File: d.file, Line: d.lineOf(te.Field), Field: te.Field,
				Msg: fmt.Sprintf("must be %s, not %s", describeType(te.Type.Kind().String()), te.Value)}}
		}
		return Errors{{File: d.file, Line: d.line, Msg: err.Error()}}
	}
	return nil
}

func describeType(kind string) string {
	switch kind {
	case "slice":
		return "a list"
	case "struct", "map":
		return "an object"
	default:
		return "a " + kind
	}
}

// jsonFriendly turns YAML's map[any]any (non-string keys) into map[string]any.
func jsonFriendly(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = jsonFriendly(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = jsonFriendly(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = jsonFriendly(e)
		}
		return x
	default:
		return v
	}
}
