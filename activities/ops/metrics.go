package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/velaflow/velaflow/cuedefs"
)

// metricsOps check Prometheus queries (vela/metrics).
func metricsOps() []Op {
	return []Op{{Provider: "metrics", Do: "promCheck", Run: promCheck, Stateful: true}}
}

type promArgs struct {
	Query          string `json:"query"`
	MetricEndpoint string `json:"metricEndpoint"`
	Condition      string `json:"condition"`
	Duration       string `json:"duration"`
	FailDuration   string `json:"failDuration"`
}

// promState is when the condition started to hold, or to fail, as Unix
// seconds (0: not now).
type promState struct {
	HoldsSince int64 `json:"holdsSince,omitempty"`
	FailsSince int64 `json:"failsSince,omitempty"`
}

func promCheck(ctx context.Context, c *Call) (any, error) {
	var args promArgs
	if err := c.Decode(&args); err != nil {
		return nil, err
	}
	duration, err := time.ParseDuration(args.Duration)
	if err != nil {
		return nil, RenderingError{fmt.Errorf("duration %q: %w", args.Duration, err)}
	}
	failDuration, err := time.ParseDuration(args.FailDuration)
	if err != nil {
		return nil, RenderingError{fmt.Errorf("failDuration %q: %w", args.FailDuration, err)}
	}
	client, err := c.httpClient(ctx, nil)
	if err != nil {
		return nil, err
	}
	value, err := promQuery(ctx, client, args.MetricEndpoint, args.Query)
	if err != nil {
		return nil, err
	}
	holds, err := promCondition(value, args.Condition)
	if err != nil {
		return nil, err
	}
	var st promState
	if c.State != nil {
		_ = json.Unmarshal(c.State, &st)
	}
	now := time.Now()
	out := map[string]any{"result": false, "failed": false}
	if holds {
		st.FailsSince = 0
		if st.HoldsSince == 0 {
			st.HoldsSince = now.Unix()
		}
		held := now.Sub(time.Unix(st.HoldsSince, 0))
		if held >= duration {
			out["result"], out["message"] = true, "The metric check has passed successfully."
		} else {
			out["message"] = fmt.Sprintf("The healthy condition should be %s, and the query result is %s, indicating success. The success has persisted for %s, with success duration being %s.", args.Condition, value, held.Round(time.Second), args.Duration)
		}
	} else {
		st.HoldsSince = 0
		if st.FailsSince == 0 {
			st.FailsSince = now.Unix()
		}
		failing := now.Sub(time.Unix(st.FailsSince, 0))
		if failing >= failDuration {
			out["failed"] = true
			out["message"] = fmt.Sprintf("The healthy condition should be %s, but the query result is %s, indicating failure. The failure has persisted for %s, with the failure duration being %s. The check has terminated.", args.Condition, value, failing.Round(time.Second), args.FailDuration)
		} else {
			out["message"] = fmt.Sprintf("The healthy condition should be %s, but the query result is %s, indicating failure. The failure has persisted for %s, with the failure duration being %s.", args.Condition, value, failing.Round(time.Second), args.FailDuration)
		}
	}
	if err := c.SetState(st); err != nil {
		return nil, err
	}
	return out, nil
}

// promQuery runs an instant query through the Prometheus HTTP API and
// returns its one value as Prometheus writes it.
func promQuery(ctx context.Context, client *http.Client, endpoint, query string) (string, error) {
	u := strings.TrimSuffix(endpoint, "/") + "/api/v1/query?" + url.Values{"query": {query}, "time": {fmt.Sprint(time.Now().Unix())}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", RenderingError{fmt.Errorf("metricEndpoint %q: %w", endpoint, err)}
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("query %s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("query %s: %w", endpoint, err)
	}
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return "", fmt.Errorf("query %s: answered %d, not the Prometheus API: %.200s", endpoint, resp.StatusCode, body)
	}
	if r.Status != "success" {
		if resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnprocessableEntity {
			return "", FinalError{fmt.Errorf("query %q: %s", query, r.Error)}
		}
		return "", fmt.Errorf("query %q: %s", query, r.Error)
	}
	return promValue(r.Data.ResultType, r.Data.Result)
}

func promValue(resultType string, raw json.RawMessage) (string, error) {
	var sample []any // [ <unix time>, "<value>" ]
	switch resultType {
	case "scalar":
		if err := json.Unmarshal(raw, &sample); err != nil {
			return "", err
		}
	case "vector":
		var v []struct {
			Value []any `json:"value"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return "", err
		}
		if len(v) != 1 {
			return "", FinalError{fmt.Errorf("the query gives %d results; it must give one", len(v))}
		}
		sample = v[0].Value
	default:
		return "", FinalError{fmt.Errorf("the query gives a %s; it must give one value (a scalar or a one-element vector)", resultType)}
	}
	if len(sample) != 2 {
		return "", errors.New("malformed sample")
	}
	s, ok := sample[1].(string)
	if !ok {
		return "", errors.New("malformed sample value")
	}
	return s, nil
}

// promCondition decides "<value> <condition>" as CUE does, e.g.
// "0.97 >=0.95".
func promCondition(value, condition string) (bool, error) {
	switch value {
	case "NaN", "+Inf", "-Inf":
		return false, nil
	}
	cctx := cuedefs.NewContext()
	v := cuedefs.CompileExpr(cctx, cctx.CompileString("{}"), value+" "+condition, "condition")
	b, err := v.Bool()
	if err != nil {
		return false, RenderingError{fmt.Errorf("condition %q on %s: %w", condition, value, err)}
	}
	return b, nil
}
