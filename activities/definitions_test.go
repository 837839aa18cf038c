package activities

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"

	"github.com/velaflow/velaflow/cuedefs"
	"github.com/velaflow/velaflow/stepio"
	"github.com/velaflow/velaflow/translator"
)

const greetSource = `parameter: {name: string}
greeting: "hello " + parameter.name
`

// An execution names its template by digest; a template the worker does
// not know is read once from the run's plan and then served from the
// cache.
func TestTemplateNamedByDigestIsReadFromThePlanOnce(t *testing.T) {
	pinned := cuedefs.NewDefinition("greet", "", greetSource, "defs.cue", 1)
	var reads atomic.Int32
	acts := &Activities{Definitions: cuedefs.Builtins(), PlanDefinitions: func(context.Context) (map[string]cuedefs.Definition, error) {
		reads.Add(1)
		return map[string]cuedefs.Definition{"greet": pinned}, nil
	}}
	in := stepio.Input{RunName: "r", RunNamespace: "default", SessionID: "s1", DefinitionDigest: pinned.Digest,
		Step: translator.Step{Name: "hi", Type: "greet", Properties: map[string]any{"name": "ada"},
			Outputs: []translator.Output{{Name: "g", ValueFrom: "greeting"}}}}

	for range 2 {
		res := executeStep(t, acts, in)
		assert.Equal(t, "hello ada", res.Outputs["g"])
	}
	assert.EqualValues(t, 1, reads.Load(), "the plan is read once; the second execution finds the template in the cache")
}

// A built-in template whose digest matches is taken from the catalogue
// without reading the plan; a changed one is not.
func TestCatalogueServesOnlyTheSameTemplate(t *testing.T) {
	builtins := cuedefs.Builtins()
	var reads atomic.Int32
	acts := &Activities{Definitions: builtins, PlanDefinitions: func(context.Context) (map[string]cuedefs.Definition, error) {
		reads.Add(1)
		return nil, nil
	}}
	def, err := acts.definition(context.Background(), stepio.Input{Step: translator.Step{Type: "request"}, DefinitionDigest: builtins["request"].Digest})
	require.NoError(t, err)
	assert.Equal(t, builtins["request"].Source, def.Source)
	assert.Zero(t, reads.Load())

	_, err = acts.definition(context.Background(), stepio.Input{Step: translator.Step{Type: "request"}, DefinitionDigest: strings.Repeat("0", 64)})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `step type "request": the run's plan pins no template 000000000000`)
	assert.EqualValues(t, 1, reads.Load(), "a digest the catalogue does not match is looked up in the plan")
}

// A result above the limit fails the step, naming the limit and what is
// large, instead of reaching Temporal's payload limit.
func TestResultAboveTheLimitFailsTheStep(t *testing.T) {
	def := cuedefs.NewDefinition("big", "", `import "strings"
parameter: {n: int}
body: strings.Repeat("x", parameter.n)
`, "defs.cue", 1)
	acts := &Activities{Definitions: map[string]cuedefs.Definition{"big": def}}
	in := stepio.Input{RunName: "r", RunNamespace: "default", SessionID: "s1",
		Step: translator.Step{Name: "b", Type: "big", Properties: map[string]any{"n": 300 << 10},
			Outputs: []translator.Output{{Name: "body", ValueFrom: "body"}}}}

	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(acts.ExecuteStep, activity.RegisterOptions{Name: stepio.ExecuteStepName})
	_, err := env.ExecuteActivity(stepio.ExecuteStepName, in)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the step's result is 300.0 KiB, above the limit of 256 KiB (outputs 300.0 KiB)")

	in.Step.Properties["n"] = 100 << 10
	executeStep(t, acts, in)
}

func executeStep(t *testing.T, acts *Activities, in stepio.Input) *stepio.Result {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(acts.ExecuteStep, activity.RegisterOptions{Name: stepio.ExecuteStepName})
	val, err := env.ExecuteActivity(stepio.ExecuteStepName, in)
	require.NoError(t, err)
	var res stepio.Result
	require.NoError(t, val.Get(&res))
	return &res
}
