package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// utilOps write the step's log and convert values.
func utilOps() []Op {
	return []Op{
		{Provider: "util", Do: "log", Run: logLines},
		{Provider: "util", Do: "string", Run: convertString},
	}
}

// maxLogBytes bounds what one execution logs: logs live in the run's state.
const maxLogBytes = 64 << 10

func logLines(ctx context.Context, c *Call) (any, error) {
	var args struct {
		Data   any `json:"data"`
		Source *struct {
			URL string `json:"url"`
		} `json:"source"`
	}
	if err := c.Decode(&args); err != nil {
		return nil, err
	}
	var text string
	switch {
	case args.Source != nil && args.Source.URL != "":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, args.Source.URL, nil)
		if err != nil {
			return nil, RenderingError{err}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("log source %s: %w", args.Source.URL, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxLogBytes))
		if err != nil {
			return nil, fmt.Errorf("log source %s: %w", args.Source.URL, err)
		}
		if resp.StatusCode >= 400 {
			return nil, fmt.Errorf("log source %s answered %d", args.Source.URL, resp.StatusCode)
		}
		text = string(body)
	case args.Data == nil:
		return nil, nil
	default:
		if s, ok := args.Data.(string); ok {
			text = s
		} else {
			b, err := json.Marshal(args.Data)
			if err != nil {
				return nil, RenderingError{err}
			}
			text = string(b)
		}
	}
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	c.Outcome.update(func(o *Outcome) {
		for _, l := range lines {
			if o.logBytes+len(l) > maxLogBytes {
				o.Logs = append(o.Logs, "... (log truncated)")
				return
			}
			o.logBytes += len(l)
			o.Logs = append(o.Logs, l)
		}
	})
	return nil, nil
}

func convertString(_ context.Context, c *Call) (any, error) {
	var args struct {
		BT any `json:"bt"`
	}
	if err := c.Decode(&args); err != nil {
		return nil, err
	}
	switch v := args.BT.(type) {
	case string:
		return map[string]any{"str": v}, nil
	case []byte:
		return map[string]any{"str": string(v)}, nil
	}
	return nil, RenderingError{fmt.Errorf("bt: want bytes or a string, got %T", args.BT)}
}
