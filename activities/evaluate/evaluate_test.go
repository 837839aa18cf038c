package evaluate

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/velaflow/velaflow/cuedefs"
	"github.com/velaflow/velaflow/translator"
)

func builtin(t *testing.T, typ string) cuedefs.Definition {
	d, ok := cuedefs.Builtins()[typ]
	require.True(t, ok)
	return d
}

func def(src string) cuedefs.Definition { return cuedefs.NewDefinition("t", "", src, "t.cue", 0) }

func TestRequestOutputsResponseField(t *testing.T) {
	var posts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method == http.MethodPost {
			posts.Add(1)
			assert.JSONEq(t, `{"app":"x"}`, string(body))
			assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
		}
		w.Write([]byte(`{"image":"reg/app:1","ok":true}`))
	}))
	defer srv.Close()

	req := Request{
		Definition: builtin(t, "request"),
		Parameter:  map[string]any{"url": srv.URL, "method": "POST", "body": map[string]any{"app": "x"}},
		Outputs:    []translator.Output{{Name: "image", ValueFrom: "response.image"}, {Name: "upper", ValueFrom: "import \"strings\"\nstrings.ToUpper(response.image)"}},
	}
	res, err := Run(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, Succeeded, res.Phase)
	assert.Equal(t, map[string]any{"image": "reg/app:1", "upper": "REG/APP:1"}, res.Outputs)
	assert.Contains(t, res.Memo, "req", "a POST is memoized")

	// Re-executed with the memo: the POST is not sent again.
	req.Memo = res.Memo
	res2, err := Run(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, res.Outputs, res2.Outputs)
	assert.EqualValues(t, 1, posts.Load())
}

func TestRequestFailsOnErrorStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		w.Write([]byte("boom"))
	}))
	defer srv.Close()
	_, err := Run(context.Background(), Request{Definition: builtin(t, "request"), Parameter: map[string]any{"url": srv.URL}})
	var e *Error
	require.True(t, errors.As(err, &e), "%v", err)
	assert.Equal(t, ReasonAction, e.Reason)
	assert.False(t, e.Retryable)
	assert.Contains(t, e.Error(), "status 500")
}

func TestConnectionErrorIsRetryable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := Run(context.Background(), Request{Definition: builtin(t, "request"), Parameter: map[string]any{"url": url}})
	var e *Error
	require.True(t, errors.As(err, &e), "%v", err)
	assert.True(t, e.Retryable)
	assert.Equal(t, ReasonExecute, e.Reason)
}

func TestConditionalWaitAndGetIsNotMemoized(t *testing.T) {
	var ready atomic.Bool
	var gets atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		if ready.Load() {
			w.Write([]byte("ready"))
		} else {
			w.Write([]byte("building"))
		}
	}))
	defer srv.Close()
	d := def(`import (
	"vela/builtin"
	"vela/http"
)
parameter: url: string
get: http.#HTTPGet & {$params: url: parameter.url}
wait: builtin.#ConditionalWait & {$params: {continue: get.$returns.body == "ready", message: "state: \(get.$returns.body)"}}
done: builtin.#Message & {$params: message: "ready now"} & {#after: wait.$params.continue}
`)
	req := Request{Definition: d, Parameter: map[string]any{"url": srv.URL}}
	res, err := Run(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, Waiting, res.Phase)
	assert.Equal(t, "state: building", res.Message)
	assert.Empty(t, res.Memo)

	ready.Store(true)
	res, err = Run(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, Succeeded, res.Phase)
	assert.Equal(t, "ready now", res.Message)
	assert.EqualValues(t, 2, gets.Load())
}

func TestSuspendAndResume(t *testing.T) {
	req := Request{Definition: builtin(t, "suspend"), Parameter: map[string]any{"duration": "5s", "message": "approve?"}}
	res, err := Run(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, Suspended, res.Phase)
	assert.Equal(t, "5s", res.Duration)
	assert.Equal(t, "approve?", res.Message)

	req.Resumed = true
	res, err = Run(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, Succeeded, res.Phase)
}

func TestLegacyOpAndContext(t *testing.T) {
	d := def(`import "vela/op"
parameter: {}
msg: op.#Message & {message: "run \(context.name) in \(context.namespace) env \(context.env)"}
`)
	res, err := Run(context.Background(), Request{Definition: d, Context: map[string]any{"name": "r", "namespace": "ns", "env": "prod"}})
	require.NoError(t, err)
	assert.Equal(t, "run r in ns env prod", res.Message)
}

func TestBrokenTemplateFailsInsteadOfSucceeding(t *testing.T) {
	d := def(`parameter: n: string
x: parameter.n + 1
`)
	_, err := Run(context.Background(), Request{Definition: d, Parameter: map[string]any{"n": "a"}})
	var e *Error
	require.True(t, errors.As(err, &e), "a template that does not evaluate must not succeed: %v", err)
	assert.Equal(t, ReasonRendering, e.Reason)
}

func TestOutputFallsBackToReturnsAndReportsMissing(t *testing.T) {
	d := def(`parameter: {}
$returns: value: 42
`)
	res, err := Run(context.Background(), Request{Definition: d, Outputs: []translator.Output{{Name: "v", ValueFrom: "value"}}})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"v": int64(42)}, normalize(res.Outputs))

	_, err = Run(context.Background(), Request{Definition: d, Outputs: []translator.Output{{Name: "v", ValueFrom: "nothing.here"}}})
	var e *Error
	require.True(t, errors.As(err, &e))
	assert.Equal(t, ReasonOutput, e.Reason)
}

func normalize(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if i, ok := v.(int); ok {
			v = int64(i)
		}
		out[k] = v
	}
	return out
}

func TestWebhookFailsOnErrorStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		w.Write([]byte("boom"))
	}))
	defer srv.Close()
	_, err := Run(context.Background(), Request{Definition: builtin(t, "webhook"), Parameter: map[string]any{"url": map[string]any{"value": srv.URL}, "data": map[string]any{"a": 1}}})
	var e *Error
	require.True(t, errors.As(err, &e), "%v", err)
	assert.Equal(t, ReasonAction, e.Reason)
	assert.Contains(t, e.Error(), "answered 500")
}

func TestIntParameterAcceptsWholeNumbers(t *testing.T) {
	d := def(`
parameter: {count: int, ratio: float}
out: parameter.count * 2
`)
	res, err := Run(context.Background(), Request{Definition: d, Parameter: map[string]any{"count": float64(3), "ratio": 0.5},
		Outputs: []translator.Output{{Name: "out", ValueFrom: "out"}}})
	require.NoError(t, err)
	assert.EqualValues(t, 6, res.Outputs["out"])
}

func TestLogLinesFromDataAndSource(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("warming shanghai\nwarming us-west\n"))
	}))
	defer srv.Close()
	res, err := Run(context.Background(), Request{Definition: def(`
import ("vela/util", "vela/op")
parameter: url: string
a: util.#Log & {$params: data: "first line"}
b: util.#Log & {$params: source: url: parameter.url}
c: op.#Log & {data: {k: 1}}
s: util.#ConvertString & {$params: bt: 'bytes here'}
out: s.$returns.str
`), Parameter: map[string]any{"url": srv.URL}, Outputs: []translator.Output{{Name: "out", ValueFrom: "out"}}})
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"first line", "warming shanghai", "warming us-west", `{"k":1}`}, res.Logs)
	assert.Equal(t, "bytes here", res.Outputs["out"])
}

// Lists inside values filled from Go (parameters, operation results) keep
// their elements when a comprehension iterates them.
func TestComprehensionsOverFilledLists(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("X-Region", "shanghai")
		w.Header().Add("X-Region", "us-west")
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	res, err := Run(context.Background(), Request{Definition: def(`
import "vela/http"
parameter: {url: string, items: [...{name: string}], raw: {...}}
rawItems: [for o in parameter.raw.items {o}]
names: [for i in parameter.items {i.name}]
whole: [for i in parameter.items {i}]
get: http.#HTTPGet & {$params: url: parameter.url}
regions: [for r in get.$returns.header["X-Region"] {r}]
first: [if len(parameter.items) > 0 {parameter.items[0].name}, "none"][0]
`), Parameter: map[string]any{"url": srv.URL, "items": []any{map[string]any{"name": "a"}, map[string]any{"name": "b"}},
		"raw": map[string]any{"items": []any{map[string]any{"k": "v", "n": map[string]any{"deep": 1}}}}},
		Outputs: []translator.Output{{Name: "names", ValueFrom: "names"}, {Name: "regions", ValueFrom: "regions"}, {Name: "first", ValueFrom: "first"}, {Name: "whole", ValueFrom: "whole"}, {Name: "rawItems", ValueFrom: "rawItems"}}})
	require.NoError(t, err)
	assert.Equal(t, []any{"a", "b"}, res.Outputs["names"])
	assert.Equal(t, []any{"shanghai", "us-west"}, res.Outputs["regions"])
	assert.Equal(t, "a", res.Outputs["first"])
	assert.Equal(t, []any{map[string]any{"name": "a"}, map[string]any{"name": "b"}}, res.Outputs["whole"])
	assert.Equal(t, []any{map[string]any{"k": "v", "n": map[string]any{"deep": int64(1)}}}, res.Outputs["rawItems"])
}
