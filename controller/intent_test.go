package controller

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/velaflow/velaflow/stepio"
	"github.com/velaflow/velaflow/workflows"
)

// The run's own writes ask for nothing; each of KubeVela's operations, as
// its tooling writes it, asks for one thing.
func TestDecide(t *testing.T) {
	for _, c := range []struct {
		name string
		st   *stepio.ObjectStatus
		want intent
	}{
		{"new object", nil, start},
		{"reset by vela workflow restart", &stepio.ObjectStatus{}, start},
		{"initializing", &stepio.ObjectStatus{Phase: "initializing"}, ensureStarted},
		{"executing", &stepio.ObjectStatus{Phase: "executing"}, none},
		{"suspended by the run", &stepio.ObjectStatus{Phase: "suspending", Suspend: true}, none},
		{"vela workflow suspend", &stepio.ObjectStatus{Phase: "executing", Suspend: true}, suspend},
		{"vela workflow resume", &stepio.ObjectStatus{Phase: "suspending"}, resume},
		{"vela workflow terminate", &stepio.ObjectStatus{Phase: "suspending", Terminated: true}, terminate},
		{"terminated by the run", &stepio.ObjectStatus{Phase: "terminated", Terminated: true, Finished: true}, none},
		{"succeeded", &stepio.ObjectStatus{Phase: "succeeded", Finished: true}, none},
		{"suspend asked of a finished run", &stepio.ObjectStatus{Phase: "succeeded", Finished: true, Suspend: true}, none},
		{"vela workflow restart --step", &stepio.ObjectStatus{Phase: "failed"}, restartFromStep},
		{"restart --step of a terminated run", &stepio.ObjectStatus{Phase: "terminated"}, restartFromStep},
		{"failed", &stepio.ObjectStatus{Phase: "failed", Finished: true}, none},
		{"refused", &stepio.ObjectStatus{Phase: "failed", Finished: true, Message: invalidPrefix + "x", ObservedGeneration: 2}, none},
		{"refused, then edited", &stepio.ObjectStatus{Phase: "failed", Finished: true, Message: invalidPrefix + "x", ObservedGeneration: 1}, start},
	} {
		assert.Equal(t, c.want.String(), decide(c.st, 2).String(), c.name)
	}
}

// The step to restart from is the failed one whose status was removed:
// a top-level step, or a group's sub-step.
func TestRestartStep(t *testing.T) {
	run := []workflows.StepStatus{
		{Name: "a", Phase: workflows.StepSucceeded},
		{Name: "g", Phase: workflows.StepFailed, SubSteps: []workflows.StepStatus{
			{Name: "g1", Phase: workflows.StepSucceeded}, {Name: "g2", Phase: workflows.StepFailed}}},
		{Name: "b", Phase: workflows.StepFailed},
		{Name: "c", Phase: workflows.StepSkipped},
	}
	object := []stepio.ObjectStep{{Name: "a"}, {Name: "g", SubSteps: []stepio.ObjectStep{{Name: "g1"}, {Name: "g2"}}}}
	assert.Equal(t, "b", restartStep(run, object))
	object = []stepio.ObjectStep{{Name: "a"}, {Name: "g", SubSteps: []stepio.ObjectStep{{Name: "g1"}}}}
	assert.Equal(t, "g2", restartStep(run, object))
	object = []stepio.ObjectStep{{Name: "a"}, {Name: "g", SubSteps: []stepio.ObjectStep{{Name: "g1"}, {Name: "g2"}}}, {Name: "b"}, {Name: "c"}}
	assert.Equal(t, "", restartStep(run, object))
}
