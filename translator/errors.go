package translator

import (
	"fmt"
	"sort"
	"strings"
)

// FieldError is one problem in an input file.
type FieldError struct {
	File  string
	Line  int
	Field string // e.g. spec.workflowSpec.steps[2].properties.url
	Msg   string
	// UnknownType is the step type an "unknown step type" error names.
	UnknownType string
	// Quote shows the line the error is on, with a caret under where it
	// starts (YAML syntax errors).
	Quote string
}

func (e FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Quote != "" {
		b.WriteString("\n" + e.Quote)
	}
	return b.String()
}

// Errors is every problem found, in file and line order.
type Errors []FieldError

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

func (es Errors) sorted() Errors {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].File != es[j].File {
			return es[i].File < es[j].File
		}
		return es[i].Line < es[j].Line
	})
	out := es[:0]
	for i, e := range es {
		if i > 0 && e == es[i-1] {
			continue // a broken definition is reported once, however many steps use it
		}
		out = append(out, e)
	}
	return out
}

// collector gathers errors located through a document's line index.
type collector struct {
	errs Errors
}

func (c *collector) add(doc *document, field, format string, args ...any) {
	c.errs = append(c.errs, FieldError{File: doc.file, Line: doc.lineOf(field), Field: field, Msg: fmt.Sprintf(format, args...)})
}
