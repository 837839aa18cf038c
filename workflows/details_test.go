package workflows

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDetailsShortRunListsEveryStep(t *testing.T) {
	steps := []StepStatus{
		{Name: "build", Type: "apply-job", Phase: StepSucceeded},
		{Name: "prewarm", Type: "step-group", Phase: StepRunning, SubSteps: []StepStatus{
			{Name: "shanghai", Type: "apply", Phase: StepRunning, Reason: "Wait", Message: "a|b"},
			{Name: "us-west", Type: "apply", Phase: StepSucceeded},
		}},
		{Name: "notify", Type: "notification", Phase: StepPending},
	}
	assert.Equal(t, "1 of 3 steps done; now at prewarm", progressLine(steps))
	assert.Equal(t, []string{
		"| build | apply-job | succeeded |  |",
		"| prewarm | step-group | running |  |",
		`| ↳ shanghai | apply | running (Wait) | a\|b |`,
		"| ↳ us-west | apply | succeeded |  |",
		"| notify | notification | pending |  |",
	}, detailTable(steps))
}

func TestDetailsLongRunFoldsFinishedSteps(t *testing.T) {
	var steps []StepStatus
	for i := range 30 {
		phase := StepSucceeded
		switch {
		case i == 12:
			phase = StepFailed
		case i == 25:
			phase = StepRunning
		case i > 25:
			phase = StepPending
		}
		steps = append(steps, StepStatus{Name: fmt.Sprintf("s%d", i), Type: "noop", Phase: phase})
	}
	assert.Equal(t, "25 of 30 steps done, 1 failed; now at s25", progressLine(steps))
	rows := detailTable(steps)
	require.LessOrEqual(t, len(rows), detailRows, strings.Join(rows, "\n"))
	assert.Equal(t, []string{
		"| s0 … s11 | | 12 steps succeeded or skipped | |",
		"| s12 | noop | failed |  |",
		"| s13 … s24 | | 12 steps succeeded or skipped | |",
		"| s25 | noop | running |  |",
		"| s26 | noop | pending |  |",
		"| s27 | noop | pending |  |",
		"| s28 | noop | pending |  |",
		"| s29 | noop | pending |  |",
	}, rows)
}
