package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// utilOps write the step's log (which may read a URL or Pod logs) and
// convert values.
func utilOps() []Op {
	return []Op{
		{Provider: "util", Do: "log", Run: logLines},
		{Provider: "util", Do: "string", Run: convertString, Pure: true},
		{Provider: "util", Do: "patch-k8s-object", Run: patchObject, Pure: true},
	}
}

// maxLogBytes bounds what one execution logs: logs live in the run's state.
const maxLogBytes = 64 << 10

type logArgs struct {
	Data   any  `json:"data"`
	Level  *int `json:"level"`
	Source *struct {
		URL       string        `json:"url"`
		Resources []logResource `json:"resources"`
	} `json:"source"`
}

// logResource names Pods whose logs a step shows: by name, or by labels.
type logResource struct {
	Name          string            `json:"name"`
	Cluster       string            `json:"cluster"`
	Namespace     string            `json:"namespace"`
	LabelSelector map[string]string `json:"labelSelector"`
}

// DefaultLogLevel is the level #Log data has when it names none, and the
// highest level a worker keeps unless told otherwise.
const DefaultLogLevel = 3

// podLogTail is how many lines of each container's log a step keeps.
const podLogTail = 100

// logLines keeps what #Log writes: data (when its level is within the
// worker's), and the lines of its source: a URL or Pods' logs.
func logLines(ctx context.Context, c *Call) (any, error) {
	var args logArgs
	if err := c.Decode(&args); err != nil {
		return nil, err
	}
	level := DefaultLogLevel
	if args.Level != nil {
		level = *args.Level
	}
	if args.Data != nil && level <= c.Env.logLevel() {
		text, ok := args.Data.(string)
		if !ok {
			b, err := json.Marshal(args.Data)
			if err != nil {
				return nil, RenderingError{err}
			}
			text = string(b)
		}
		c.Outcome.log(strings.Split(strings.TrimRight(text, "\n"), "\n")...)
	}
	if args.Source == nil {
		return nil, nil
	}
	if args.Source.URL != "" {
		client, err := c.httpClient(ctx, nil)
		if err != nil {
			return nil, err
		}
		lines, err := urlLog(ctx, client, args.Source.URL)
		if err != nil {
			return nil, err
		}
		c.Outcome.log(lines...)
	}
	for _, r := range args.Source.Resources {
		c.Outcome.log(c.podLog(ctx, r)...)
	}
	return nil, nil
}

func urlLog(ctx context.Context, client *http.Client, url string) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, RenderingError{err}
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("log source %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxLogBytes))
	if err != nil {
		return nil, fmt.Errorf("log source %s: %w", url, err)
	}
	if resp.StatusCode >= 400 {
		return nil, fmt.Errorf("log source %s answered %d", url, resp.StatusCode)
	}
	return strings.Split(strings.TrimRight(string(body), "\n"), "\n"), nil
}

// podLog reads the logs of the Pods r names. What cannot be read (no
// such Pod, a Pod not running) becomes a line saying so: logs inform,
// they do not fail the step.
func (c *Call) podLog(ctx context.Context, r logResource) []string {
	ns := r.Namespace
	if ns == "" {
		ns = c.run().Namespace
	}
	what := "pod " + ns + "/" + r.Name
	if r.Name == "" {
		what = fmt.Sprintf("pods in %s with labels %v", ns, r.LabelSelector)
	}
	cl, err := c.cluster(ctx, r.Cluster)
	if err != nil {
		return []string{fmt.Sprintf("[%s] no logs: %v", what, err)}
	}
	logs, err := cl.PodLogs(ctx, ns, r.Name, r.LabelSelector, podLogTail)
	if err != nil {
		return []string{fmt.Sprintf("[%s] no logs: %v", what, err)}
	}
	if len(logs) == 0 {
		return []string{fmt.Sprintf("[%s] no logs: no such pod", what)}
	}
	var out []string
	for _, l := range logs {
		prefix := fmt.Sprintf("[%s %s]", l.Pod, l.Container)
		if l.Err != "" {
			out = append(out, prefix+" no logs: "+l.Err)
			continue
		}
		for _, line := range l.Lines {
			out = append(out, prefix+" "+line)
		}
	}
	return out
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

// patchObject merges patch into value as Kubernetes patches containers,
// env and volumes: objects field by field, lists whose items all have a
// name item by item (new names appended), anything else replaced.
func patchObject(_ context.Context, c *Call) (any, error) {
	var args struct {
		Value map[string]any `json:"value"`
		Patch map[string]any `json:"patch"`
	}
	if err := c.Decode(&args); err != nil {
		return nil, err
	}
	return map[string]any{"result": mergeObjects(args.Value, args.Patch)}, nil
}

func mergeObjects(base, patch map[string]any) map[string]any {
	out := make(map[string]any, len(base)+len(patch))
	for k, v := range base {
		out[k] = v
	}
	for k, pv := range patch {
		out[k] = mergeValue(out[k], pv)
	}
	return out
}

func mergeValue(base, patch any) any {
	switch p := patch.(type) {
	case map[string]any:
		if b, ok := base.(map[string]any); ok {
			return mergeObjects(b, p)
		}
	case []any:
		if b, ok := base.([]any); ok && allNamed(b) && allNamed(p) {
			return mergeByName(b, p)
		}
	}
	return patch
}

func allNamed(items []any) bool {
	for _, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return false
		}
		if _, ok := m["name"].(string); !ok {
			return false
		}
	}
	return true
}

func mergeByName(base, patch []any) []any {
	out := append([]any(nil), base...)
	index := map[string]int{}
	for i, it := range out {
		index[it.(map[string]any)["name"].(string)] = i
	}
	for _, it := range patch {
		m := it.(map[string]any)
		if i, ok := index[m["name"].(string)]; ok {
			out[i] = mergeObjects(out[i].(map[string]any), m)
			continue
		}
		out = append(out, m)
	}
	return out
}
