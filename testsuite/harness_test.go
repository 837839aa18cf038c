package testsuite

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/velaflow/velaflow/localstack/devstack"
	"github.com/velaflow/velaflow/runs"
	"github.com/velaflow/velaflow/worker"
	"github.com/velaflow/velaflow/workflows"
)

// stack is a real Temporal dev server, an in-process worker, and the
// velaflow CLI binary, shared by the end-to-end tests of this package.
type stack struct {
	server  *testsuite.DevServer
	client  client.Client
	cli     string // path of the built velaflow binary
	address string
}

var shared *stack

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	s, cleanup, err := startStack()
	if err != nil {
		fmt.Fprintf(os.Stderr, "testsuite: cannot start the end-to-end stack: %v\n", err)
		return 1
	}
	defer cleanup()
	shared = s
	return m.Run()
}

func startStack() (*stack, func(), error) {
	root, err := repoRoot()
	if err != nil {
		return nil, nil, err
	}
	temporal := filepath.Join(root, "bin", "temporal")
	if _, err := os.Stat(temporal); err != nil {
		return nil, nil, fmt.Errorf("%s is missing: run `make temporal` (make test does) to build the Temporal CLI", temporal)
	}
	tmp, err := os.MkdirTemp("", "velaflow-e2e-")
	if err != nil {
		return nil, nil, err
	}
	cli := filepath.Join(tmp, "velaflow")
	build := exec.Command("go", "build", "-o", cli, "./cmd/velaflow")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, nil, fmt.Errorf("build the CLI: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := devstack.Start(ctx, devstack.Options{TemporalPath: temporal})
	if err != nil {
		return nil, nil, fmt.Errorf("start the Temporal dev server: %w", err)
	}
	w := worker.New(srv.Client(), worker.Options{Engine: harnessEngine(), RootCAs: testCA.pool})
	if err := w.Start(); err != nil {
		srv.Stop()
		return nil, nil, err
	}
	s := &stack{server: srv, client: srv.Client(), cli: cli, address: srv.FrontendHostPort()}
	return s, func() {
		stopBed()
		w.Stop()
		srv.Stop()
		os.RemoveAll(tmp)
	}, nil
}

// harnessEngine is the engine of the test workers: short backoffs, and 3
// executions before FailedAfterRetries, so tests stay fast.
func harnessEngine() workflows.Config {
	cfg := workflows.DefaultConfig()
	cfg.WaitBackoffInitial, cfg.WaitBackoffMax = 200*time.Millisecond, time.Second
	cfg.RetryInitial, cfg.RetryMax, cfg.MaxStepErrorRetries = 100*time.Millisecond, 200*time.Millisecond, 3
	return cfg
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// velaflow runs the CLI against the test server; it returns stdout, stderr
// and the exit code.
func (s *stack) velaflow(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	out, errOut, code, err := runCLI(time.Now().Add(2*time.Minute), s.address, "", args...)
	if err != nil {
		t.Fatalf("velaflow %v: %v", args, err)
	}
	return out, errOut, code
}

// runCLI runs the velaflow binary against a server (and a task queue, if
// given) until the deadline. err is context.DeadlineExceeded when the
// deadline cut it short (code -1), or why it could not run.
func runCLI(deadline time.Time, address, queue string, args ...string) (stdout, stderr string, code int, err error) {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	global := []string{"--address", address}
	if queue != "" {
		global = append(global, "--task-queue", queue)
	}
	cmd := exec.CommandContext(ctx, shared.cli, append(global, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	if ctx.Err() != nil {
		return out.String(), errb.String(), -1, ctx.Err()
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return out.String(), errb.String(), ee.ExitCode(), nil
	}
	return out.String(), errb.String(), 0, err
}

// status reads a run's status through the CLI's JSON output.
func (s *stack) status(t *testing.T, name string) *runs.Object {
	t.Helper()
	out, errOut, code := s.velaflow(t, "status", name, "-o", "json")
	require.Equal(t, 0, code, "status %s: %s", name, errOut)
	var obj runs.Object
	require.NoError(t, json.Unmarshal([]byte(out), &obj), out)
	return &obj
}

// statusIn reads the status of a run in a namespace.
func (s *stack) statusIn(t *testing.T, ns, name string) *runs.Object {
	t.Helper()
	out, errOut, code := s.velaflow(t, "status", name, "-n", ns, "-o", "json")
	require.Equal(t, 0, code, "status %s/%s: %s", ns, name, errOut)
	var obj runs.Object
	require.NoError(t, json.Unmarshal([]byte(out), &obj), out)
	return &obj
}

// eventually polls the run's status until cond holds.
func (s *stack) eventually(t *testing.T, name, what string, cond func(*workflows.Status) bool) *workflows.Status {
	t.Helper()
	return s.eventuallyIn(t, "default", name, what, cond)
}

// eventuallyIn is eventually for a run of a namespace.
func (s *stack) eventuallyIn(t *testing.T, ns, name, what string, cond func(*workflows.Status) bool) *workflows.Status {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		obj := s.statusIn(t, ns, name)
		if cond(obj.Status) {
			return obj.Status
		}
		if time.Now().After(deadline) {
			b, _ := json.MarshalIndent(obj.Status, "", "  ")
			t.Fatalf("run %s: timed out waiting until %s; status:\n%s", name, what, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(strings.TrimLeft(content, "\n")), 0o644))
	return p
}

func stepOf(st *workflows.Status, name string) workflows.StepStatus {
	for _, s := range st.Steps {
		if s.Name == name {
			return s
		}
	}
	return workflows.StepStatus{}
}
