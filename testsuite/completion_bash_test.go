package testsuite

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/require"
)

// bashCompletion is Debian's bash-completion, which cobra's bash script
// builds on (make test installs it).
const bashCompletion = "/usr/share/bash-completion/bash_completion"

// interactiveBash is a bash a person types into: a pseudo-terminal, an
// interactive shell with velaflow on its PATH and its completion loaded.
type interactiveBash struct {
	t    *testing.T
	pty  *os.File
	mu   sync.Mutex
	out  bytes.Buffer
	mark int // where the output of the current line starts
}

func startBash(t *testing.T) *interactiveBash {
	t.Helper()
	if _, err := os.Stat(bashCompletion); err != nil {
		t.Fatalf("%s is missing: run `make bash-completion` (make test does)", bashCompletion)
	}
	cmd := exec.Command("bash", "--norc", "--noprofile", "-i")
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(shared.cli)+":"+os.Getenv("PATH"), "TEMPORAL_ADDRESS="+shared.address, "TERM=xterm", "PS1=$ ", "INPUTRC=/dev/null")
	f, tty, err := pty.Open()
	require.NoError(t, err)
	require.NoError(t, pty.Setsize(f, &pty.Winsize{Rows: 40, Cols: 200}))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	require.NoError(t, cmd.Start())
	tty.Close()
	b := &interactiveBash{t: t, pty: f}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			b.mu.Lock()
			b.out.Write(buf[:n])
			b.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		f.Close()
	})
	b.line(fmt.Sprintf("source %s; source <(velaflow completion bash); echo $((6*7))-ready\n", bashCompletion), "42-ready")
	return b
}

// line types keys and waits until the shell's output since then shows want.
func (b *interactiveBash) line(keys, want string) string {
	b.t.Helper()
	b.mu.Lock()
	b.mark = b.out.Len()
	b.mu.Unlock()
	_, err := io.WriteString(b.pty, keys)
	require.NoError(b.t, err)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		b.mu.Lock()
		got := b.out.String()[b.mark:]
		b.mu.Unlock()
		if strings.Contains(got, want) {
			return got
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("typed %q: the shell never showed %q; it showed:\n%s", keys, want, got)
		}
	}
}

// Completion works in a real interactive bash, as a person presses TAB:
// a run's name, a step's name, the values of -o.
func TestCompletionInBash(t *testing.T) {
	const ns = "cli-bash"
	_, errOut, code := shared.velaflow(t, "run", "-f", writeFile(t, "c.yaml", habitsRun(ns, "completed-in-bash", "        type: say-and-log\n        properties: {line: said in the middle}")), "--wait")
	require.Equal(t, 0, code, errOut)
	sh := startBash(t)

	// TAB completes the run's name, and the line then runs on that run.
	sh.line("velaflow status -n "+ns+" comp\t", "completed-in-bash ")
	sh.line("\n", "say-and-log")

	// TAB completes a step's name after --step.
	sh.line("velaflow debug completed-in-bash -n "+ns+" --step mid\t", "middle ")
	sh.line("\n", "said in the middle")

	// Two TABs list the values of -o; Ctrl-U clears the line.
	out := sh.line("velaflow list -o \t\t", "yaml")
	require.Contains(t, out, "json")
	require.Contains(t, out, "wide")
	sh.line("\x15echo $((6*7))-cleared\n", "42-cleared")
}
