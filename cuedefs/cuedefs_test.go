package cuedefs

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBuiltinsCompile(t *testing.T) {
	for _, typ := range []string{"print-message-in-status", "request", "webhook", "suspend", "step-group"} {
		d, ok := Builtins()[typ]
		require.True(t, ok, "built-in %s missing", typ)
		assert.NoError(t, d.Check(), typ)
		assert.True(t, strings.HasPrefix(d.Digest, "sha256:"))
	}
}

func TestCompileResolvesOpPackagesAndStdlib(t *testing.T) {
	src := `import (
	"strings"
	"vela/op"
	"vela/builtin"
	"vela/http"
)
a: op.#ConditionalWait & {continue: true}
b: builtin.#Message & {$params: message: strings.ToUpper("hi")}
c: http.#HTTPGet & {$params: url: "http://x"}
`
	v, err := Compile(NewContext(), src, "t.cue", 0)
	require.NoError(t, err)
	msg, err := v.LookupPath(mustPath("b.$params.message")).String()
	require.NoError(t, err)
	assert.Equal(t, "HI", msg)
}

func TestCompileErrorNamesFileAndLine(t *testing.T) {
	src := "import \"vela/builtin\"\n\nparameter: x: int\nmsg: builtin.#Nope & {}\n"
	d := NewDefinition("x", "", src, "defs.yaml", 10)
	err := d.Check()
	require.Error(t, err)
	assert.Contains(t, Describe(err), "defs.yaml:14:")
}

func TestParseVelaDefFormKeepsLines(t *testing.T) {
	src := `import "vela/builtin"

"hello": {
	type:        "workflow-step"
	description: "say hello"
}
template: {
	parameter: name: string
	msg: builtin.#Message & {$params: message: "hello \(parameter.name)"}
	bad: parameter.name + 1
}
`
	d, err := ParseCUEFile("dir/hello.cue", []byte(src))
	require.NoError(t, err)
	assert.Equal(t, "hello", d.Type)
	assert.Equal(t, "say hello", d.Description)
	assert.NoError(t, d.Check(), "the template compiles; the bad line only fails when evaluated")
	assert.NotContains(t, d.Source, "workflow-step")

	broken := strings.Replace(src, "bad: parameter.name + 1", "bad: parameter.name +", 1)
	_, err = ParseCUEFile("dir/hello.cue", []byte(broken))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "dir/hello.cue:11:")
}

func TestBareTemplateTakesFileName(t *testing.T) {
	d, err := ParseCUEFile("x/greet.cue", []byte("parameter: {}\n"))
	require.NoError(t, err)
	assert.Equal(t, "greet", d.Type)
}

func TestParameterDefaultsFromContext(t *testing.T) {
	d := NewDefinition("t", "", `parameter: {name: string, namespace: *context.namespace | string, cluster: *"" | string}`+"\n", "t.cue", 0)
	ctx := map[string]any{"name": "run", "namespace": "team-a"}
	assert.Empty(t, CheckParameters(d, map[string]any{"name": "x"}, ctx), "the default comes from the run's namespace")
	errs := CheckParameters(d, map[string]any{}, ctx)
	require.Len(t, errs, 1)
	assert.Equal(t, []string{"name"}, errs[0].Path)
	assert.Equal(t, "required parameter missing", errs[0].Msg)
}

func TestListAdditionStillWorks(t *testing.T) {
	v, err := Compile(NewContext(), `
parameter: {args: [...string]}
parameter: args: ["--version=2"]
command: ["vela", "addon", "enable"] + parameter.args
both: (["a"]) + ["b"]
`, "t.cue", 0)
	require.NoError(t, err)
	var got struct {
		Command []string `json:"command"`
		Both    []string `json:"both"`
	}
	require.NoError(t, v.Decode(&got))
	assert.Equal(t, []string{"vela", "addon", "enable", "--version=2"}, got.Command)
	assert.Equal(t, []string{"a", "b"}, got.Both)
}
