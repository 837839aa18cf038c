package ops

import (
	"context"
	"fmt"
	"time"
)

// timeOps convert between dates and Unix timestamps (vela/time).
func timeOps() []Op {
	return pure([]Op{
		{Provider: "time", Do: "timestamp", Run: dateToTimestamp},
		{Provider: "time", Do: "date", Run: timestampToDate},
	})
}

func layoutOr(layout string) string {
	if layout == "" {
		return time.RFC3339
	}
	return layout
}

func dateToTimestamp(_ context.Context, c *Call) (any, error) {
	var args struct {
		Date   string `json:"date"`
		Layout string `json:"layout"`
	}
	if err := c.Decode(&args); err != nil {
		return nil, err
	}
	if args.Date == "" {
		return nil, RenderingError{fmt.Errorf("date is empty")}
	}
	t, err := time.Parse(layoutOr(args.Layout), args.Date)
	if err != nil {
		return nil, RenderingError{fmt.Errorf("date %q: %w", args.Date, err)}
	}
	return map[string]any{"timestamp": t.Unix()}, nil
}

func timestampToDate(_ context.Context, c *Call) (any, error) {
	var args struct {
		Timestamp int64  `json:"timestamp"`
		Layout    string `json:"layout"`
	}
	if err := c.Decode(&args); err != nil {
		return nil, err
	}
	return map[string]any{"date": time.Unix(args.Timestamp, 0).UTC().Format(layoutOr(args.Layout))}, nil
}
