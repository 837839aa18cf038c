package testsuite

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/velaflow/velaflow/runs"
	"github.com/velaflow/velaflow/stepio"
	"github.com/velaflow/velaflow/workflows"
)

// tcpProxy forwards connections to a backend; down refuses new ones and
// cuts those open, up serves again on the same port.
type tcpProxy struct {
	addr, backend string
	mu            sync.Mutex
	ln            net.Listener
	conns         map[net.Conn]bool
}

func startTCPProxy(t *testing.T, backend string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &tcpProxy{addr: ln.Addr().String(), backend: backend, conns: map[net.Conn]bool{}}
	p.serve(ln)
	t.Cleanup(p.down)
	return p
}

func (p *tcpProxy) serve(ln net.Listener) {
	p.ln = ln
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.forward(c)
		}
	}()
}

func (p *tcpProxy) forward(c net.Conn) {
	b, err := net.Dial("tcp", p.backend)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[b] = true, true
	p.mu.Unlock()
	go func() { _, _ = io.Copy(b, c); b.Close() }()
	_, _ = io.Copy(c, b)
	c.Close()
}

func (p *tcpProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

func (p *tcpProxy) up(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	require.NoError(t, err)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.serve(ln)
}

// While the workers cannot reach the API server, a run started from an
// object goes on to its end; its status reaches the object once the API
// server answers again, and the run ends only then, succeeded.
func TestControllerAPIServerUnreachable(t *testing.T) {
	cb := newControllerBed(t, "ctl-unreachable")
	shanghai := cb.b.clusters["shanghai"]
	server, err := url.Parse(shanghai.Server)
	require.NoError(t, err)
	proxy := startTCPProxy(t, server.Host)

	// The workers reach the cluster as "flaky", through the proxy.
	ctx := context.Background()
	cb.b.registerCluster(t, "flaky", "https://"+proxy.addr, shanghai)
	cb.clusterName = "flaky"
	cb.start(t)

	cb.apply(t, controllerDefinition+"\n---\n"+suspendingRun("cut-off"))
	u := cb.waitStatus(t, "cut-off", "suspending", phaseIs("suspending"))
	id := fmt.Sprintf("ctl-unreachable/cut-off/%s", u.GetUID())

	proxy.down()
	out, errOut, code := cb.b.velaflow(t, "resume", "cut-off", "-n", cb.ns)
	require.Equal(t, 0, code, "%s %s", out, errOut)
	// The run finishes its steps while its object cannot be written.
	st := shared.eventuallyID(t, id, "every step succeeded", func(st *workflows.Status) bool { return st.Phase == workflows.RunSucceeded })
	assert.Equal(t, "goodbye", st.Steps[2].Message)
	assert.Equal(t, "suspending", statusOf(t, cb.get(t, "cut-off")).Phase, "the object cannot have been written")
	desc, err := shared.client.DescribeWorkflowExecution(ctx, id, "")
	require.NoError(t, err)
	assert.Equal(t, "Running", desc.WorkflowExecutionInfo.Status.String(), "the run waits until its status is out")

	proxy.up(t)
	u = cb.waitStatus(t, "cut-off", "succeeded", func(st *stepio.ObjectStatus) bool { return st.Phase == "succeeded" && st.Finished })
	assert.Equal(t, "goodbye", statusOf(t, u).Steps[2].Message)
	require.NoError(t, shared.client.GetWorkflow(ctx, id, "").Get(ctx, nil))
}

// eventuallyID polls the status query of the run with workflow ID id
// until cond holds.
func (s *stack) eventuallyID(t *testing.T, id, what string, cond func(*workflows.Status) bool) *workflows.Status {
	t.Helper()
	rc := runs.New(s.client, kubeTaskQueue)
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err := rc.StatusID(context.Background(), id)
		if err == nil && cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s: timed out waiting until %s; status: %+v, %v", id, what, st, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
