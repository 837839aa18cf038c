package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"
)

// detailRows is how many table rows the Web UI shows without scrolling
// its details frame; a longer run folds its finished steps.
const detailRows = 20

// showDetails sets the run's current details, which the Web UI shows on
// the run's page: where it is now, as a table of its steps, and how to
// resume it when it waits for that. Not recorded in history.
func (r *run) showDetails(ctx workflow.Context) {
	workflow.SetCurrentDetails(ctx, r.details())
}

func (r *run) details() string {
	var b strings.Builder
	st := r.status
	fmt.Fprintf(&b, "**%s**", st.Phase)
	if st.Suspend && !st.Finished {
		name := r.plan.Name
		fmt.Fprintf(&b, ": waits for a resume (`velaflow resume %s -n %s`, or the `%s` signal)", name, r.plan.Namespace, SignalResume)
	}
	if st.Message != "" {
		fmt.Fprintf(&b, " — %s", mdCell(st.Message))
	}
	b.WriteString("\n\n" + progressLine(st.Steps) + "\n")
	b.WriteString("\n| step | type | phase | message |\n| --- | --- | --- | --- |\n")
	for _, row := range detailTable(st.Steps) {
		b.WriteString(row + "\n")
	}
	return b.String()
}

// progressLine says how far the run is and which steps it is at, first,
// so that it shows however little of the details the page has room for.
func progressLine(steps []StepStatus) string {
	done, failed := 0, 0
	var now []string
	for _, s := range steps {
		switch s.Phase {
		case StepSucceeded, StepSkipped:
			done++
		case StepFailed:
			done++
			failed++
		case StepRunning, StepSuspending:
			now = append(now, s.Name)
		}
	}
	line := fmt.Sprintf("%d of %d steps done", done, len(steps))
	if failed > 0 {
		line += fmt.Sprintf(", %d failed", failed)
	}
	if len(now) > 0 {
		line += "; now at " + strings.Join(now, ", ")
	}
	return line
}

// detailTable is a row per step and sub-step. When there are more than
// detailRows, runs of finished top-level steps fold into one row each.
func detailTable(steps []StepStatus) []string {
	var rows []string
	var add func(s StepStatus, indent string)
	add = func(s StepStatus, indent string) {
		phase := s.Phase
		if s.Reason != "" {
			phase += " (" + s.Reason + ")"
		}
		rows = append(rows, fmt.Sprintf("| %s%s | %s | %s | %s |", indent, s.Name, s.Type, phase, mdCell(oneLine(s.Message, 120))))
		for _, sub := range s.SubSteps {
			add(sub, indent+"↳ ")
		}
	}
	all := 0
	var count func([]StepStatus)
	count = func(ss []StepStatus) {
		for _, s := range ss {
			all++
			count(s.SubSteps)
		}
	}
	count(steps)
	fold := all > detailRows
	for i := 0; i < len(steps); i++ {
		if fold && settled(steps[i]) {
			j := i
			for j < len(steps) && settled(steps[j]) {
				j++
			}
			if j-i > 1 {
				rows = append(rows, fmt.Sprintf("| %s … %s | | %d steps succeeded or skipped | |", steps[i].Name, steps[j-1].Name, j-i))
				i = j - 1
				continue
			}
		}
		add(steps[i], "")
	}
	return rows
}

// settled: a step that finished well, which a long run folds away.
func settled(s StepStatus) bool {
	return s.Phase == StepSucceeded || s.Phase == StepSkipped
}

func mdCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func oneLine(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
