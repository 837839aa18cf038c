package testsuite

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// `make run` beside a running stack (its ports busy) says so, exits
// non-zero and touches nothing: no process started, no log rewritten.
func TestMakeRunRefusesBesideARunningStack(t *testing.T) {
	root, err := repoRoot()
	require.NoError(t, err)
	l, err := net.Listen("tcp", "127.0.0.1:8233") // the first stack's Web UI
	if err == nil {
		defer l.Close()
	} // else something holds it already, which is the case under test too
	logPath := filepath.Join(root, "velaflow-dev.log")
	before, statErr := os.Stat(logPath)

	cmd := exec.Command("bash", filepath.Join(root, "localstack/dev/run.sh"))
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "%s", out)
	assert.Equal(t, 1, ee.ExitCode())
	assert.Contains(t, string(out), "is in use (is another velaflow stack running?")
	assert.Contains(t, string(out), "nothing was started")
	after, afterErr := os.Stat(logPath)
	if statErr == nil {
		require.NoError(t, afterErr)
		assert.Equal(t, before.ModTime(), after.ModTime(), "the first stack's log is untouched")
	} else {
		assert.True(t, os.IsNotExist(afterErr), "no log was written")
	}
}
