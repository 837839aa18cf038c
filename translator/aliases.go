package translator

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// Limits on input, so that a file cannot knock the translator over.
const (
	// maxFileBytes bounds a file given to velaflow.
	maxFileBytes = 8 << 20
	// maxExpandedNodes bounds a document with its aliases expanded: YAML
	// aliases can make a 1 KB file stand for billions of values.
	maxExpandedNodes = 1_000_000
)

// checkAliases refuses a document whose aliases refer to a node that
// holds them (it has no end), or that expands beyond maxExpandedNodes.
func checkAliases(file string, root *yaml.Node) *FieldError {
	sizes := map[*yaml.Node]int{}
	open := map[*yaml.Node]bool{}
	var size func(n *yaml.Node) (int, *FieldError)
	size = func(n *yaml.Node) (int, *FieldError) {
		if s, ok := sizes[n]; ok {
			return s, nil
		}
		if open[n] {
			return 0, &FieldError{File: file, Line: n.Line, Msg: fmt.Sprintf("invalid YAML: anchor %q refers to a node that holds it", n.Anchor)}
		}
		open[n] = true
		defer delete(open, n)
		total := 1
		children := n.Content
		if n.Kind == yaml.AliasNode {
			children = []*yaml.Node{n.Alias}
		}
		for _, c := range children {
			if c == nil {
				continue
			}
			s, err := size(c)
			if err != nil {
				if n.Kind == yaml.AliasNode && err.Line == c.Line {
					err.Line = n.Line // point at the alias that closes the loop
				}
				return 0, err
			}
			total += s
			if total > maxExpandedNodes {
				return 0, &FieldError{File: file, Line: n.Line, Msg: fmt.Sprintf("invalid YAML: its aliases expand to more than %d values", maxExpandedNodes)}
			}
		}
		sizes[n] = total
		return total, nil
	}
	_, err := size(root)
	return err
}
