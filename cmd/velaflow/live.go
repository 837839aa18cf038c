package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/term"

	"github.com/velaflow/velaflow/workflows"
)

// progress shows a run as it goes: redrawn in place on a terminal,
// appended lines otherwise (a pipe, a CI log, --no-color).
type progress interface {
	update(st *workflows.Status)
	// finish draws the final status and the one-line summary.
	finish(st *workflows.Status)
}

func newProgress(ctx context.Context, w io.Writer, ns, name string, noColor bool) progress {
	if f, ok := w.(*os.File); ok && !noColor && term.IsTerminal(f.Fd()) {
		return startLive(ctx, f, ns, name)
	}
	return &lines{w: w, ns: ns, name: name, seen: map[string]string{}}
}

// lines writes a line for each change of a step, and of the run's
// suspension.
type lines struct {
	w        io.Writer
	ns, name string
	seen     map[string]string
	suspend  bool
}

func (l *lines) update(st *workflows.Status) {
	if st.Suspend != l.suspend && !st.Finished {
		l.suspend = st.Suspend
		if st.Suspend {
			fmt.Fprintf(l.w, "run %s/%s suspended (velaflow resume %s -n %s)\n", l.ns, l.name, l.name, l.ns)
		} else {
			fmt.Fprintf(l.w, "run %s/%s resumed\n", l.ns, l.name)
		}
	}
	forEachStep(st.Steps, "", func(s workflows.StepStatus, indent string) {
		line := fmt.Sprintf("%-10s %-10s %s", s.Phase, s.Reason, oneLine(s.Message))
		if l.seen[s.Name] == line {
			return
		}
		l.seen[s.Name] = line
		if s.Phase != workflows.StepPending {
			fmt.Fprintf(l.w, "  %-24s %s\n", indent+s.Name, line)
		}
	})
}

func (l *lines) finish(st *workflows.Status) {
	l.update(st)
	fmt.Fprintln(l.w, summary(l.ns, l.name, st))
}

// live redraws the run's tree in place: each frame moves the cursor
// back over the previous one and erases it (charmbracelet/x/ansi). It
// redraws every second too, so elapsed times and waits count on.
type live struct {
	out      *os.File
	p        palette
	ns, name string

	mu     sync.Mutex
	st     *workflows.Status
	height int // lines of the frame on screen
	stop   chan struct{}
	done   chan struct{}
}

func startLive(ctx context.Context, f *os.File, ns, name string) *live {
	l := &live{out: f, p: newPalette(f, false), ns: ns, name: name, stop: make(chan struct{}), done: make(chan struct{})}
	fmt.Fprint(f, ansi.HideCursor)
	interrupted := make(chan os.Signal, 1)
	signal.Notify(interrupted, os.Interrupt, syscall.SIGTERM)
	go func() {
		defer close(l.done)
		defer signal.Stop(interrupted)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-interrupted: // the cursor comes back; the run goes on
				fmt.Fprint(f, ansi.ShowCursor+"\r\n")
				os.Exit(130)
			case <-t.C:
				l.draw()
			case <-ctx.Done():
				return
			case <-l.stop:
				return
			}
		}
	}()
	return l
}

func (l *live) update(st *workflows.Status) {
	l.mu.Lock()
	l.st = st
	l.mu.Unlock()
	l.draw()
}

// draw replaces the frame on screen with the current one.
func (l *live) draw() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.st == nil {
		return
	}
	width, _, err := term.GetSize(l.out.Fd())
	if err != nil {
		width = 0
	}
	frame := renderRun(l.p, l.ns, l.name, l.st, time.Now(), width)
	var b strings.Builder
	if l.height > 0 {
		b.WriteString("\r" + ansi.CursorUp(l.height))
	}
	b.WriteString(ansi.EraseScreenBelow)
	b.WriteString(strings.ReplaceAll(frame, "\n", "\r\n"))
	fmt.Fprint(l.out, b.String())
	l.height = strings.Count(frame, "\n")
}

func (l *live) finish(st *workflows.Status) {
	close(l.stop)
	<-l.done
	l.update(st)
	fmt.Fprint(l.out, ansi.ShowCursor)
	fmt.Fprintln(l.out, summary(l.ns, l.name, st))
}
