package testsuite

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/velaflow/velaflow/codec"
	buildsvc "github.com/velaflow/velaflow/examples/build-service/service"
	"github.com/velaflow/velaflow/localstack/prodstack"
	"github.com/velaflow/velaflow/runs"
	"github.com/velaflow/velaflow/workflows"
)

// On a production-shaped Temporal (the server built from its Go module,
// on PostgreSQL), two velaflow workers with the payload codec run the
// multi-region pre-warm (examples/prewarm, the example operator
// reporting the jobs), then share a burst of 200 runs whose middle step
// POSTs to a recording service; one worker is killed with SIGKILL when
// half the POSTs have arrived. Every run succeeds, each POST arrives
// once, and the surviving worker finished what the killed one held.
func TestBurstOnTemporalServerWithPostgres(t *testing.T) {
	t.Parallel()
	root, err := repoRoot()
	require.NoError(t, err)
	dir, err := os.MkdirTemp("", "velaflow-prodstack-") // PostgreSQL's user must reach it
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	st, err := prodstack.Start(ctx, prodstack.Options{BinDir: filepath.Join(root, "bin"), Dir: filepath.Join(dir, "stack")})
	require.NoError(t, err, "start Temporal on PostgreSQL (logs in %s)", dir)
	t.Cleanup(st.Stop)

	keysFile := filepath.Join(dir, "codec-keys")
	key := make([]byte, 32)
	_, err = rand.Read(key)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(keysFile, []byte("k1="+base64.StdEncoding.EncodeToString(key)+"\n"), 0o600))

	var mu sync.Mutex
	posts := map[string]int{}
	idemKeys := map[string]map[string]bool{} // the Idempotency-Keys each run's POSTs carried
	half := make(chan struct{})
	var halfOnce sync.Once
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Run string }
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &body)
		mu.Lock()
		posts[body.Run]++
		if idemKeys[body.Run] == nil {
			idemKeys[body.Run] = map[string]bool{}
		}
		idemKeys[body.Run][r.Header.Get("Idempotency-Key")] = true
		if len(posts) >= 100 {
			halfOnce.Do(func() { close(half) })
		}
		mu.Unlock()
		fmt.Fprintln(w, `{"ok": true}`)
	}))
	t.Cleanup(svc.Close)

	b := theKubeBed(t)
	clusters := filepath.Join(dir, "clusters.yaml")
	require.NoError(t, os.WriteFile(clusters, []byte(fmt.Sprintf("clusters:\n  - {name: shanghai, kubeconfig: %s}\n  - {name: us-west, kubeconfig: %s}\n",
		b.clusters["shanghai"].Kubeconfig, b.clusters["us-west"].Kubeconfig)), 0o644))

	var metricsAddrs []string
	var workers []*exec.Cmd
	for i := range 2 {
		addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
		metricsAddrs = append(metricsAddrs, addr)
		log, err := os.Create(filepath.Join(dir, fmt.Sprintf("worker-%d.log", i)))
		require.NoError(t, err)
		cmd := exec.Command(shared.cli, "--address", st.Address, "--codec-keys", keysFile, "worker",
			"--metrics-listen", addr, "--cluster-secrets-namespace", "-",
			"--kubeconfig", b.clusters["shanghai"].Kubeconfig, "--clusters", clusters, "--definitions", prewarmDefinitions(t))
		cmd.Stdout, cmd.Stderr = log, log
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		require.NoError(t, cmd.Start())
		workers = append(workers, cmd)
		t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM); _ = cmd.Wait() })
		waitHTTP(t, "http://"+addr+"/readyz", log.Name())
	}

	startImagePullOperator(t, b)
	builds := httptest.NewServer(buildsvc.New(buildsvc.Options{BuildTime: 200 * time.Millisecond, Logger: quietLog}))
	t.Cleanup(builds.Close)
	prewarm := prewarmRunName("prewarm-pg")
	pf := writeFile(t, "prewarm.yaml", prewarmYAML(t, builds.URL, prewarm))
	out, errOut, code, err := runCLI(time.Now().Add(3*time.Minute), st.Address, "", "--codec-keys", keysFile, "run", "-f", pf, "--definitions", prewarmDefinitions(t), "--wait")
	require.NoError(t, err)
	require.Equal(t, 0, code, "the pre-warm on Temporal with PostgreSQL:\n%s\n%s", out, errOut)

	const n = 200
	var docs []string
	for i := range n {
		docs = append(docs, fmt.Sprintf(`apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: burst-%d, namespace: scale}
spec:
  workflowSpec:
    steps:
      - {name: before, type: print-message-in-status, properties: {message: starting}}
      - {name: post, type: request, properties: {url: %q, method: POST, body: {run: burst-%d}}}
      - {name: after, type: print-message-in-status, properties: {message: done}}
`, i, svc.URL, i))
	}
	file := writeFile(t, "burst.yaml", strings.Join(docs, "---\n"))
	out, errOut, code, err = runCLI(time.Now().Add(2*time.Minute), st.Address, "", "--codec-keys", keysFile, "run", "-f", file)
	require.NoError(t, err)
	require.Equal(t, 0, code, "%s\n%s", out, errOut)

	select {
	case <-half:
	case <-ctx.Done():
		t.Fatal("half the POSTs never arrived")
	}
	require.NoError(t, syscall.Kill(-workers[0].Process.Pid, syscall.SIGKILL))

	opts := client.Options{HostPort: st.Address}
	keys, err := codec.Load(ctx, keysFile)
	require.NoError(t, err)
	codec.Apply(&opts, keys)
	c, err := client.Dial(opts)
	require.NoError(t, err)
	defer c.Close()
	for i := range n {
		id := fmt.Sprintf("scale/burst-%d", i)
		status, err := runs.FinalStatus(ctx, c.GetWorkflow(ctx, id, ""))
		require.NoError(t, err, id)
		require.Equal(t, workflows.RunSucceeded, status.Phase, "%s: %s", id, status.Message)
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Len(t, posts, n, "every run posted")
	// A POST the killed worker sent but had not recorded yet is sent
	// again by the survivor, with the same Idempotency-Key: a server that
	// honours it applies it once. One recorded is never sent again.
	resent, distinct := 0, map[string]bool{}
	for run, count := range posts {
		for k := range idemKeys[run] {
			distinct[k] = true
		}
		assert.Len(t, idemKeys[run], 1, "%s posted %d times with keys %v", run, count, idemKeys[run])
		assert.NotContains(t, idemKeys[run], "", "%s posted without an Idempotency-Key", run)
		if count > 1 {
			resent++
		}
	}
	assert.Len(t, distinct, n, "each run's POST has a key of its own")
	t.Logf("%d of %d POSTs were sent again, with their Idempotency-Key, after the worker was killed", resent, n)
	// The stack's codec server decodes what the workers wrote.
	codecAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	codecLog, err := os.Create(filepath.Join(dir, "codec-server.log"))
	require.NoError(t, err)
	cs := exec.Command(shared.cli, "--codec-keys", keysFile, "codec-server", "--listen", codecAddr)
	cs.Stdout, cs.Stderr = codecLog, codecLog
	require.NoError(t, cs.Start())
	t.Cleanup(func() { _ = cs.Process.Kill(); _ = cs.Wait() })
	show := func(extra ...string) string {
		args := append([]string{"workflow", "show", "--address", st.Address, "-w", "scale/burst-7", "-o", "json"}, extra...)
		raw, err := exec.Command(filepath.Join(root, "bin", "temporal"), args...).CombinedOutput()
		require.NoError(t, err, "temporal %v: %s", args, raw)
		return string(raw)
	}
	assert.NotContains(t, decodedText(t, show()), svc.URL, "raw history holds no plaintext")
	var decoded string
	for deadline := time.Now().Add(time.Minute); ; {
		decoded = show("--codec-endpoint", "http://"+codecAddr)
		if strings.Contains(decodedText(t, decoded), svc.URL) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond) // the codec server may still be starting
	}
	assert.Contains(t, decodedText(t, decoded), svc.URL, "the codec server decodes the run's input")

	f := scrapeUntil(t, "http://"+metricsAddrs[1]+"/metrics", func(map[string]*dto.MetricFamily) bool { return true })
	assert.Greater(t, value(f, "velaflow_step_executions_total", nil), 0.0, "the surviving worker executed steps")
}
