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
	"unicode/utf8"

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
			return nil, Errors{yamlError(file, data, err)}
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

var (
	yamlLine      = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	unmarshalLine = regexp.MustCompile(`(?m)^\s*line (\d+): (.*)$`)
	unknownAnchor = regexp.MustCompile(`^yaml: unknown anchor '(.*)' referenced$`)
)

// yamlError locates a YAML error. yaml.v3 counts lines from 0 in its
// parser's errors and from 1 in its scanner's, and gives none for bad
// bytes or unknown anchors; those are found in data.
func yamlError(file string, data []byte, err error) FieldError {
	msg := err.Error()
	fe := FieldError{File: file, Line: 1, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
	switch m := yamlLine.FindStringSubmatch(msg); {
	case m != nil:
		fe.Line, _ = strconv.Atoi(m[1])
		if parserProblem(m[2]) {
			fe.Line = problemLine(data, m[2], fe.Line+1)
		}
		fe.Msg = "invalid YAML: " + m[2]
	case strings.HasPrefix(msg, "yaml: unmarshal errors:"):
		if m := unmarshalLine.FindStringSubmatch(msg); m != nil {
			fe.Line, _ = strconv.Atoi(m[1])
			fe.Msg = "invalid YAML: " + m[2]
		}
	default:
		if p := strings.TrimPrefix(msg, "yaml: "); parserProblem(p) {
			fe.Line = problemLine(data, p, 1)
			break
		}
		if l := badByteLine(data, msg); l > 0 {
			fe.Line = l
		}
	}
	if n := bytes.Count(bytes.TrimRight(data, "\n"), []byte("\n")) + 1; len(data) > 0 && fe.Line > n {
		fe.Line = n // an error at the end of the stream
	}
	fe.Quote = quote(data, fe.Line)
	return fe
}

// quote is line n of data as a person sees it in an editor, with a caret
// under its first character:
//
//	10 |         properties: {url: "http://x", method: GET
//	   |         ^
func quote(data []byte, n int) string {
	lines := strings.Split(string(data), "\n")
	if n < 1 || n > len(lines) {
		return ""
	}
	line := strings.TrimRight(strings.ReplaceAll(lines[n-1], "\t", "    "), "\r")
	if strings.TrimSpace(line) == "" {
		return ""
	}
	indent := len(line) - len(strings.TrimLeft(line, " "))
	num := strconv.Itoa(n)
	return fmt.Sprintf("  %s | %s\n  %s | %s^", num, line, strings.Repeat(" ", len(num)), strings.Repeat(" ", indent))
}

// parserProblem tells yaml.v3's parser errors (lines counted from 0) from
// its scanner's.
func parserProblem(msg string) bool {
	for _, p := range []string{"did not find expected", "found duplicate %", "found incompatible YAML document", "found undefined tag handle"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// problemLine finds the line where a parser error is: yaml.v3 names the
// line where the enclosing mapping or list began, so the first line whose
// prefix of the file fails with the same problem is searched for.
func problemLine(data []byte, problem string, context int) int {
	if data == nil {
		return context
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	fails := func(k int) bool {
		dec := yaml.NewDecoder(bytes.NewReader(bytes.Join(lines[:k], nil)))
		for {
			var n yaml.Node
			err := dec.Decode(&n)
			if err == nil {
				continue
			}
			return !errors.Is(err, io.EOF) && strings.HasSuffix(err.Error(), problem)
		}
	}
	lo, hi := max(context, 1), len(lines)
	if lo > hi || !fails(hi) {
		return context
	}
	for lo < hi {
		mid := (lo + hi) / 2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// badByteLine finds the line of what an error without a line is about:
// an unknown anchor's alias, a control character, invalid UTF-8.
func badByteLine(data []byte, msg string) int {
	if m := unknownAnchor.FindStringSubmatch(msg); m != nil {
		if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
			return bytes.Count(data[:i], []byte("\n")) + 1
		}
		return 0
	}
	line := 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return line
		case r == '\n':
			line++
		case r < 0x20 && r != '\t' && r != '\r', r == 0x7f:
			return line
		}
		i += size
	}
	return 0
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
		return Errors{yamlError(d.file, nil, err)}
	}
	raw, err := json.Marshal(jsonFriendly(generic))
	if err != nil {
		return Errors{{File: d.file, Line: d.line, Msg: err.Error()}}
	}
	if err := json.Unmarshal(raw, out); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field := te.Field
			if f, ok := indexedField(generic, strings.Split(te.Field, "."), te.Value); ok && te.Field != "" {
				field = strings.TrimPrefix(f, ".")
			}
			return Errors{{File: d.file, Line: d.lineOf(field), Field: field,
				Msg: fmt.Sprintf("must be %s, not %s", describeType(te.Type.Kind().String()), te.Value)}}
		}
		return Errors{{File: d.file, Line: d.line, Msg: err.Error()}}
	}
	return nil
}

// indexedField finds, for a field as encoding/json reports it (dotted,
// without list indexes), the path with indexes of the first value there
// of the JSON kind got ("string", "number", "array" ...).
func indexedField(v any, segs []string, got string) (string, bool) {
	if len(segs) == 0 && strings.HasPrefix(got, jsonKind(v)) {
		return "", true
	}
	switch x := v.(type) {
	case []any:
		for i, e := range x {
			if p, ok := indexedField(e, segs, got); ok {
				return fmt.Sprintf("[%d]", i) + p, true
			}
		}
	case map[string]any:
		if len(segs) == 0 {
			break
		}
		if e, ok := x[segs[0]]; ok {
			if p, ok := indexedField(e, segs[1:], got); ok {
				return "." + segs[0] + p, true
			}
		}
	}
	return "", false
}

func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case bool:
		return "bool"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	case nil:
		return "null"
	}
	return "number"
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
