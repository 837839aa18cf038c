package translator

import "gopkg.in/yaml.v3"

const (
	yamlLiteral = yaml.LiteralStyle
	yamlFolded  = yaml.FoldedStyle
)

// templateNode finds the scalar holding a WorkflowStepDefinition's template.
func templateNode(doc *document) *yaml.Node {
	n := doc.node
	for _, key := range []string{"spec", "schematic", "cue", "template"} {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		n = fieldNode(n, key)
	}
	return n
}
