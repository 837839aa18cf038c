package testsuite

import (
	"bytes"
	"errors"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runOnTerminal runs the CLI with a pseudo-terminal as its stdout and
// returns all it wrote.
func runOnTerminal(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(shared.cli, append([]string{"--address", shared.address}, args...)...)
	// A terminal as a person has it: CI set (as .ci/run sets it) means
	// no colour to the terminal library.
	for _, e := range cmd.Environ() {
		if !strings.HasPrefix(e, "CI=") && !strings.HasPrefix(e, "TERM=") && !strings.HasPrefix(e, "NO_COLOR=") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	cmd.Env = append(cmd.Env, "TERM=xterm-256color")
	cmd.Env = append(cmd.Env, env...)
	f, tty, err := pty.Open()
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, pty.Setsize(f, &pty.Winsize{Rows: 40, Cols: 160}))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	// The terminal becomes the CLI's controlling terminal (its stdin, fd 0).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	require.NoError(t, cmd.Start())
	tty.Close()
	var out bytes.Buffer
	_, err = io.Copy(&out, f)
	// Reading a pty whose other end closed ends in EIO.
	if err != nil && !errors.Is(err, syscall.EIO) {
		require.NoError(t, err)
	}
	code := 0
	var ee *exec.ExitError
	if err := cmd.Wait(); errors.As(err, &ee) {
		code = ee.ExitCode()
	}
	return out.String(), code
}

const liveRun = `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata:
  name: %s
spec:
  workflowSpec:
    steps:
      - name: hello
        type: print-message-in-status
        properties: {message: hello}
      - name: nap
        type: suspend
        properties: {duration: 1s}
      - name: regions
        type: step-group
        subSteps:
          - name: east
            type: print-message-in-status
            properties: {message: east is warm}
          - name: west
            type: suspend
            properties: {duration: 1s}
      - name: bye
        type: print-message-in-status
        properties: {message: bye}
`

var cursorUp = regexp.MustCompile(`\x1b\[\d+A`)

// On a terminal, run --wait redraws a tree of the steps in place (the
// sub-steps under their group), in colour, and ends with a one-line
// summary.
func TestLiveViewOnATerminal(t *testing.T) {
	file := writeFile(t, "live.yaml", strings.Replace(liveRun, "%s", "live-tty", 1))
	out, code := runOnTerminal(t, nil, "run", "-f", file, "--wait")
	require.Equal(t, 0, code, out)
	assert.Regexp(t, cursorUp, out, "the view is redrawn in place")
	assert.Contains(t, out, "\x1b[32m", "succeeded is green")
	plain := ansi.Strip(out)
	final := plain[strings.LastIndex(plain, "Run default/live-tty"):]
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`Run default/live-tty\s+✔ succeeded`),
		regexp.MustCompile(`\n\s+hello\s+print-message-in-status\s+✔ succeeded\s+\d\d:\d\d:\d\d\s+\S+\s+hello`),
		regexp.MustCompile(`\n\s+nap\s+suspend\s+✔ succeeded\s+\d\d:\d\d:\d\d\s+1\.\ds`),
		regexp.MustCompile(`\n\s+regions\s+step-group\s+✔ succeeded`),
		regexp.MustCompile(`\n\s{4}east\s+print-message-in-status\s+✔ succeeded.*east is warm`),
		regexp.MustCompile(`\n\s{4}west\s+suspend\s+✔ succeeded`),
		regexp.MustCompile(`run default/live-tty succeeded in \d+\.\ds`),
	} {
		assert.Regexp(t, want, final)
	}
	// While it ran, the view showed the suspension and what it waits for.
	assert.Regexp(t, `⏸ suspending.*suspended until \d\d:\d\d:\d\d`, plain)
}

// Without colour (NO_COLOR, --no-color) or off a terminal, the progress is
// plain lines, one per change, with no escape sequences.
func TestLiveViewPlain(t *testing.T) {
	file := writeFile(t, "plain.yaml", strings.Replace(liveRun, "%s", "live-plain", 1))
	out, code := runOnTerminal(t, []string{"NO_COLOR=1"}, "run", "-f", file, "--wait")
	require.Equal(t, 0, code, out)
	assert.NotContains(t, out, "\x1b[", "no escape sequences")
	assert.Regexp(t, `(?m)^  hello\s+succeeded\s+hello\r?$`, out)
	assert.Regexp(t, `(?m)^    east\s+succeeded\s+east is warm\r?$`, out)
	assert.Regexp(t, `(?m)^run default/live-plain succeeded in \d+\.\ds\r?$`, out)

	piped, errOut, code := shared.velaflow(t, "status", "live-plain", "--watch")
	require.Equal(t, 0, code, errOut)
	assert.NotContains(t, piped, "\x1b[")
	assert.Contains(t, piped, "run default/live-plain succeeded in ")
}
