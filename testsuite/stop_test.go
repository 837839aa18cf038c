package testsuite

import (
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/velaflow/velaflow/workflows"
)

// A worker sent SIGTERM while a step's execution waits on a service stops
// polling, lets the execution finish and exits: the step is not failed,
// nothing is sent twice, and the next worker carries the run on.
func TestSIGTERMLetsTheExecutionUnderWayFinish(t *testing.T) {
	svc := newHoldingService()
	httpSrv := httptest.NewServer(svc)
	defer httpSrv.Close()
	defer svc.release()

	d := newDurableStack(t)
	d.startServer()
	d.startWorker()
	d.startOrderRun(httpSrv.URL, `      - {name: after, type: print-message-in-status, properties: {message: "carried on"}}
`)
	svc.waitHeld(t)
	p := d.procs["worker"]
	require.NoError(t, syscall.Kill(p.cmd.Process.Pid, syscall.SIGTERM))
	waitForLog(t, p, "stopping: executions under way")
	select {
	case <-p.done:
		t.Fatalf("the worker exited while its execution was under way; log %s", p.log)
	default:
	}
	svc.release()
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("the worker did not exit after its execution finished; log %s", p.log)
	}
	assert.Equal(t, 0, p.cmd.ProcessState.ExitCode(), "a graceful stop exits 0")
	delete(d.procs, "worker")
	p.file.Close()

	d.startWorker()
	st := d.eventually("the run finished", func(st *workflows.Status) bool { return st.Finished })
	assert.Equal(t, workflows.RunSucceeded, st.Phase)
	step := stepOf(st, "order")
	assert.Equal(t, workflows.StepSucceeded, step.Phase, "%s %s", step.Reason, step.Message)
	assert.Equal(t, "carried on", stepOf(st, "after").Message)
	assert.EqualValues(t, 1, svc.count("POST /orders"), "sent once")
	assert.EqualValues(t, 1, svc.count("GET /orders/7"), "the execution under way finished: no retry")
}

// waitForLog waits until the process's log holds text.
func waitForLog(t *testing.T, p *killableProc, text string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(p.log)
		if strings.Contains(string(b), text) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q never appeared in %s:\n%s", text, p.log, b)
		}
		time.Sleep(50 * time.Millisecond) // polling a log file; nothing to wait on
	}
}
