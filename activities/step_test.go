package activities

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/velaflow/velaflow/cuedefs"
	"github.com/velaflow/velaflow/stepio"
	"github.com/velaflow/velaflow/translator"
)

// An execution saves the memo in its heartbeat as soon as a POST has
// completed; the retry after a worker crash reads it back and does not
// POST again.
func TestHeartbeatCarriesTheMemoIntoTheRetryAfterACrash(t *testing.T) {
	var posts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			posts.Add(1)
		}
		w.Write([]byte(`{"id":"9"}`))
	}))
	defer srv.Close()
	defs := cuedefs.Builtins()
	acts := &Activities{Definitions: defs}
	in := stepio.Input{
		RunName: "r", RunNamespace: "default", SessionID: "s1",
		Step: translator.Step{Name: "post", Type: "request", Properties: map[string]any{"url": srv.URL, "method": "POST"}},
	}

	var s testsuite.WorkflowTestSuite
	first := s.NewTestActivityEnvironment()
	first.RegisterActivityWithOptions(acts.ExecuteStep, activity.RegisterOptions{Name: stepio.ExecuteStepName})
	var mu sync.Mutex
	var saved map[string]json.RawMessage
	first.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		mu.Lock()
		defer mu.Unlock()
		require.NoError(t, details.Get(&saved))
	})
	_, err := first.ExecuteActivity(stepio.ExecuteStepName, in)
	require.NoError(t, err)
	require.EqualValues(t, 1, posts.Load())
	mu.Lock()
	require.NotEmpty(t, saved, "the memo was heartbeated when the POST completed")
	mu.Unlock()

	// The same execution, retried after its worker died: the heartbeat
	// details are what Temporal hands the retry.
	retry := s.NewTestActivityEnvironment()
	retry.RegisterActivityWithOptions(acts.ExecuteStep, activity.RegisterOptions{Name: stepio.ExecuteStepName})
	retry.SetHeartbeatDetails(saved)
	v, err := retry.ExecuteActivity(stepio.ExecuteStepName, in)
	require.NoError(t, err)
	var res stepio.Result
	require.NoError(t, v.Get(&res))
	assert.Equal(t, stepio.PhaseSucceeded, res.Phase)
	assert.EqualValues(t, 1, posts.Load(), "the retry does not POST again")
}
