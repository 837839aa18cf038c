package testsuite

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A worker started as operators start it (velaflow worker --metrics-listen
// --log-format json): after a run, /metrics has the step and run series
// with KubeVela Workflow's names and labels, and the SDK's; /healthz and
// /readyz answer; the log has a JSON line per step execution naming the
// run and the step.
func TestWorkerMetricsHealthAndLogs(t *testing.T) {
	t.Parallel()
	const queue = "velaflow-metrics"
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	logPath := filepath.Join(t.TempDir(), "worker.log")
	logFile, err := os.Create(logPath)
	require.NoError(t, err)
	cmd := exec.Command(shared.cli, "--address", shared.address, "--task-queue", queue, "worker",
		"--metrics-listen", addr, "--log-format", "json", "--cluster-secrets-namespace", "-", "--max-step-error-retry-times", "2")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		_ = cmd.Wait()
	})
	base := "http://" + addr
	waitHTTP(t, base+"/readyz", logPath)
	resp, err := http.Get(base + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	file := writeFile(t, "metered.yaml", `apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: metered, namespace: metrics}
spec:
  workflowSpec:
    steps:
      - {name: hello, type: print-message-in-status, properties: {message: hello}}
      - {name: bye, type: print-message-in-status, properties: {message: bye}}
`)
	out, errOut, code, err := runCLI(time.Now().Add(time.Minute), shared.address, queue, "run", "-f", file, "--wait")
	require.NoError(t, err)
	require.Equal(t, 0, code, "%s\n%s", out, errOut)
	// A webhook nobody answers: one retry, then the run fails.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := l.Addr().String()
	require.NoError(t, l.Close())
	failing := writeFile(t, "unanswered.yaml", `apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: unanswered, namespace: metrics}
spec:
  workflowSpec:
    steps:
      - {name: tell, type: webhook, properties: {url: {value: "http://`+closed+`/hook"}}}
`)
	out, errOut, code, err = runCLI(time.Now().Add(time.Minute), shared.address, queue, "run", "-f", failing, "--wait")
	require.NoError(t, err)
	require.Equal(t, 1, code, "%s\n%s", out, errOut)

	// The SDK reports its metrics each second and the runs by phase are
	// counted every 15: wait for the series, not for a time.
	families := scrapeUntil(t, base+"/metrics", func(f map[string]*dto.MetricFamily) bool {
		return value(f, "workflowrun_phase_number", map[string]string{"phase": "succeeded"}) >= 1 &&
			value(f, "workflowrun_phase_number", map[string]string{"phase": "failed"}) >= 1 &&
			value(f, "workflowrun_finished_time_seconds", map[string]string{"phase": "failed"}) >= 1
	})
	step := map[string]string{"controller": "velaflow", "step_type": "print-message-in-status", "phase": "succeeded"}
	assert.GreaterOrEqual(t, value(families, "workflowrun_step_duration_ms", step), 2.0, "two step executions observed")
	assert.GreaterOrEqual(t, value(families, "velaflow_step_executions_total", map[string]string{"step_type": "print-message-in-status", "phase": "succeeded"}), 2.0)
	assert.GreaterOrEqual(t, value(families, "workflowrun_initialized_num", nil), 1.0)
	assert.GreaterOrEqual(t, value(families, "workflowrun_finished_time_seconds", map[string]string{"phase": "succeeded", "workflow_type": "WorkflowRun"}), 1.0)
	assert.Equal(t, 1.0, value(families, "velaflow_step_retries", map[string]string{"step_type": "webhook"}))
	assert.GreaterOrEqual(t, value(families, "workflowrun_step_duration_ms", map[string]string{"step_type": "webhook", "phase": "failed"}), 2.0)
	for _, sdk := range []string{"temporal_workflow_completed", "temporal_local_activity_execution_latency", "temporal_workflow_task_execution_latency"} {
		assert.Contains(t, families, sdk, "the SDK's metrics are served too")
	}

	// Every metric the Grafana dashboard plots is served.
	root, err := repoRoot()
	require.NoError(t, err)
	dashboard, err := os.ReadFile(filepath.Join(root, "deploy", "grafana", "velaflow.json"))
	require.NoError(t, err)
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	require.NoError(t, json.Unmarshal(dashboard, &dash))
	require.NotEmpty(t, dash.Panels)
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			for _, m := range regexp.MustCompile(`([a-z_]+)\{`).FindAllStringSubmatch(target.Expr, -1) {
				name := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m[1], "_bucket"), "_count"), "_sum")
				assert.Contains(t, families, name, "panel %q plots %s", p.Title, m[1])
			}
		}
	}

	lines := jsonLines(t, logPath)
	found := false
	for _, l := range lines {
		if l["msg"] == "step execution failed" && l["step"] == "tell" && l["run"] == "metrics/unanswered" {
			found = true
			assert.Equal(t, "webhook", l["type"])
			assert.Contains(t, l["error"], "connection refused")
			assert.Equal(t, "metrics/unanswered", l["WorkflowID"], "the SDK's fields are in the same line")
		}
	}
	assert.True(t, found, "no JSON line for the failed step tell in %s", logPath)
}

// waitHTTP waits until url answers 200, or the worker exits.
func waitHTTP(t *testing.T, url, logPath string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logPath)
			t.Fatalf("%s did not answer 200 (last: %v); worker log:\n%s", url, err, log)
		}
		time.Sleep(100 * time.Millisecond) // polling an HTTP endpoint: nothing to wait on
	}
}

// scrapeUntil scrapes url until cond holds (two minutes at most).
func scrapeUntil(t *testing.T, url string, cond func(map[string]*dto.MetricFamily) bool) map[string]*dto.MetricFamily {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get(url)
		require.NoError(t, err)
		parser := expfmt.NewTextParser(model.UTF8Validation)
		families, err := parser.TextToMetricFamilies(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		if cond(families) {
			return families
		}
		if time.Now().After(deadline) {
			var names []string
			for n := range families {
				names = append(names, n)
			}
			t.Fatalf("%s never met the condition; families: %s", url, strings.Join(names, " "))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// value sums the series of a family whose labels include want: counters,
// gauges, and histograms' sample counts.
func value(families map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f := families[name]
	if f == nil {
		return -1
	}
	sum := 0.0
	for _, m := range f.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		ok := true
		for k, v := range want {
			ok = ok && labels[k] == v
		}
		if !ok {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum
}

func jsonLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}
