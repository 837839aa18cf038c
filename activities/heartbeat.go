package activities

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
)

// heartbeat keeps Temporal told that an execution is alive, so a worker
// that dies mid-step is noticed after the heartbeat timeout instead of the
// whole execution timeout. Its details carry the memo of once-only
// operations completed so far: the retry that follows a crash reads them
// back and does not repeat those operations.
type heartbeat struct {
	ctx  context.Context
	memo map[string]json.RawMessage
	mu   sync.Mutex
	last map[string]json.RawMessage
	done chan struct{}
}

func startHeartbeat(ctx context.Context, memo map[string]json.RawMessage) *heartbeat {
	h := &heartbeat{ctx: ctx, memo: memo, done: make(chan struct{})}
	if !activity.IsActivity(ctx) {
		return h
	}
	if activity.HasHeartbeatDetails(ctx) {
		var saved map[string]json.RawMessage
		if activity.GetHeartbeatDetails(ctx, &saved) == nil && len(saved) > 0 {
			merged := map[string]json.RawMessage{}
			for k, v := range memo {
				merged[k] = v
			}
			for k, v := range saved {
				merged[k] = v
			}
			h.memo = merged
		}
	}
	h.last = h.memo
	every := activity.GetInfo(ctx).HeartbeatTimeout / 3
	if every <= 0 {
		return h
	}
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-h.done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				h.mu.Lock()
				m := h.last
				h.mu.Unlock()
				activity.RecordHeartbeat(ctx, m)
			}
		}
	}()
	return h
}

// record saves the memo after a once-only operation completed.
func (h *heartbeat) record(memo map[string]json.RawMessage) {
	if !activity.IsActivity(h.ctx) {
		return
	}
	h.mu.Lock()
	h.last = memo
	h.mu.Unlock()
	activity.RecordHeartbeat(h.ctx, memo)
}

func (h *heartbeat) stop() { close(h.done) }
