package translator

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(strings.TrimLeft(content, "\n")), 0o644))
	return p
}

const brokenDef = `
apiVersion: core.oam.dev/v1beta1
kind: WorkflowStepDefinition
metadata: {name: broken}
spec:
  schematic:
    cue:
      template: |
        import "vela/op"
        parameter: {x: string}
        apply: op.#Apply & {value: parameter.x}}
        wait: op.#ConditionalWait & {continue: true}
`

func TestBrokenDefinitionBlocksOnlyItsRuns(t *testing.T) {
	dir := t.TempDir()
	defs := filepath.Join(dir, "defs")
	require.NoError(t, os.Mkdir(defs, 0o755))
	write(t, defs, "broken.yaml", brokenDef)
	fine := write(t, dir, "fine.yaml", `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: fine}
spec: {workflowSpec: {steps: [{name: a, type: suspend}]}}
`)
	res, err := TranslateAll(Options{Files: []string{fine}, DefinitionPaths: []string{defs}})
	require.NoError(t, err, "a run that does not use the broken definition starts")
	require.Len(t, res.Warnings, 1)
	assert.Contains(t, res.Warnings[0], `definition "broken" does not compile`)
	assert.Contains(t, res.Warnings[0], "broken.yaml:10:")

	user := write(t, dir, "user.yaml", `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: user}
spec: {workflowSpec: {steps: [{name: a, type: broken, properties: {x: "1"}}, {name: b, type: broken}]}}
`)
	_, err = Translate(Options{Files: []string{user}, DefinitionPaths: []string{defs}})
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, `user.yaml:4: spec.workflowSpec.steps[0].type: step type "broken": its definition does not compile`)
	assert.Contains(t, msg, "broken.yaml:10: spec.schematic.cue.template: definition \"broken\" does not compile")
	assert.Equal(t, 1, strings.Count(msg, "broken.yaml:10:"), "reported once for two steps:\n%s", msg)

	c := LoadCatalog(defs)
	assert.Empty(t, c.Errors)
	require.Contains(t, c.Broken, "broken")
	assert.NotContains(t, c.Definitions, "broken")
	assert.Contains(t, c.Definitions, "request")
}

func TestUserDefinitionReplacingABuiltinSaysSo(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "suspend.cue", `
import "vela/builtin"
"suspend": {type: "workflow-step", description: "our suspend"}
template: {
	parameter: {}
	s: builtin.#Suspend & {$params: message: "ours"}
}
`)
	c := LoadCatalog(dir)
	require.Len(t, c.Warnings, 1)
	assert.Contains(t, c.Warnings[0], `definition "suspend" replaces the built-in one`)
	assert.Equal(t, "our suspend", c.Definitions["suspend"].Description)
	assert.False(t, c.Definitions["suspend"].Builtin)
}

func TestObjectsBesideTheRun(t *testing.T) {
	dir := t.TempDir()
	f := write(t, dir, "run.yaml", `
apiVersion: v1
kind: ConfigMap
metadata: {name: app-config, namespace: team-a}
data: {image: "reg/app:1"}
---
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: with-objects, namespace: team-a}
spec: {workflowSpec: {steps: [{name: a, type: suspend}]}}
---
apiVersion: v1
kind: Secret
metadata: {name: token}
stringData: {token: abc}
`)
	res, err := TranslateAll(Options{Files: []string{f}})
	require.NoError(t, err)
	require.Len(t, res.Plans, 1)
	require.Len(t, res.Objects, 2)
	assert.Equal(t, "ConfigMap team-a/app-config", res.Objects[0].Name())
	assert.Equal(t, 1, res.Objects[0].Line)
	assert.Equal(t, "Secret token", res.Objects[1].Name())
	assert.Equal(t, map[string]any{"token": "abc"}, res.Objects[1].Data["stringData"])
}

func TestUnknownFieldsAreRefusedWithASuggestion(t *testing.T) {
	dir := t.TempDir()
	f := write(t, dir, "run.yaml", `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: typos, uid: "kept: metadata is Kubernetes'"}
spec:
  workflowSpec:
    steps:
      - name: a
        type: suspend
        timout: 1m
      - name: b
        type: suspend
        dependOn: [a]
        inputs: [{fromKey: x, parameterKey: duration}]
  contxt: {env: prod}
status: {phase: succeeded}
`)
	_, err := Translate(Options{Files: []string{f}})
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, `run.yaml:9: spec.workflowSpec.steps[0].timout: unknown field "timout" (did you mean "timeout"?)`)
	assert.Contains(t, msg, `run.yaml:12: spec.workflowSpec.steps[1].dependOn: unknown field "dependOn" (did you mean "dependsOn"?)`)
	assert.Contains(t, msg, `run.yaml:13: spec.workflowSpec.steps[1].inputs[0].fromKey: unknown field "fromKey" (did you mean "from"?)`)
	assert.Contains(t, msg, `run.yaml:14: spec.contxt: unknown field "contxt" (did you mean "context"?)`)
	assert.NotContains(t, msg, "uid")
	assert.NotContains(t, msg, "status")
}
