package controller

import (
	"github.com/velaflow/velaflow/stepio"
	"github.com/velaflow/velaflow/workflows"
)

// phaseInitializing is the phase the controller writes before it starts a
// run (KubeVela's first phase too).
const phaseInitializing = workflows.RunInitializing

// invalidPrefix begins the message of a run the controller refused.
const invalidPrefix = "invalid WorkflowRun: "

// intent is what an object's status asks of the controller.
type intent int

const (
	none intent = iota
	// start: a new object, or one whose status was reset (restart).
	start
	// ensureStarted: the controller wrote initializing; the run may not
	// have been started yet.
	ensureStarted
	suspend
	resume
	terminate
	// restartFromStep: KubeVela's `vela workflow restart --step` cleared
	// finished and removed the failed step's status.
	restartFromStep
)

func (i intent) String() string {
	return [...]string{"none", "start", "ensure-started", "suspend", "resume", "terminate", "restart-from-step"}[i]
}

// decide reads what an operator asks through the status. The run's own
// writes are always consistent (a suspended run says suspend: true and
// phase suspending together, a terminated one terminated: true and phase
// terminated); the tooling's writes (`vela workflow suspend|resume|
// terminate|restart`, a kubectl status patch) set one side only, and
// that difference is the request. So the controller needs no memory of
// what the run wrote, and a restarted controller reads the same requests.
func decide(st *stepio.ObjectStatus, generation int64) intent {
	if st == nil || st.Phase == "" {
		return start
	}
	switch st.Phase {
	case phaseInitializing:
		return ensureStarted
	case workflows.RunFailed:
		if len(st.Message) >= len(invalidPrefix) && st.Message[:len(invalidPrefix)] == invalidPrefix {
			if st.ObservedGeneration != generation {
				return start // edited since it was refused
			}
			return none
		}
	}
	live := st.Phase == workflows.RunExecuting || st.Phase == workflows.RunSuspending
	switch {
	case live && st.Terminated:
		return terminate
	case st.Phase == workflows.RunExecuting && st.Suspend:
		return suspend
	case st.Phase == workflows.RunSuspending && !st.Suspend:
		return resume
	case !st.Finished && (st.Phase == workflows.RunFailed || st.Phase == workflows.RunTerminated):
		return restartFromStep
	}
	return none
}

// restartStep is the step to restart from: the first step that failed in
// the run and whose status the operator removed (KubeVela's tooling
// removes the failed step's status and its dependents').
func restartStep(run []workflows.StepStatus, object []stepio.ObjectStep) string {
	shown := map[string]*stepio.ObjectStep{}
	for i := range object {
		shown[object[i].Name] = &object[i]
	}
	for _, s := range run {
		o, ok := shown[s.Name]
		if !ok {
			if s.Phase == workflows.StepFailed {
				return s.Name
			}
			continue
		}
		if name := restartStep(s.SubSteps, o.SubSteps); name != "" && len(s.SubSteps) > 0 {
			return name
		}
	}
	return ""
}
