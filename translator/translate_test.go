package translator

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTranslateGood(t *testing.T) {
	plans, err := Translate(Options{Files: []string{"testdata/good.yaml"}})
	require.NoError(t, err)
	require.Len(t, plans, 1)
	p := plans[0]
	assert.Equal(t, "default/demo", p.ID())
	assert.Equal(t, Mode{Steps: ModeStepByStep, SubSteps: ModeDAG}, p.Mode)
	assert.Equal(t, map[string]any{"env": "prod"}, p.Context)
	require.Len(t, p.Steps, 3)
	assert.Equal(t, "step-2", p.Steps[1].Name, "unnamed steps are named by position")
	assert.Equal(t, "group-1", p.Steps[2].SubSteps[0].Name, "unnamed sub-steps are named after their group")
	assert.Equal(t, ModeDAG, p.Steps[2].Mode, "a group without a mode takes spec.mode.subSteps")
	for _, typ := range []string{"request", "print-message-in-status", "step-group", "hello"} {
		d, ok := p.Definitions[typ]
		require.True(t, ok, "definition %s pinned", typ)
		assert.NotEmpty(t, d.Source)
	}
	assert.Equal(t, "say hello", p.Definitions["hello"].Description)
	assert.Equal(t, 41, p.Definitions["hello"].Line, "offset: template line 1 is the line after `template: |` (41)")
}

func TestTranslateWorkflowRef(t *testing.T) {
	plans, err := Translate(Options{Files: []string{"testdata/ref.yaml"}})
	require.NoError(t, err)
	p := plans[0]
	assert.Equal(t, Mode{Steps: ModeDAG, SubSteps: ModeStepByStep}, p.Mode, "template mode, run mode overriding")
	assert.Equal(t, []string{"a"}, p.Steps[1].DependsOn)
}

// Each error kind is reported with file, line and field, all at once.
func TestValidationErrors(t *testing.T) {
	msgs := translateErr(t, "testdata/bad.yaml")
	want := []string{
		`testdata/bad.yaml:10: spec.workflowSpec.steps[0].properties.url: required parameter missing`,
		`testdata/bad.yaml:13: spec.workflowSpec.steps[1].type: unknown step type "no-such-type"`,
		`testdata/bad.yaml:14: spec.workflowSpec.steps[2].name: duplicate step name "a"`,
		`testdata/bad.yaml:16: spec.workflowSpec.steps[2].timeout: "soon" is not a positive duration`,
		`testdata/bad.yaml:18: spec.workflowSpec.steps[2].properties.message: conflicting values`,
		`testdata/bad.yaml:21: spec.workflowSpec.steps[3].dependsOn[0]: no step named "zzz"`,
		`testdata/bad.yaml:23: spec.workflowSpec.steps[3].inputs[0].from: no step outputs "nothing"`,
		`spec.workflowSpec.steps[4].dependsOn: dependency cycle: e -> f -> e`,
		`testdata/bad.yaml:33: spec.workflowSpec.steps[6].if: not a CUE expression`,
		`testdata/bad.yaml:37: spec.workflowSpec.steps[7].retry.limit: -1 is not a number of executions`,
		`testdata/bad.yaml:38: spec.workflowSpec.steps[7].retry.backoff: "later" is not a positive duration`,
	}
	for _, w := range want {
		assert.True(t, containsLine(msgs, w), "want a line containing %q in:\n%s", w, msgs)
	}
}

func TestDefinitionThatDoesNotCompile(t *testing.T) {
	msgs := translateErr(t, "testdata/broken-def.yaml")
	assert.True(t, containsLine(msgs, `testdata/broken-def.yaml:12: spec.schematic.cue.template: definition "broken" does not compile: package vela/builtin has no #Mesage`), msgs)
}

func TestInvalidYAML(t *testing.T) {
	msgs := translateErr(t, "testdata/invalid-yaml.yaml")
	assert.True(t, containsLine(msgs, "testdata/invalid-yaml.yaml:9: invalid YAML: did not find expected key"), msgs)
}

func TestCUEDefinitionFolder(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "greet.cue"), []byte(`import "vela/builtin"

"greet": {
	type: "workflow-step"
	description: "greet someone"
}
template: {
	parameter: who: string
	msg: builtin.#Message & {$params: message: "hi \\(parameter.who)"}
}
`), 0o644))
	defs, err := LoadDefinitions(dir)
	require.NoError(t, err)
	assert.Contains(t, defs, "request", "built-ins are always there")
	require.Contains(t, defs, "greet")
	assert.Equal(t, "greet someone", defs["greet"].Description)
}

func translateErr(t *testing.T, files ...string) string {
	t.Helper()
	_, err := Translate(Options{Files: files})
	if err == nil {
		return ""
	}
	return err.Error()
}

func containsLine(text, want string) bool {
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, want) {
			return true
		}
	}
	return false
}
