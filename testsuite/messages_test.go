package testsuite

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Invalid input is reported as a person reads it (golden files): a YAML
// syntax error at the line of the mistake, quoted with a caret; a value
// outside an enumeration as one sentence; a definition that does not
// compile once, at its own line.
func TestMessagesForInvalidInput(t *testing.T) {
	dir := filepath.Join("testdata", "golden", "messages")
	for _, c := range []struct{ file, defs string }{
		{"unclosed-brace.yaml", ""},
		{"dedented-properties.yaml", ""},
		{"not-one-of.yaml", ""},
		{"broken-definition.yaml", "defs"},
	} {
		args := []string{"translate", "-f", filepath.Join(dir, c.file)}
		if c.defs != "" {
			args = append(args, "--definitions", filepath.Join(dir, c.defs))
		}
		_, errOut, code := shared.velaflow(t, args...)
		assert.Equal(t, 2, code, c.file)
		golden(t, filepath.Join("messages", strings.TrimSuffix(c.file, ".yaml")+".txt"), errOut)
	}
}
