package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/velaflow/velaflow/workflows"
)

// A run's status drawn for people: a tree of steps and sub-steps, each
// with a symbol and colour for its phase, its start, how long it took (or
// has been going), and what it waits on.

// palette styles a phase; the zero palette writes plain text.
type palette struct {
	r *lipgloss.Renderer
}

// newPalette colours for w unless told not to (--no-color, NO_COLOR) or
// w is not a terminal.
func newPalette(w io.Writer, noColor bool) palette {
	r := lipgloss.NewRenderer(w)
	if noColor || os.Getenv("NO_COLOR") != "" {
		r.SetColorProfile(termenv.Ascii)
	}
	return palette{r: r}
}

var phaseLooks = map[string]struct {
	symbol string
	color  string
}{
	workflows.StepSucceeded:   {"✔", "2"},
	workflows.StepFailed:      {"✘", "1"},
	workflows.StepSkipped:     {"⊘", "8"},
	workflows.StepRunning:     {"●", "6"},
	workflows.StepSuspending:  {"⏸", "3"},
	workflows.StepPending:     {"○", "8"},
	workflows.RunExecuting:    {"●", "6"},
	workflows.RunInitializing: {"●", "6"},
	workflows.RunTerminated:   {"■", "1"},
}

// phase is "<symbol> <phase>", coloured.
func (p palette) phase(phase string) string {
	look, ok := phaseLooks[phase]
	if !ok {
		look.symbol = "?"
	}
	text := look.symbol + " " + phase
	if p.r == nil || look.color == "" {
		return text
	}
	return p.r.NewStyle().Foreground(lipgloss.Color(look.color)).Render(text)
}

func (p palette) dim(s string) string {
	if p.r == nil || s == "" {
		return s
	}
	return p.r.NewStyle().Faint(true).Render(s)
}

func (p palette) bold(s string) string {
	if p.r == nil {
		return s
	}
	return p.r.NewStyle().Bold(true).Render(s)
}

// renderRun draws the run at now, width columns wide (0: no limit).
func renderRun(p palette, ns, name string, st *workflows.Status, now time.Time, width int) string {
	var b strings.Builder
	head := fmt.Sprintf("%s  %s  %s", p.bold("Run "+ns+"/"+name), p.phase(st.Phase), runElapsed(st, now))
	b.WriteString(head + "\n")
	if st.Suspend && !st.Finished {
		b.WriteString(p.dim(fmt.Sprintf("  suspended: resume it with `velaflow resume %s -n %s`", name, ns)) + "\n")
	}
	rows := stepRows(st.Steps, "", now)
	cols := columnWidths(rows)
	for _, r := range rows {
		line := "  " + pad(r.name, cols[0]) + "  " + pad(r.typ, cols[1]) + "  " + p.phase(r.phase) +
			strings.Repeat(" ", cols[2]-len([]rune(r.phase))) + "  " + pad(r.start, cols[3]) + "  " + pad(r.took, cols[4])
		rest := strings.TrimSpace(strings.Join(nonEmpty(r.reason, r.wait, r.message), "  "))
		if rest != "" {
			line += "  " + rest
		}
		b.WriteString(clip(line, width) + "\n")
	}
	return b.String()
}

// stepRow is one step's line, unstyled.
type stepRow struct {
	name, typ, phase, start, took, reason, wait, message string
}

func stepRows(steps []workflows.StepStatus, indent string, now time.Time) []stepRow {
	var out []stepRow
	for _, s := range steps {
		r := stepRow{name: indent + s.Name, typ: s.Type, phase: s.Phase, reason: s.Reason, message: oneLine(s.Message)}
		if s.FirstExecuteTime != nil {
			r.start = s.FirstExecuteTime.Local().Format("15:04:05")
			switch {
			case s.Finished() && s.LastExecuteTime != nil:
				r.took = duration(s.LastExecuteTime.Sub(*s.FirstExecuteTime))
			case !s.Finished():
				r.took = duration(now.Sub(*s.FirstExecuteTime)) + "…"
			}
		}
		if s.Until != nil && !s.Finished() {
			r.wait = waitText(s, now)
		}
		out = append(out, r)
		out = append(out, stepRows(s.SubSteps, indent+"  ", now)...)
	}
	return out
}

// waitText says what a step waits on: its backoff, or a suspension with
// an end.
func waitText(s workflows.StepStatus, now time.Time) string {
	left := s.Until.Sub(now)
	if left < 0 {
		left = 0
	}
	if s.Phase == workflows.StepSuspending {
		return fmt.Sprintf("suspended until %s", s.Until.Local().Format("15:04:05"))
	}
	return fmt.Sprintf("next check in %s", duration(left))
}

func columnWidths(rows []stepRow) [5]int {
	w := [5]int{len("STEP"), 0, 0, 0, 0}
	for _, r := range rows {
		for i, v := range []string{r.name, r.typ, r.phase, r.start, r.took} {
			if n := len([]rune(v)); n > w[i] {
				w[i] = n
			}
		}
	}
	w[2] += 2 // the symbol and its space
	return w
}

func runElapsed(st *workflows.Status, now time.Time) string {
	if st.StartTime.IsZero() {
		return ""
	}
	if st.EndTime != nil {
		return duration(st.EndTime.Sub(st.StartTime))
	}
	return duration(now.Sub(st.StartTime))
}

// summary is the one line a finished run ends with.
func summary(ns, name string, st *workflows.Status) string {
	s := fmt.Sprintf("run %s/%s %s", ns, name, st.Phase)
	if st.EndTime != nil {
		s += " in " + duration(st.EndTime.Sub(st.StartTime))
	}
	var failed []string
	forEachStep(st.Steps, "", func(x workflows.StepStatus, _ string) {
		if x.Phase == workflows.StepFailed && len(x.SubSteps) == 0 {
			failed = append(failed, fmt.Sprintf("%s (%s)", x.Name, x.Reason))
		}
	})
	if len(failed) > 0 {
		s += "; failed: " + strings.Join(failed, ", ")
	}
	if st.Message != "" && st.Phase != workflows.RunSucceeded {
		s += ": " + st.Message
	}
	return s
}

// duration is short: 850ms, 4.2s, 3m05s, 1h02m.
func duration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}

func pad(s string, n int) string {
	if k := len([]rune(s)); k < n {
		return s + strings.Repeat(" ", n-k)
	}
	return s
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// clip cuts a line to width printable columns.
func clip(line string, width int) string {
	if width <= 0 || lipgloss.Width(line) <= width {
		return line
	}
	return lipgloss.NewStyle().MaxWidth(width).Render(line)
}
