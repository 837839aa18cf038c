package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"
)

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
	b.WriteString("\n\n| step | type | phase | message |\n| --- | --- | --- | --- |\n")
	var rows func(steps []StepStatus, indent string)
	rows = func(steps []StepStatus, indent string) {
		for _, s := range steps {
			phase := s.Phase
			if s.Reason != "" {
				phase += " (" + s.Reason + ")"
			}
			fmt.Fprintf(&b, "| %s%s | %s | %s | %s |\n", indent, s.Name, s.Type, phase, mdCell(oneLine(s.Message, 120)))
			rows(s.SubSteps, indent+"↳ ")
		}
	}
	rows(st.Steps, "")
	return b.String()
}

func mdCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func oneLine(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
