package testsuite

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"google.golang.org/protobuf/proto"

	"github.com/velaflow/velaflow/runs"
	"github.com/velaflow/velaflow/translator"
	"github.com/velaflow/velaflow/workflows"
)

// shoutTemplate is a step type the worker's catalogue does not hold: its
// source travels in the run's input only, never in an execution's.
const shoutTemplate = `
apiVersion: core.oam.dev/v1beta1
kind: WorkflowStepDefinition
metadata: {name: shout}
spec:
  schematic:
    cue:
      template: |
        import "strings"
        parameter: {word: string}
        // shout-template-marker: this comment shows the source in history.
        loud: strings.ToUpper(parameter.word)
`

// A run of 200 steps, one of which reads a 1 MB HTTP response, keeps every
// event of its history far below Temporal's 2 MB payload limit: templates
// are named by digest, not sent with each execution, and the response
// stays in the step that read it.
func TestPayloadsStayBoundedInALongRun(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var reads atomic.Int32
	svc := bigBodyServer(t, &reads)

	var steps strings.Builder
	for i := range 199 {
		fmt.Fprintf(&steps, "      - {name: s%03[1]d, type: shout, dependsOn: [fetch], inputs: [{from: key, parameterKey: word}], outputs: [{name: loud%03[1]d, valueFrom: loud}]}\n", i)
	}
	file := writeFile(t, "long.yaml", fmt.Sprintf(`
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: payloads-long}
spec:
  mode: {steps: DAG}
  workflowSpec:
    steps:
      - name: fetch
        type: request
        properties: {url: "%s/1mb"}
        outputs: [{name: key, valueFrom: response.key}]
%s---%s`, svc.URL, steps.String(), shoutTemplate))
	final := runToEnd(t, ctx, file)
	require.Equal(t, workflows.RunSucceeded, final.Phase, "%+v", final)
	assert.EqualValues(t, 1, reads.Load())
	assert.Len(t, final.Steps, 200)

	largest, where, sources := 0, "", 0
	iter := shared.client.GetWorkflowHistory(ctx, "default/payloads-long", "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	events := 0
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		events++
		if n := proto.Size(ev); n > largest {
			largest, where = n, ev.GetEventType().String()
		}
		if strings.Contains(ev.String(), "shout-template-marker") {
			sources++
			assert.Equal(t, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, ev.GetEventType(), "only the run's input holds the template")
		}
	}
	t.Logf("%d events; the largest is %s, %d bytes", events, where, largest)
	assert.Less(t, largest, 256<<10, "every event stays far below 2 MB (the largest: %s)", where)
	assert.Equal(t, 1, sources, "the template's source is in history once")
}

// A step that outputs a whole 1 MB response fails with the limit named;
// a response above the body limit fails the step that reads it.
func TestOversizedDataFailsTheStepWithTheLimit(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var reads atomic.Int32
	svc := bigBodyServer(t, &reads)
	cases := []struct{ name, path, output, want string }{
		{"payloads-output", "/1mb", "response.pad", "the step's result is 1.0 MiB, above the limit of 256 KiB (outputs 1.0 MiB)"},
		{"payloads-body", "/9mb", "response.key", "the response body is larger than the limit of 8 MiB"},
	}
	for _, c := range cases {
		file := writeFile(t, c.name+".yaml", fmt.Sprintf(`
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: %s}
spec:
  workflowSpec:
    steps:
      - name: fetch
        type: request
        properties: {url: "%s%s"}
        outputs: [{name: all, valueFrom: %s}]
`, c.name, svc.URL, c.path, c.output))
		final := runToEnd(t, ctx, file)
		require.Equal(t, workflows.RunFailed, final.Phase, c.name)
		fetch := stepOf(final, "fetch")
		assert.Equal(t, workflows.StepFailed, fetch.Phase, c.name)
		assert.Contains(t, fetch.Message, c.want, c.name)
	}
}

// bigBodyServer serves JSON bodies of 1 MB and 9 MB: a key and padding.
func bigBodyServer(t *testing.T, reads *atomic.Int32) *httptest.Server {
	body := func(size int) []byte {
		return []byte(`{"key":"tiny","pad":"` + strings.Repeat("x", size-30) + `"}`)
	}
	one, nine := body(1<<20), body(9<<20)
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reads.Add(1)
		switch r.URL.Path {
		case "/1mb":
			w.Write(one)
		case "/9mb":
			w.Write(nine)
		}
	}))
	t.Cleanup(svc.Close)
	return svc
}

// runToEnd starts the run in file on the shared stack and returns its
// final status.
func runToEnd(t *testing.T, ctx context.Context, file string) *workflows.Status {
	t.Helper()
	plans, err := translator.Translate(translator.Options{Files: []string{file}})
	require.NoError(t, err)
	run, err := runs.New(shared.client, "").Start(ctx, plans[0])
	require.NoError(t, err)
	final, err := runs.FinalStatus(ctx, run)
	require.NoError(t, err)
	return final
}
