package testsuite

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
)

const shoutDefinition = `import "vela/builtin"

"shout": {
	type:        "workflow-step"
	description: "Say it louder."
}
template: {
	parameter: {
		// +usage=What to say
		words: string
	}
	say: builtin.#Message & {$params: message: parameter.words + "!"}
}
`

const shoutRun = `apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata:
  name: %s
spec:
  workflowSpec:
    steps:
      - name: loud
        type: shout
        properties: {words: hello}
`

// A step type registered on the worker (--definitions) needs no
// --definitions on every run: run asks a worker of the task queue, and
// def list --worker shows it. A type nobody knows, defined in a folder
// beside the run's file, is an error saying to pass --definitions.
func TestWorkerServesItsStepTypes(t *testing.T) {
	dir := t.TempDir()
	defs := filepath.Join(dir, "defs")
	require.NoError(t, os.MkdirAll(defs, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(defs, "shout.cue"), []byte(shoutDefinition), 0o644))
	run := filepath.Join(dir, "run.yaml")
	require.NoError(t, os.WriteFile(run, []byte(sprintf(shoutRun, "shouted")), 0o644))

	// No worker serves shout on the shared task queue: the error says
	// where the definition is.
	_, errOut, code := shared.velaflow(t, "run", "-f", run)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, `unknown step type "shout"`)
	assert.Contains(t, errOut, filepath.Join(defs, "shout.cue")+" defines it: pass --definitions "+defs)

	const queue = "velaflow-custom-types"
	w := exec.Command(shared.cli, "--address", shared.address, "--task-queue", queue, "worker", "--definitions", defs, "--metrics-listen", "")
	w.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, w.Start())
	t.Cleanup(func() { _ = syscall.Kill(-w.Process.Pid, syscall.SIGTERM); _ = w.Wait() })

	out, errOut, code, err := runCLI(deadlineIn(2), shared.address, queue, "run", "-f", run, "--wait")
	require.NoError(t, err)
	require.Equal(t, 0, code, "%s %s", out, errOut)
	assert.Contains(t, out, "loud")
	assert.Contains(t, out, "hello!")

	out, errOut, code, err = runCLI(deadlineIn(1), shared.address, queue, "def", "list", "--worker")
	require.NoError(t, err)
	require.Equal(t, 0, code, errOut)
	assert.Regexp(t, `shout\s+`+regexpQuote(filepath.Join(defs, "shout.cue"))+`\s+Say it louder\.`, out)
	assert.Contains(t, out, "request")

	// Asking leaves one workflow per task queue, not one per question.
	for range 2 {
		_, errOut, code, err = runCLI(deadlineIn(1), shared.address, queue, "cluster", "list")
		require.NoError(t, err)
		require.Equal(t, 0, code, errOut)
	}
	for query, want := range map[string]int64{
		"WorkflowType = 'ListClusters'":                                    0,
		"WorkflowId = 'velaflow-workers/" + queue + "'":                    1,
		"WorkflowType = 'VelaflowWorkers' AND TaskQueue = '" + queue + "'": 1,
	} {
		resp, err := shared.client.CountWorkflow(context.Background(), &workflowservice.CountWorkflowExecutionsRequest{Query: query})
		require.NoError(t, err)
		assert.Equal(t, want, resp.Count, query)
	}
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func deadlineIn(minutes int) time.Time { return time.Now().Add(time.Duration(minutes) * time.Minute) }

func regexpQuote(s string) string { return regexp.QuoteMeta(s) }
