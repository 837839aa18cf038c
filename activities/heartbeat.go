package activities

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
)

// HeartbeatSender sends an execution's heartbeat to the server at once; a
// client.Client is one. The SDK's own (activity.RecordHeartbeat) sends the
// first heartbeat of a window (80% of the heartbeat timeout) at once and
// holds the later ones until the window ends, so the memo of a second
// once-only operation would die with a worker killed within the window,
// and the retry would repeat the operation.
type HeartbeatSender interface {
	RecordActivityHeartbeat(ctx context.Context, taskToken []byte, details ...any) error
}

// heartbeat keeps Temporal told that an execution is alive, so a worker
// that dies mid-step is noticed after the heartbeat timeout instead of the
// whole execution timeout. Its details carry the memo of once-only
// operations completed so far: the retry that follows a crash reads them
// back and does not repeat those operations. With a sender, a once-only
// operation's memo is at the server before the next operation starts.
type heartbeat struct {
	ctx  context.Context
	memo map[string]json.RawMessage
	send HeartbeatSender
	// cancel ends the execution when the server has cancelled it or no
	// longer runs it (heartbeats sent by the SDK do that themselves).
	cancel context.CancelFunc
	// mu is held while a heartbeat is sent, so they reach the server in
	// order and the last one holds the newest memo.
	mu   sync.Mutex
	last map[string]json.RawMessage
	done chan struct{}
}

func startHeartbeat(ctx context.Context, memo map[string]json.RawMessage, send HeartbeatSender, cancel context.CancelFunc) *heartbeat {
	h := &heartbeat{ctx: ctx, memo: memo, send: send, cancel: cancel, done: make(chan struct{})}
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
				h.beat(h.last)
				h.mu.Unlock()
			}
		}
	}()
	return h
}

// record saves the memo after a once-only operation completed.
func (h *heartbeat) record(memo map[string]json.RawMessage) {
	if !activity.IsActivity(h.ctx) || activity.GetInfo(h.ctx).IsLocalActivity {
		return // a local activity has no heartbeats: its result comes back at once
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.last = memo
	h.beat(memo)
}

// beat sends one heartbeat; call it with mu held.
func (h *heartbeat) beat(memo map[string]json.RawMessage) {
	if h.send == nil {
		activity.RecordHeartbeat(h.ctx, memo)
		return
	}
	err := h.send.RecordActivityHeartbeat(h.ctx, activity.GetInfo(h.ctx).TaskToken, memo)
	var canceled *temporal.CanceledError
	var gone *serviceerror.NotFound
	if errors.As(err, &canceled) || errors.As(err, &gone) || errors.Is(err, activity.ErrActivityPaused) || errors.Is(err, activity.ErrActivityReset) {
		h.cancel()
	}
}

func (h *heartbeat) stop() { close(h.done) }
