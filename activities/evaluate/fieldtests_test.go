package evaluate

import (
	"context"
	"sync"
	"testing"

	"cuelang.org/go/cue"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/velaflow/velaflow/activities/ops"
	"github.com/velaflow/velaflow/translator"
)

// fakeObjects stands in for a cluster: kube.read answers with the object
// stored under its name, kube.apply stores what it is given.
type fakeObjects struct {
	mu    sync.Mutex
	objs  map[string]map[string]any
	reads int
}

func (f *fakeObjects) install(t *testing.T) {
	name := func(c *ops.Call) string {
		s, _ := c.Args.LookupPath(cuePath("value.metadata.name")).String()
		return s
	}
	read := func(_ context.Context, c *ops.Call) (any, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.reads++
		if o, ok := f.objs[name(c)]; ok {
			return map[string]any{"value": o}, nil
		}
		var asked map[string]any
		_ = c.Args.LookupPath(cuePath("value")).Decode(&asked)
		return map[string]any{"value": asked, "err": "not found"}, nil
	}
	apply := func(_ context.Context, c *ops.Call) (any, error) {
		var obj map[string]any
		if err := c.Args.LookupPath(cuePath("value")).Decode(&obj); err != nil {
			return nil, err
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.objs[name(c)] = obj
		return map[string]any{"value": obj}, nil
	}
	withRun := func(do string, run func(context.Context, *ops.Call) (any, error)) ops.Op {
		op, ok := ops.Lookup("kube", do)
		require.True(t, ok)
		op.Run = run // the real operation's settings, the fake's I/O
		return op
	}
	ops.Register(withRun("read", read), withRun("apply", apply))
}

func newFake(t *testing.T, objs map[string]map[string]any) *fakeObjects {
	f := &fakeObjects{objs: objs}
	f.install(t)
	return f
}

// KubeVela's documented custom-step example, unchanged: legacy op.#Read and
// a wait on `read.value.status != _|_ && ...`.
const legacyReadWait = `
import "vela/op"
parameter: {apiVersion: string, kind: string, name: string, namespace: *context.namespace | string, cluster: *"" | string}
read: op.#Read & {
  value: {apiVersion: parameter.apiVersion, kind: parameter.kind, metadata: {name: parameter.name, namespace: parameter.namespace}}
  cluster: parameter.cluster
}
wait: op.#ConditionalWait & {
  continue: read.value.status != _|_ && read.value.status.phase == "Ready"
}
`

const newStyleReadWait = `
import ("vela/kube", "vela/builtin")
parameter: {name: string, namespace: *context.namespace | string}
read: kube.#Read & {$params: value: {apiVersion: "v1", kind: "ConfigMap", metadata: {name: parameter.name, namespace: parameter.namespace}}}
wait: builtin.#ConditionalWait & {
  $params: continue: read.$returns.value.status != _|_ && read.$returns.value.status.phase == "Ready"
}
`

func TestFieldTestOverAReadResultWaitsThenContinues(t *testing.T) {
	for name, src := range map[string]string{"legacy": legacyReadWait, "new style": newStyleReadWait} {
		t.Run(name, func(t *testing.T) {
			obj := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "job", "namespace": "ns1"}}
			newFake(t, map[string]map[string]any{"job": obj})
			req := Request{
				Definition: def(src),
				Parameter:  map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "name": "job"},
				Context:    map[string]any{"name": "run", "namespace": "ns1"},
			}
			res, err := Run(context.Background(), req)
			require.NoError(t, err, "an object without status must make the step wait, not fail")
			assert.Equal(t, Waiting, res.Phase)

			obj["status"] = map[string]any{"phase": "Pending"}
			res, err = Run(context.Background(), req)
			require.NoError(t, err)
			assert.Equal(t, Waiting, res.Phase)

			obj["status"] = map[string]any{"phase": "Ready"}
			res, err = Run(context.Background(), req)
			require.NoError(t, err)
			assert.Equal(t, Succeeded, res.Phase)
		})
	}
}

func TestFieldTestsInComprehensionsDefaultsAndOutputs(t *testing.T) {
	src := `
import "vela/op"
parameter: {name: string}
read: op.#Read & {value: {apiVersion: "v1", kind: "ConfigMap", metadata: {name: parameter.name, namespace: "default"}}}
// an operation that exists only once the read has answered
if read.value.status != _|_ {
  ready: op.#ConditionalWait & {continue: read.value.status.phase == "Ready"}
}
if read.value.status == _|_ {
  note: op.#Message & {message: "no status yet"}
}
phase: *"unknown" | string
if read.value.status != _|_ {
  phase: read.value.status.phase
}
`
	obj := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "a", "namespace": "default"}}
	newFake(t, map[string]map[string]any{"a": obj})
	req := Request{
		Definition: def(src),
		Parameter:  map[string]any{"name": "a"},
		Outputs: []translator.Output{
			{Name: "phase", ValueFrom: "phase"},
			{Name: "hasStatus", ValueFrom: "read.value.status != _|_"},
			{Name: "ready", ValueFrom: `read.value.status != _|_ && read.value.status.phase == "Ready"`},
		},
	}
	res, err := Run(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, Succeeded, res.Phase)
	assert.Equal(t, "no status yet", res.Message)
	assert.Equal(t, map[string]any{"phase": "unknown", "hasStatus": false, "ready": false}, res.Outputs)

	obj["status"] = map[string]any{"phase": "Pending"}
	res, err = Run(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, Waiting, res.Phase, "the wait inside the comprehension runs once the status is there")

	obj["status"] = map[string]any{"phase": "Ready"}
	res, err = Run(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, Succeeded, res.Phase)
	assert.Equal(t, map[string]any{"phase": "Ready", "hasStatus": true, "ready": true}, res.Outputs)
}

func TestLegacyResultsAreOpen(t *testing.T) {
	// Older templates read fields KubeVela's open #Apply does not declare.
	src := `
import "vela/op"
parameter: {}
apply: op.#Apply & {value: {apiVersion: "v1", kind: "ConfigMap", metadata: {name: "b", namespace: "default"}, data: x: "1"}}
wait: op.#ConditionalWait & {continue: apply.status == _|_ && apply.value.status == _|_ && apply.value.data.x == "1" && apply.data.x == "1"}
`
	newFake(t, map[string]map[string]any{})
	res, err := Run(context.Background(), Request{Definition: def(src)})
	require.NoError(t, err)
	assert.Equal(t, Succeeded, res.Phase)
}

func TestOperationInsideAComprehensionUsedOutsideIt(t *testing.T) {
	src := `
import "vela/op"
parameter: {create: bool}
steps: {
  if parameter.create {
    apply: op.#Apply & {value: {apiVersion: "v1", kind: "ConfigMap", metadata: {name: "c", namespace: "default"}, data: v: "made"}}
  }
}
check: op.#ConditionalWait & {continue: steps.apply.value.data.v == "made"}
`
	f := newFake(t, map[string]map[string]any{})
	res, err := Run(context.Background(), Request{Definition: def(src), Parameter: map[string]any{"create": true}})
	require.NoError(t, err)
	assert.Equal(t, Succeeded, res.Phase)
	assert.Contains(t, f.objs, "c")
}

func TestCheckNestedInAComprehensionOverADisjunction(t *testing.T) {
	src := `
import "vela/op"
parameter: {source: *{name: string} | {value: string}}
if parameter.source.name != _|_ {
  read: op.#Read & {value: {apiVersion: "v1", kind: "Secret", metadata: {name: parameter.source.name, namespace: "default"}}}
  check: op.#ConditionalWait & {continue: read.value.data != _|_}
  url: read.value.data.url
}
if parameter.source.value != _|_ {
  url: parameter.source.value
}
`
	newFake(t, map[string]map[string]any{"s": {"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "s"}}})
	req := Request{Definition: def(src), Parameter: map[string]any{"source": map[string]any{"name": "s"}}, Outputs: []translator.Output{{Name: "url", ValueFrom: "url"}}}
	res, err := Run(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, Waiting, res.Phase, "the check inside the comprehension is scheduled")

	req.Parameter = map[string]any{"source": map[string]any{"value": "http://x"}}
	res, err = Run(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, Succeeded, res.Phase)
	assert.Equal(t, map[string]any{"url": "http://x"}, res.Outputs)
}

func cuePath(p string) cue.Path { return cue.ParsePath(p) }

// CUE lists the fields a comprehension makes ahead of the others; the
// operations still run in the order they are written, so the comprehension
// over read's result is decided after read.
func TestOperationsRunInWrittenOrder(t *testing.T) {
	src := `
import ("vela/kube", "vela/builtin")
parameter: {name: string}
read: kube.#Read & {$params: value: {apiVersion: "v1", kind: "ConfigMap", metadata: {name: parameter.name, namespace: "default"}}}
if read.$returns.value.status == _|_ {
  wait: builtin.#ConditionalWait & {$params: {continue: false, message: "no status yet"}}
}
if read.$returns.value.status != _|_ {
  ready: builtin.#ConditionalWait & {$params: {continue: read.$returns.value.status.phase == "Ready", message: "phase \(read.$returns.value.status.phase)"}}
}
`
	obj := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "job", "namespace": "default"}}
	f := newFake(t, map[string]map[string]any{"job": obj})
	req := Request{Definition: def(src), Parameter: map[string]any{"name": "job"}}
	res, err := Run(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, Waiting, res.Phase)
	assert.Equal(t, "no status yet", res.Message)
	assert.Equal(t, 1, f.reads)

	obj["status"] = map[string]any{"phase": "Pulling"}
	res, err = Run(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, "phase Pulling", res.Message)

	obj["status"] = map[string]any{"phase": "Ready"}
	res, err = Run(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, Succeeded, res.Phase)
}

// A field of an object passed in through a parameter, read before the
// operation has run (CUE calls it undefined, the definition having closed
// the struct), is decided once the result is in.
func TestFieldsOfAResultNotYetThere(t *testing.T) {
	src := `
import "vela/op"
parameter: {data: {...}}
app: apply: op.#Apply & {value: parameter.data}
wait: op.#ConditionalWait & {
  continue: app.apply.value.status.phase == "running" && app.apply.value.status.observedGeneration == app.apply.value.metadata.generation
}
`
	f := newFake(t, map[string]map[string]any{})
	apply, _ := ops.Lookup("kube", "apply")
	run := apply.Run
	apply.Run = func(ctx context.Context, c *ops.Call) (any, error) {
		res, err := run(ctx, c)
		obj := res.(map[string]any)["value"].(map[string]any)
		obj["metadata"].(map[string]any)["generation"] = 2 // as the server answers
		obj["status"] = map[string]any{"phase": "running", "observedGeneration": 2}
		return res, err
	}
	ops.Register(apply)
	res, err := Run(context.Background(), Request{Definition: def(src), Parameter: map[string]any{
		"data": map[string]any{"apiVersion": "core.oam.dev/v1beta1", "kind": "Application", "metadata": map[string]any{"name": "a", "namespace": "default"}}}})
	require.NoError(t, err)
	assert.Equal(t, Succeeded, res.Phase)
	assert.Contains(t, f.objs, "a")
}

// @step(n) orders operations before their written order, as in KubeVela.
func TestStepAttributesOrderOperations(t *testing.T) {
	src := `
import "vela/op"
second: op.#Log & {data: "second"} @step(2)
first: op.#Log & {data: "first"} @step(1)
last: op.#Log & {data: "last"}
`
	res, err := Run(context.Background(), Request{Definition: def(src)})
	require.NoError(t, err)
	assert.Equal(t, []string{"first", "second", "last"}, res.Logs)
}

// An operation runs as a whole: a struct holding a #do inside its
// arguments is data, as in KubeVela. `#do: "steps"` only groups the
// operations inside it, which run in their order.
func TestOperationsInsideOperationsAndStepsGroups(t *testing.T) {
	src := `
import "vela/op"
outer: op.#Log & {data: "outer", extra: inner: op.#Log & {data: "inside an operation"}}
group: {
  #do: "steps"
  b: op.#Log & {data: "group b"} @step(2)
  a: op.#Log & {data: "group a"} @step(1)
}
nested: plain: op.#Log & {data: "nested in a plain struct"}
`
	res, err := Run(context.Background(), Request{Definition: def(src)})
	require.NoError(t, err)
	assert.Equal(t, []string{"outer", "group a", "group b", "nested in a plain struct"}, res.Logs)
}
