package cuedefs

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The operations a template may call are read from its source: op-package
// definitions it refers to (new and legacy style, nested ones included)
// and #do/#provider it writes itself; anything in doubt is unknown.
func TestOperationsOfATemplate(t *testing.T) {
	cases := []struct {
		name, src string
		ops       []string
		known     bool
	}{
		{"print", `import "vela/builtin"
parameter: {message: string}
msg: builtin.#Message & {$params: message: parameter.message}`, []string{"builtin.message"}, true},
		{"compute only", `import "strings"
parameter: {w: string}
out: strings.ToUpper(parameter.w)`, []string{}, true},
		{"legacy op", `import "vela/op"
parameter: {url: string}
get: op.#HTTPGet & {url: parameter.url}
wait: op.#ConditionalWait & {continue: get.response.statusCode == 200}`, []string{"builtin.wait", "http.do"}, true},
		{"written by hand", `parameter: {}
read: {#provider: "kube", #do: "read", value: {}}`, []string{"kube.read"}, true},
		{"computed #do", `parameter: {what: string}
x: {#provider: "kube", #do: parameter.what}`, nil, false},
		{"tool package", `import "tool/exec"
parameter: {}
run: exec.Run & {cmd: "ls"}`, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := WithOperations(NewDefinition("t", "", c.src, "t.cue", 0))
			assert.Equal(t, c.known, d.OperationsKnown)
			if c.known {
				assert.ElementsMatch(t, c.ops, d.Operations)
			}
		})
	}
}
