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

	"github.com/velaflow/velaflow/workflows"
)

// Steps whose templates call only pure operations run as local activities
// in the workflow's worker: no activity task goes through the server, and
// consecutive ones complete within a few workflow tasks. A step with I/O
// keeps its activity.
func TestPureStepsRunWithoutARoundTrip(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var gets atomic.Int32
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		w.Write([]byte(`{"key":"v"}`))
	}))
	defer svc.Close()
	var steps strings.Builder
	for i := range 20 {
		fmt.Fprintf(&steps, "      - {name: p%02d, type: print-message-in-status, properties: {message: \"step %d\"}}\n", i, i)
	}
	file := writeFile(t, "pure.yaml", fmt.Sprintf(`
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: pure-steps}
spec:
  workflowSpec:
    steps:
%s      - {name: fetch, type: request, properties: {url: "%s"}}
`, steps.String(), svc.URL))
	final := runToEnd(t, ctx, file)
	require.Equal(t, workflows.RunSucceeded, final.Phase, "%+v", final)
	assert.Equal(t, "step 19", stepOf(final, "p19").Message)
	assert.EqualValues(t, 1, gets.Load())

	count := map[enumspb.EventType]int{}
	iter := shared.client.GetWorkflowHistory(ctx, "default/pure-steps", "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		e, err := iter.Next()
		require.NoError(t, err)
		count[e.GetEventType()]++
	}
	t.Logf("workflow tasks %d, markers %d, activities %d", count[enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED],
		count[enumspb.EVENT_TYPE_MARKER_RECORDED], count[enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED])
	assert.Equal(t, 1, count[enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED], "only the request is an activity")
	assert.GreaterOrEqual(t, count[enumspb.EVENT_TYPE_MARKER_RECORDED], 20, "each print step is a local activity's marker")
	assert.Less(t, count[enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED], 10, "the print steps complete within a few workflow tasks")
}
