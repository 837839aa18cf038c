package testsuite

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
)

// waitHistory polls a workflow's history until cond holds on its events,
// so a test waits on the event it means rather than for a while.
func waitHistory(t testing.TB, ctx context.Context, c client.Client, workflowID, what string, cond func([]*historypb.HistoryEvent) bool) {
	t.Helper()
	for {
		var events []*historypb.HistoryEvent
		iter := c.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			e, err := iter.Next()
			require.NoError(t, err, "history of %s", workflowID)
			events = append(events, e)
		}
		if cond(events) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: timed out waiting until %s", workflowID, what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// sleepsOnTimer tells whether the workflow's last step execution ended
// and a timer started after it (a waiting step's backoff) that has not
// fired yet.
func sleepsOnTimer(events []*historypb.HistoryEvent) bool {
	timer := false
	for _, e := range events {
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, enumspb.EVENT_TYPE_TIMER_FIRED:
			timer = false
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			timer = true
		}
	}
	return timer
}
