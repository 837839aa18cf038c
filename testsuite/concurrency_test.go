package testsuite

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/velaflow/velaflow/workflows"
)

// occupancy records runs entering and leaving their critical section:
// how many were inside at once, and in which order they entered. A run
// whose request is sent again (a worker died meanwhile) counts once.
type occupancy struct {
	mu            sync.Mutex
	inside, most  int
	order         []string
	entered, left map[string]bool
}

func (o *occupancy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	defer o.mu.Unlock()
	run := r.URL.Query().Get("run")
	switch r.URL.Path {
	case "/enter":
		if !o.entered[run] {
			o.entered[run] = true
			o.order = append(o.order, run)
			o.inside++
			o.most = max(o.most, o.inside)
		}
	case "/leave":
		if o.entered[run] && !o.left[run] {
			o.left[run] = true
			o.inside--
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte("{}"))
}

func (o *occupancy) snapshot() (entered, left, most int, order []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.entered), len(o.left), o.most, append([]string(nil), o.order...)
}

const concurrentRun = `apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata:
  name: %[1]s
  namespace: %[2]s
spec:
  context: {app: shop}
  concurrency:
    key: release-\(context.app)
    policy: %[4]s
  workflowSpec:
    steps:
      - name: enter
        type: request
        properties: {url: "%[3]s/enter?run=%[1]s"}
      - name: work
        type: suspend
        properties: {duration: 300ms}
      - name: leave
        type: request
        properties: {url: "%[3]s/leave?run=%[1]s"}
`

func startWorkerProcess(t *testing.T, queue string) *exec.Cmd {
	t.Helper()
	w := exec.Command(shared.cli, "--address", shared.address, "--task-queue", queue, "worker", "--metrics-listen", "")
	w.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, w.Start())
	t.Cleanup(func() { _ = syscall.Kill(-w.Process.Pid, syscall.SIGKILL); _ = w.Wait() })
	return w
}

// Twenty runs with the same concurrency key and policy Queue, started one
// after another: never two inside at once, each waits as pending naming
// the holder, they run in the order they came, and none is lost when the
// worker is killed halfway.
func TestConcurrencyQueue(t *testing.T) {
	const ns, queue, n = "conc-queue", "velaflow-concurrency", 20
	occ := &occupancy{entered: map[string]bool{}, left: map[string]bool{}}
	srv := httptest.NewServer(occ)
	defer srv.Close()
	worker := startWorkerProcess(t, queue)

	var names []string
	for i := range n {
		name := fmt.Sprintf("release-%02d", i)
		names = append(names, name)
		out, errOut, code, err := runCLI(deadlineIn(1), shared.address, queue, "run", "-f", writeFile(t, name+".yaml", fmt.Sprintf(concurrentRun, name, ns, srv.URL, "Queue")))
		require.NoError(t, err)
		require.Equal(t, 0, code, "%s\n%s", out, errOut)
		// In line (or holding the key) before the next one comes.
		st := shared.eventuallyIn(t, ns, name, "it holds the key or waits in line", func(s *workflows.Status) bool {
			return s.Phase == workflows.RunPending || (i == 0 && s.Phase != workflows.RunInitializing)
		})
		if i == 1 {
			assert.Contains(t, st.Message, "waiting for run "+ns+"/release-00 to finish (concurrency key "+ns+"/release-shop")
		}
		if i == n/2 {
			// Kill the worker halfway; another takes over.
			require.NoError(t, syscall.Kill(-worker.Process.Pid, syscall.SIGKILL))
			_ = worker.Wait()
			worker = startWorkerProcess(t, queue)
		}
	}
	until(t, "every run left", func() bool { _, left, _, _ := occ.snapshot(); return left == n })
	entered, _, most, order := occ.snapshot()
	assert.Equal(t, n, entered)
	assert.Equal(t, 1, most, "never two runs inside at once")
	assert.Equal(t, names, order, "they ran in the order they came")
	for _, name := range names {
		st := shared.eventuallyIn(t, ns, name, "it succeeded", func(s *workflows.Status) bool { return s.Finished })
		assert.Equal(t, workflows.RunSucceeded, st.Phase, name)
	}
}

const holdingRun = `apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata:
  name: %s
  namespace: conc-policies
spec:
  context: {app: shop}
  concurrency:
    key: deploy-\(context.app)
    policy: %s
  workflowSpec:
    steps:
      - name: hold
        type: suspend
`

// Replace terminates the holder and runs; Reject fails at once, naming
// the holder; a holder terminated by hand hands the key on to the next.
func TestConcurrencyReplaceAndReject(t *testing.T) {
	const ns = "conc-policies"
	start := func(name, policy string) {
		t.Helper()
		_, errOut, code := shared.velaflow(t, "run", "-f", writeFile(t, name+".yaml", fmt.Sprintf(holdingRun, name, policy)))
		require.Equal(t, 0, code, errOut)
	}
	suspended := func(s *workflows.Status) bool { return s.Suspend }
	start("first", "Queue")
	shared.eventuallyIn(t, ns, "first", "it holds the key", suspended)
	start("second", "Replace")
	shared.eventuallyIn(t, ns, "second", "it holds the key", suspended)
	assert.Equal(t, workflows.RunTerminated, shared.statusIn(t, ns, "first").Status.Phase, "replaced")

	start("third", "Reject")
	st := shared.eventuallyIn(t, ns, "third", "it was refused", func(s *workflows.Status) bool { return s.Finished })
	assert.Equal(t, workflows.RunFailed, st.Phase)
	assert.Equal(t, "rejected: run "+ns+"/second holds concurrency key "+ns+"/deploy-shop (policy Reject)", st.Message)
	assert.Equal(t, workflows.StepPending, st.Steps[0].Phase, "its steps never ran")

	start("fourth", "Queue")
	shared.eventuallyIn(t, ns, "fourth", "it waits", func(s *workflows.Status) bool { return s.Phase == workflows.RunPending })
	// Terminated by Temporal, the holder says nothing; the lock finds out
	// when it checks on it.
	require.NoError(t, shared.client.TerminateWorkflow(context.Background(), ns+"/second", "", "by hand"))
	shared.eventuallyIn(t, ns, "fourth", "it holds the key", suspended)
	_, errOut, code := shared.velaflow(t, "resume", "fourth", "-n", ns)
	require.Equal(t, 0, code, errOut)
	st = shared.eventuallyIn(t, ns, "fourth", "it succeeded", func(s *workflows.Status) bool { return s.Finished })
	assert.Equal(t, workflows.RunSucceeded, st.Phase)
	assert.False(t, strings.Contains(st.Message, "waiting"), st.Message)
	recordHistories(t, ns+"/fourth", "engine-six-queued")
	recordHistories(t, "velaflow-lock/"+ns+"/deploy-shop", "lock")
}
