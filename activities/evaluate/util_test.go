package evaluate

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/velaflow/velaflow/activities/ops"
	"github.com/velaflow/velaflow/translator"
)

func TestPatchK8sObject(t *testing.T) {
	for name, src := range map[string]string{
		"new style": `
import "vela/util"
patched: util.#PatchK8sObject & {$params: {
  value: {metadata: name: "app", spec: containers: [{name: "main", image: "app:1"}, {name: "sidecar", image: "proxy:1"}]}
  patch: {metadata: labels: team: "a", spec: containers: [{name: "main", image: "app:2"}, {name: "debug", image: "busybox"}]}
}}
result: patched.$returns.result
`,
		"legacy": `
import "vela/op"
patched: op.#PatchK8sObject & {
  value: {metadata: name: "app", spec: containers: [{name: "main", image: "app:1"}, {name: "sidecar", image: "proxy:1"}]}
  patch: {metadata: labels: team: "a", spec: containers: [{name: "main", image: "app:2"}, {name: "debug", image: "busybox"}]}
}
result: patched.result
`,
	} {
		t.Run(name, func(t *testing.T) {
			res, err := Run(context.Background(), Request{Definition: def(src), Outputs: []translator.Output{{Name: "r", ValueFrom: "result"}}})
			require.NoError(t, err)
			assert.Equal(t, map[string]any{
				"metadata": map[string]any{"name": "app", "labels": map[string]any{"team": "a"}},
				"spec": map[string]any{"containers": []any{
					map[string]any{"name": "main", "image": "app:2"},
					map[string]any{"name": "sidecar", "image": "proxy:1"},
					map[string]any{"name": "debug", "image": "busybox"},
				}},
			}, res.Outputs["r"])
		})
	}
}

func TestLogLevelIsHonoured(t *testing.T) {
	src := `
import "vela/util"
a: util.#Log & {$params: data: "default level"}
b: util.#Log & {$params: {data: "debug detail", level: 5}}
c: util.#Log & {$params: {data: {k: "v"}, level: 1}}
`
	res, err := Run(context.Background(), Request{Definition: def(src)})
	require.NoError(t, err)
	assert.Equal(t, []string{"default level", `{"k":"v"}`}, res.Logs, "level 5 is above the worker's default 3")

	res, err = Run(context.Background(), Request{Definition: def(src), Env: &ops.Env{LogLevel: 5}})
	require.NoError(t, err)
	assert.Equal(t, []string{"default level", "debug detail", `{"k":"v"}`}, res.Logs)
}

func TestOpenAIRequestsGoToTheWorkersServer(t *testing.T) {
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		w.Write([]byte(`{"choices": [{"message": {"content": "hello"}}]}`))
	}))
	defer srv.Close()
	src := `
import ("vela/op", "encoding/json")
http: op.#HTTPDo & {method: "POST", url: "https://api.openai.com/v1/chat/completions", request: body: "{}"}
answer: json.Unmarshal(http.response.body).choices[0].message.content
`
	res, err := Run(context.Background(), Request{Definition: def(src), Env: &ops.Env{OpenAIBaseURL: srv.URL + "/v1/"},
		Outputs: []translator.Output{{Name: "a", ValueFrom: "answer"}}})
	require.NoError(t, err)
	assert.Equal(t, "hello", res.Outputs["a"])
	assert.Equal(t, []string{"/v1/chat/completions"}, paths)
}

func TestLegacyPromCheckKeepsItsTimeAcrossExecutions(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"status":"success","data":{"resultType":"scalar","result":[1700000000,"0.99"]}}`))
	}))
	defer srv.Close()
	src := `
import "vela/op"
check: op.#PromCheck & {query: "up", metricEndpoint: "` + srv.URL + `", condition: ">=0.95", duration: "1h"}
wait: op.#ConditionalWait & {continue: check.result, message: check.message}
`
	res, err := Run(context.Background(), Request{Definition: def(src)})
	require.NoError(t, err)
	assert.Equal(t, Waiting, res.Phase)
	assert.Contains(t, res.Message, "the query result is 0.99, indicating success")
	require.Contains(t, res.Memo, "state:check", "when the condition started to hold is kept for the next execution")

	// An hour later, as the step's next execution sees it.
	var st map[string]int64
	require.NoError(t, json.Unmarshal(res.Memo["state:check"], &st))
	st["holdsSince"] -= 3600
	raw, _ := json.Marshal(st)
	res, err = Run(context.Background(), Request{Definition: def(src), Memo: map[string]json.RawMessage{"state:check": raw}})
	require.NoError(t, err)
	assert.Equal(t, Succeeded, res.Phase)
}

func TestAPanickingOperationFailsTheStepNotTheWorker(t *testing.T) {
	ops.Register(ops.Op{Provider: "test", Do: "panic", Run: func(context.Context, *ops.Call) (any, error) {
		var m map[string]int
		m["boom"]++ // a nil map write, as a buggy operation would
		return nil, nil
	}})
	_, err := Run(context.Background(), Request{Definition: def(`
boom: {#do: "panic", #provider: "test"}
`)})
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.False(t, e.Retryable)
	assert.Contains(t, e.Error(), "boom (test.panic): operation panicked: assignment to entry in nil map")
}
