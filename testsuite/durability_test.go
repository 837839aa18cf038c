package testsuite

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"github.com/velaflow/velaflow/localstack/devstack"
	"github.com/velaflow/velaflow/runs"
	"github.com/velaflow/velaflow/workflows"
)

// TestSurvivesKillOfWorkerAndServer runs a DAG (a POST, a conditional wait
// on the service, a step-group of two GETs in a parallel branch, a suspend,
// a final POST) on its own Temporal dev server (state in a SQLite file) and
// its own worker process. Both processes are killed with SIGKILL twice:
// while `wait` is waiting on its durable timer, and while the run is
// suspended. After each restart the run carries on where it was, and at the
// end every step has succeeded and no step that had succeeded was executed
// again: the service counts each endpoint's requests.
func TestSurvivesKillOfWorkerAndServer(t *testing.T) {
	began := time.Now()
	svc := &durableService{}
	httpSrv := httptest.NewServer(svc)
	defer httpSrv.Close()

	d := newDurableStack(t)
	d.startServer()
	d.startWorker()

	run := writeFile(t, "run.yaml", fmt.Sprintf(`
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata:
  name: durable
spec:
  mode: {steps: DAG, subSteps: DAG}
  workflowSpec:
    steps:
      - name: build
        type: request
        properties: {url: "%[1]s/build", method: POST, body: {app: shop}}
        outputs: [{name: build-id, valueFrom: response.id}]
      - name: wait
        type: wait-ready
        properties: {url: "%[1]s"}
        inputs: [{from: build-id, parameterKey: id}]
        outputs: [{name: image, valueFrom: value}]
      - name: checks
        type: step-group
        dependsOn: [build]
        subSteps:
          - {name: lint, type: request, properties: {url: "%[1]s/lint"}}
          - {name: scan, type: request, properties: {url: "%[1]s/scan"}}
      - name: approve
        type: suspend
        dependsOn: [wait, checks]
        properties: {message: "approve the rollout"}
      - name: deploy
        type: request
        dependsOn: [approve]
        inputs: [{from: image, parameterKey: body.image}]
        properties: {url: "%[1]s/deploy", method: POST, body: {app: shop}}
`, httpSrv.URL))
	defs := writeFile(t, "defs.yaml", userDefinitions)

	out, errOut, code := d.velaflow(30*time.Second, "run", "-f", run, "--definitions", defs)
	require.Equal(t, 0, code, "run: %s %s", out, errOut)

	// 1. The POST and the parallel branch are done; `wait` polls.
	st := d.eventually("build and checks succeeded, wait is waiting", func(st *workflows.Status) bool {
		w := stepOf(st, "wait")
		return stepOf(st, "build").Phase == workflows.StepSucceeded &&
			stepOf(st, "checks").Phase == workflows.StepSucceeded &&
			w.Phase == workflows.StepRunning && w.Reason == workflows.ReasonWait
	})
	assert.Equal(t, "build 42: building", stepOf(st, "wait").Message)
	require.EqualValues(t, 1, svc.count("POST /build"))
	require.EqualValues(t, 1, svc.count("GET /lint"))
	require.EqualValues(t, 1, svc.count("GET /scan"))
	t.Logf("%s: wait is waiting (%d polls)", since(began), svc.count("GET /status/42"))

	// 2. Kill -9 the worker and the server while `wait` sleeps on its 1s
	// durable timer, not while one of its executions runs (that case, which
	// waits for the heartbeat timeout, is
	// TestWorkerKilledMidExecutionRetriesWithoutRepeatingThePost). The
	// status shows the timer pending when the step's last execution ended
	// after the service's last poll, less than 700ms ago.
	d.eventually("wait sleeps on its timer", func(st *workflows.Status) bool {
		w := stepOf(st, "wait")
		return w.Reason == workflows.ReasonWait && w.LastExecuteTime != nil &&
			!svc.lastPollTime().After(*w.LastExecuteTime) && time.Since(*w.LastExecuteTime) < 700*time.Millisecond
	})
	due := d.timerDue()
	t.Logf("%s: killing worker and server", since(began))
	d.kill("worker")
	d.kill("server")
	pollsBefore := svc.count("GET /status/42")
	time.Sleep(time.Until(due)) // the timer comes due while the server is down

	d.startServer()
	d.startWorker()
	t.Logf("%s: server and worker restarted", since(began))
	st = d.eventually("wait polls again after the restart", func(st *workflows.Status) bool {
		return svc.count("GET /status/42") > pollsBefore && stepOf(st, "wait").Reason == workflows.ReasonWait
	})
	assert.Equal(t, workflows.StepSucceeded, stepOf(st, "build").Phase)
	assert.Equal(t, workflows.StepSucceeded, stepOf(st, "checks").Phase)

	// 3. The build is ready: the run goes on to the suspend step.
	svc.ready.Store(true)
	st = d.eventually("the run is suspended", func(st *workflows.Status) bool {
		return st.Phase == workflows.RunSuspending && stepOf(st, "approve").Phase == workflows.StepSuspending
	})
	assert.Equal(t, workflows.StepSucceeded, stepOf(st, "wait").Phase)
	assert.Equal(t, "approve the rollout", stepOf(st, "approve").Message)
	assert.Equal(t, workflows.StepPending, stepOf(st, "deploy").Phase)
	polls := svc.count("GET /status/42")
	t.Logf("%s: suspended after %d polls; killing worker and server", since(began), polls)

	// 4. Kill -9 both again while the run is suspended; restart; resume.
	d.kill("worker")
	d.kill("server")
	d.startServer()
	d.startWorker()
	t.Logf("%s: server and worker restarted", since(began))
	st = d.eventually("the run is still suspended after the restart", func(st *workflows.Status) bool {
		return st.Phase == workflows.RunSuspending
	})
	assert.Equal(t, workflows.StepSuspending, stepOf(st, "approve").Phase)
	out, errOut, code = d.velaflow(30*time.Second, "resume", "durable")
	require.Equal(t, 0, code, "resume: %s %s", out, errOut)

	st = d.eventually("the run finished", func(st *workflows.Status) bool { return st.Finished })
	assert.Equal(t, workflows.RunSucceeded, st.Phase)
	forEachStatus(st.Steps, func(s workflows.StepStatus) {
		assert.Equal(t, workflows.StepSucceeded, s.Phase, "step %s: %s %s", s.Name, s.Reason, s.Message)
	})
	assert.Len(t, stepOf(st, "checks").SubSteps, 2)
	assert.Equal(t, map[string]any{"build-id": "42"}, stepOf(st, "build").Outputs)
	assert.Equal(t, map[string]any{"image": "image-42"}, stepOf(st, "wait").Outputs)

	// Every side effect happened once; no finished step ran again.
	assert.EqualValues(t, 1, svc.count("POST /build"), "the build POST is sent exactly once")
	assert.EqualValues(t, 1, svc.count("GET /lint"), "lint succeeded before the kills and is not executed again")
	assert.EqualValues(t, 1, svc.count("GET /scan"), "scan succeeded before the kills and is not executed again")
	assert.EqualValues(t, polls, svc.count("GET /status/42"), "wait succeeded before the second kill and is not executed again")
	assert.EqualValues(t, 1, svc.count("POST /deploy"))
	assert.Equal(t, `{"app":"shop","image":"image-42"}`, svc.deployBody())
	t.Logf("%s: succeeded; requests: %v", since(began), svc.snapshot())
}

// orderDefinitions is a user definition whose step POSTs an order and only
// then (its URL needs the POST's status code) GETs the order's state.
const orderDefinitions = `
apiVersion: core.oam.dev/v1beta1
kind: WorkflowStepDefinition
metadata:
  name: place-order
spec:
  schematic:
    cue:
      template: |
        import "vela/http"
        parameter: url: string
        post: http.#HTTPPost & {$params: {url: "\(parameter.url)/orders", request: body: "{\"app\":\"shop\"}"}}
        get: http.#HTTPGet & {$params: url: "\(parameter.url)/orders/7?after=\(post.$returns.statusCode)"}
        order: post.$returns.body
        state: get.$returns.body
`

// TestWorkerKilledMidExecutionRetriesWithoutRepeatingThePost kills -9 the
// worker (the server stays up) in the middle of a step's execution: the
// step's POST is done and its GET, which comes after it, is held open by
// the service. The execution stops heartbeating, Temporal notices within
// the heartbeat timeout (10 s) and retries it on the restarted worker. The
// execution had heartbeated the memo of its POST, so the retry takes the
// POST's result from there and sends only the GET again.
func TestWorkerKilledMidExecutionRetriesWithoutRepeatingThePost(t *testing.T) {
	began := time.Now()
	svc := newHoldingService()
	httpSrv := httptest.NewServer(svc)
	defer httpSrv.Close()
	defer svc.release() // before Close, which waits for the held handler

	d := newDurableStack(t)
	d.startServer()
	d.startWorker()

	d.startOrderRun(httpSrv.URL, "")

	// 1. The POST is done and the GET that follows it is held open.
	svc.waitHeld(t)
	require.EqualValues(t, 1, svc.count("POST /orders"))
	// The execution heartbeats the POST's memo as soon as the POST is done;
	// the kill comes once the server holds it.
	d.waitHeartbeat()
	st := d.eventually("the step runs", func(st *workflows.Status) bool {
		return stepOf(st, "order").Phase == workflows.StepRunning
	})
	assert.Equal(t, workflows.RunExecuting, st.Phase)

	// 2. Kill -9 the worker only, while its execution waits on the GET.
	t.Logf("%s: the GET is held; killing the worker", since(began))
	d.kill("worker")
	d.startWorker()
	svc.release() // the killed worker's connection is gone; later GETs answer at once
	t.Logf("%s: worker restarted", since(began))

	// 3. After the heartbeat timeout the execution is retried and succeeds.
	st = d.eventually("the run finished", func(st *workflows.Status) bool { return st.Finished })
	t.Logf("%s: finished; requests: %v", since(began), svc.snapshot())
	assert.Equal(t, workflows.RunSucceeded, st.Phase)
	step := stepOf(st, "order")
	assert.Equal(t, workflows.StepSucceeded, step.Phase, "%s %s", step.Reason, step.Message)
	assert.Equal(t, map[string]any{"order": `{"id":"7"}`, "state": "placed"}, step.Outputs)
	assert.EqualValues(t, 1, svc.count("POST /orders"), "the retry takes the POST's result from the heartbeat instead of sending it again")
	assert.GreaterOrEqual(t, svc.count("GET /orders/7"), 2, "the retry sends the GET again")
}

// holdingService is the fake order service: it counts requests per
// "METHOD /path" and holds the first GET open until release.
type holdingService struct {
	durableService
	held      chan struct{} // closed when the first GET arrives
	released  chan struct{}
	firstGet  sync.Once
	releaseMu sync.Once
}

func newHoldingService() *holdingService {
	return &holdingService{held: make(chan struct{}), released: make(chan struct{})}
}

func (s *holdingService) release() { s.releaseMu.Do(func() { close(s.released) }) }

// waitHeld returns once the service holds the first GET open.
func (s *holdingService) waitHeld(t *testing.T) {
	t.Helper()
	select {
	case <-s.held:
	case <-time.After(60 * time.Second):
		t.Fatalf("the GET never reached the service; requests: %v", s.snapshot())
	}
}

func (s *holdingService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.ReadAll(r.Body)
	key := r.Method + " " + r.URL.Path
	s.mu.Lock()
	if s.hits == nil {
		s.hits = map[string]int{}
	}
	s.hits[key]++
	s.mu.Unlock()
	switch key {
	case "POST /orders", "POST /payments":
		w.Write([]byte(`{"id":"7"}`))
	case "GET /orders/7":
		first := false
		s.firstGet.Do(func() { first = true })
		if first {
			close(s.held)
			select {
			case <-s.released:
			case <-r.Context().Done(): // the client is gone
			}
		}
		w.Write([]byte("placed"))
	default:
		http.NotFound(w, r)
	}
}

// durableService is the fake build service of the durability test: it
// counts requests per "METHOD /path" and remembers when `wait` last polled.
type durableService struct {
	mu       sync.Mutex
	hits     map[string]int
	lastPoll time.Time
	deploy   string
	ready    atomic.Bool
}

func (s *durableService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	key := r.Method + " " + r.URL.Path
	s.mu.Lock()
	if s.hits == nil {
		s.hits = map[string]int{}
	}
	s.hits[key]++
	switch key {
	case "GET /status/42":
		s.lastPoll = time.Now()
	case "POST /deploy":
		s.deploy = string(bytes.TrimSpace(body))
	}
	s.mu.Unlock()
	switch key {
	case "POST /build":
		json.NewEncoder(w).Encode(map[string]string{"id": "42"})
	case "GET /status/42":
		if s.ready.Load() {
			w.Write([]byte("ready"))
		} else {
			w.Write([]byte("building"))
		}
	case "GET /lint", "GET /scan", "POST /deploy":
		w.Write([]byte(`{"ok":true}`))
	default:
		http.NotFound(w, r)
	}
}

func (s *durableService) count(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[key]
}

func (s *durableService) snapshot() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := map[string]int{}
	for k, v := range s.hits {
		m[k] = v
	}
	return m
}

func (s *durableService) deployBody() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deploy
}

func (s *durableService) lastPollTime() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastPoll
}

// durableStack is a Temporal dev server and a velaflow worker, each its own
// process (group) so the test can kill -9 them.
type durableStack struct {
	t       *testing.T
	dir     string
	db      string
	port    int
	address string
	cli     string
	procs   map[string]*killableProc
	starts  int
}

// newDurableStack prepares a stack in the test's temporary folder; the test
// starts its processes. They are killed, and their logs shown if the test
// failed, when it ends.
func newDurableStack(t *testing.T) *durableStack {
	tmp := t.TempDir()
	d := &durableStack{
		t:     t,
		dir:   tmp,
		db:    filepath.Join(tmp, "temporal.sqlite"),
		port:  freePort(t),
		cli:   shared.cli,
		procs: map[string]*killableProc{},
	}
	d.address = "127.0.0.1:" + strconv.Itoa(d.port)
	t.Cleanup(d.killAll)
	t.Cleanup(func() {
		if t.Failed() {
			d.dumpLogs()
		}
	})
	return d
}

type killableProc struct {
	cmd  *exec.Cmd
	done chan struct{}
	log  string
	file *os.File
}

func (d *durableStack) start(name string, path string, args ...string) {
	d.t.Helper()
	d.starts++
	logPath := filepath.Join(d.dir, fmt.Sprintf("%02d-%s.log", d.starts, name))
	f, err := os.Create(logPath)
	require.NoError(d.t, err)
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(d.t, cmd.Start(), "start %s", name)
	p := &killableProc{cmd: cmd, done: make(chan struct{}), log: logPath, file: f}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	d.procs[name] = p
}

// kill sends SIGKILL to the process group and waits until it is gone.
func (d *durableStack) kill(name string) {
	d.t.Helper()
	p := d.procs[name]
	require.NotNil(d.t, p, "no process %s", name)
	select {
	case <-p.done:
		d.t.Fatalf("%s exited before it was killed; log %s", name, p.log)
	default:
	}
	d.killProc(p)
	delete(d.procs, name)
}

func (d *durableStack) killProc(p *killableProc) {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		d.t.Errorf("process %d did not exit after SIGKILL", p.cmd.Process.Pid)
	}
	p.file.Close()
}

func (d *durableStack) killAll() {
	for name, p := range d.procs {
		d.killProc(p)
		delete(d.procs, name)
	}
}

func (d *durableStack) dumpLogs() {
	entries, _ := filepath.Glob(filepath.Join(d.dir, "*.log"))
	for _, e := range entries {
		data, _ := os.ReadFile(e)
		if len(data) > 4000 {
			data = data[len(data)-4000:]
		}
		d.t.Logf("--- %s (tail) ---\n%s", filepath.Base(e), data)
	}
}

// startServer starts the dev server on the stack's port and SQLite file
// (the arguments devstack.Start uses) and waits until it serves requests.
func (d *durableStack) startServer() {
	d.t.Helper()
	root, err := repoRoot()
	require.NoError(d.t, err)
	temporal := filepath.Join(root, "bin", "temporal")
	_, err = os.Stat(temporal)
	require.NoError(d.t, err, "%s is missing: run `make temporal`", temporal)
	d.start("server", temporal, "server", "start-dev", "--headless",
		"--ip", "127.0.0.1", "--port", strconv.Itoa(d.port),
		"--db-filename", d.db, "--namespace", "default", "--log-level", "error",
		"--search-attribute", workflows.AttrPhase.GetName()+"=Keyword",
		"--search-attribute", workflows.AttrName.GetName()+"=Keyword",
		"--search-attribute", workflows.AttrNamespace.GetName()+"=Keyword",
		"--dynamic-config-value", "frontend.enableServerVersionCheck=false",
		"--dynamic-config-value", "system.enableActivityEagerExecution=true",
	)
	deadline := time.Now().Add(90 * time.Second)
	for {
		_, errOut, code := d.velaflow(10*time.Second, "list")
		if code == 0 {
			return
		}
		select {
		case <-d.procs["server"].done:
			d.t.Fatalf("the dev server exited: %s", errOut)
		default:
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("the dev server at %s does not answer: %s", d.address, errOut)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// startOrderRun starts the run "durable": its step "order" places an
// order at url (POST, then GET), with the outputs order and state; more
// is YAML of the steps after it.
func (d *durableStack) startOrderRun(url, more string) {
	d.t.Helper()
	run := writeFile(d.t, "run.yaml", fmt.Sprintf(`
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata:
  name: durable
spec:
  workflowSpec:
    steps:
      - name: order
        type: place-order
        properties: {url: "%s"}
        outputs:
          - {name: order, valueFrom: order}
          - {name: state, valueFrom: state}
%s`, url, more))
	defs := writeFile(d.t, "defs.yaml", orderDefinitions)
	out, errOut, code := d.velaflow(30*time.Second, "run", "-f", run, "--definitions", defs)
	require.Equal(d.t, 0, code, "run: %s %s", out, errOut)
}

func (d *durableStack) startWorker() {
	d.t.Helper()
	d.start("worker", d.cli, "--address", d.address, "worker", "--wait-backoff-max", "1s", "--metrics-listen", "127.0.0.1:0")
}

// client connects to this stack's server.
func (d *durableStack) client() client.Client {
	d.t.Helper()
	c, err := client.Dial(client.Options{HostPort: d.address, Logger: devstack.Quiet()})
	require.NoError(d.t, err)
	d.t.Cleanup(c.Close)
	return c
}

// timerDue is when the run's last timer started is due, read from its
// history.
func (d *durableStack) timerDue() time.Time {
	d.t.Helper()
	var due time.Time
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	waitHistory(d.t, ctx, d.client(), "default/durable", "a timer started", func(events []*historypb.HistoryEvent) bool {
		for _, e := range events {
			if a := e.GetTimerStartedEventAttributes(); a != nil {
				due = e.GetEventTime().AsTime().Add(a.GetStartToFireTimeout().AsDuration())
			}
		}
		return !due.IsZero()
	})
	return due
}

// waitHeartbeat waits until the server holds a heartbeat with a memo from
// the run's execution in progress.
func (d *durableStack) waitHeartbeat() {
	d.t.Helper()
	c := d.client()
	deadline := time.Now().Add(30 * time.Second)
	for {
		desc, err := c.DescribeWorkflowExecution(context.Background(), "default/durable", "")
		require.NoError(d.t, err)
		for _, a := range desc.GetPendingActivities() {
			for _, p := range a.GetHeartbeatDetails().GetPayloads() {
				if data := string(p.GetData()); data != "null" && data != "{}" {
					return // the memo, not the empty one sent at the start
				}
			}
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("no heartbeat of the execution reached the server: %+v", desc.GetPendingActivities())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// velaflow runs the CLI against this stack's server.
func (d *durableStack) velaflow(timeout time.Duration, args ...string) (string, string, int) {
	d.t.Helper()
	out, errOut, code, err := runCLI(time.Now().Add(timeout), d.address, "", args...)
	if errors.Is(err, context.DeadlineExceeded) {
		return out, errOut + "\n(timed out)", -1
	} else if err != nil {
		d.t.Fatalf("velaflow %v: %v", args, err)
	}
	return out, errOut, code
}

// eventually polls the run's status until cond holds. A status query can
// fail for a while after a restart (the worker replays the run); those
// failures are retried.
func (d *durableStack) eventually(what string, cond func(*workflows.Status) bool) *workflows.Status {
	d.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var last string
	for {
		out, errOut, code := d.velaflow(20*time.Second, "status", "durable", "-o", "json")
		if code == 0 {
			var obj runs.Object
			require.NoError(d.t, json.Unmarshal([]byte(out), &obj), out)
			if cond(obj.Status) {
				return obj.Status
			}
			last = out
		} else {
			last = fmt.Sprintf("status exit %d: %s", code, errOut)
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("run durable: timed out waiting until %s; last status:\n%s", what, last)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

func forEachStatus(steps []workflows.StepStatus, fn func(workflows.StepStatus)) {
	for _, s := range steps {
		fn(s)
		forEachStatus(s.SubSteps, fn)
	}
}

func since(t0 time.Time) time.Duration { return time.Since(t0).Round(time.Millisecond) }

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestWorkerKilledAfterTwoPostsRepeatsNeither kills -9 the worker right
// after a step's second POST, while the GET after it is held: each POST's
// memo reached the server before the next request was sent (the SDK's own
// heartbeats would have held the second one back until the end of their
// batching window), so the retry on the restarted worker sends neither
// POST again.
func TestWorkerKilledAfterTwoPostsRepeatsNeither(t *testing.T) {
	svc := newHoldingService()
	httpSrv := httptest.NewServer(svc)
	defer httpSrv.Close()
	defer svc.release()

	d := newDurableStack(t)
	d.startServer()
	d.startWorker()
	run := writeFile(t, "two-posts.yaml", fmt.Sprintf(`
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: durable}
spec:
  workflowSpec:
    steps:
      - name: order
        type: order-and-pay
        properties: {url: "%s"}
        outputs: [{name: state, valueFrom: state}]
`, httpSrv.URL))
	defs := writeFile(t, "two-posts-defs.yaml", `
apiVersion: core.oam.dev/v1beta1
kind: WorkflowStepDefinition
metadata: {name: order-and-pay}
spec:
  schematic:
    cue:
      template: |
        import "vela/http"
        parameter: url: string
        order: http.#HTTPPost & {$params: {url: "\(parameter.url)/orders", request: body: "{}"}}
        pay: http.#HTTPPost & {$params: {url: "\(parameter.url)/payments?order=\(order.$returns.statusCode)", request: body: "{}"}}
        get: http.#HTTPGet & {$params: url: "\(parameter.url)/orders/7?paid=\(pay.$returns.statusCode)"}
        state: get.$returns.body
`)
	out, errOut, code := d.velaflow(30*time.Second, "run", "-f", run, "--definitions", defs)
	require.Equal(t, 0, code, "run: %s %s", out, errOut)

	svc.waitHeld(t) // both POSTs are done; no waiting for a heartbeat
	d.kill("worker")
	d.startWorker()
	svc.release()

	st := d.eventually("the run finished", func(st *workflows.Status) bool { return st.Finished })
	assert.Equal(t, workflows.RunSucceeded, st.Phase, "%+v", st)
	assert.EqualValues(t, 1, svc.count("POST /orders"), "requests: %v", svc.snapshot())
	assert.EqualValues(t, 1, svc.count("POST /payments"), "the second POST is not repeated either; requests: %v", svc.snapshot())
	assert.GreaterOrEqual(t, svc.count("GET /orders/7"), 2, "the retry sends the GET again")
}
