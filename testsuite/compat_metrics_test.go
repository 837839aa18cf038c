package testsuite

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/velaflow/velaflow/workflows"
)

// fakeProm answers the Prometheus instant-query API with the value it is
// set to, and counts the queries it gets.
type fakeProm struct {
	mu      sync.Mutex
	value   string
	queries []string
}

func startFakeProm(t *testing.T, value string) (*fakeProm, string) {
	p := &fakeProm{value: value}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return p, srv.URL
}

func (p *fakeProm) set(v string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.value = v
}

func (p *fakeProm) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r.URL.Path != "/api/v1/query" {
		http.NotFound(w, r)
		return
	}
	p.queries = append(p.queries, r.URL.Query().Get("query"))
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{
		"resultType": "vector",
		"result":     []any{map[string]any{"metric": map[string]any{"job": "app"}, "value": []any{float64(time.Now().Unix()), p.value}}},
	}})
}

// check-metrics waits while the condition fails, holds once it has held
// for duration, and fails once it has failed for failDuration; the
// durations are measured across the step's executions.
func TestCompatCheckMetrics(t *testing.T) {
	t.Parallel()
	prom, url := startFakeProm(t, "0.50")
	failing, failURL := startFakeProm(t, "0.10")
	yaml := fmt.Sprintf(`
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: ce-metrics}
spec:
  mode: {steps: DAG}
  workflowSpec:
    steps:
      - name: healthy
        type: check-metrics
        properties: {query: 'sum(rate(http_ok[1m]))/sum(rate(http_all[1m]))', metricEndpoint: %q, condition: ">=0.95", duration: 2s, failDuration: 10m}
      - name: broken
        type: check-metrics
        properties: {query: 'up{job="app"}', metricEndpoint: %q, condition: "==1", duration: 1s, failDuration: 2s}
`, url, failURL)
	_, errOut, code := shared.velaflow(t, "run", "-f", writeFile(t, "metrics.yaml", yaml))
	require.Equal(t, 0, code, errOut)
	shared.eventually(t, "ce-metrics", "healthy waits on a failing condition", func(st *workflows.Status) bool {
		s := stepOf(st, "healthy")
		return s.Reason == workflows.ReasonWait && containsAll(s.Message, "should be >=0.95, but the query result is 0.5")
	})
	prom.set("0.99")
	shared.eventually(t, "ce-metrics", "healthy counts how long the condition holds", func(st *workflows.Status) bool {
		return containsAll(stepOf(st, "healthy").Message, "indicating success. The success has persisted for")
	})
	st := shared.eventually(t, "ce-metrics", "the run ends", func(st *workflows.Status) bool { return st.Finished })
	assert.Equal(t, workflows.StepSucceeded, stepOf(st, "healthy").Phase, "%+v", stepOf(st, "healthy"))

	b := stepOf(st, "broken")
	assert.Equal(t, workflows.StepFailed, b.Phase)
	assert.Equal(t, workflows.ReasonAction, b.Reason)
	assert.Contains(t, b.Message, "The check has terminated.")
	failing.mu.Lock()
	defer failing.mu.Unlock()
	assert.Equal(t, `up{job="app"}`, failing.queries[0])
	assert.GreaterOrEqual(t, len(failing.queries), 2, "the failure was measured over several executions")
}

func containsAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}
