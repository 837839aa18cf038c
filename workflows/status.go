package workflows

import "time"

// Run phases (status.status), as KubeVela names them.
const (
	RunInitializing = "initializing"
	// RunPending is velaflow's: the run waits for its concurrency key.
	RunPending    = "pending"
	RunExecuting  = "executing"
	RunSuspending = "suspending"
	RunTerminated = "terminated"
	RunFailed     = "failed"
	RunSucceeded  = "succeeded"
)

// RunPhases are the phases a run's search attribute takes.
var RunPhases = []string{RunPending, RunExecuting, RunSuspending, RunTerminated, RunFailed, RunSucceeded}

// Step phases.
const (
	StepPending    = "pending"
	StepRunning    = "running"
	StepSuspending = "suspending"
	StepSucceeded  = "succeeded"
	StepFailed     = "failed"
	StepSkipped    = "skipped"
)

// Step reasons.
const (
	ReasonExecute            = "Execute"
	ReasonWait               = "Wait"
	ReasonSkip               = "Skip"
	ReasonRendering          = "Rendering"
	ReasonSuspend            = "Suspend"
	ReasonTerminate          = "Terminate"
	ReasonInput              = "Input"
	ReasonOutput             = "Output"
	ReasonFailedAfterRetries = "FailedAfterRetries"
	ReasonTimeout            = "Timeout"
	ReasonAction             = "Action"
)

// Status is a WorkflowRun's status in KubeVela's shape.
type Status struct {
	Phase      string       `json:"status"`
	Mode       string       `json:"mode"`
	Message    string       `json:"message,omitempty"`
	Suspend    bool         `json:"suspend"`
	Terminated bool         `json:"terminated"`
	Finished   bool         `json:"finished"`
	StartTime  time.Time    `json:"startTime"`
	EndTime    *time.Time   `json:"endTime,omitempty"`
	Steps      []StepStatus `json:"steps"`
}

// StepStatus is one step's status. Outputs is velaflow's addition: the
// values the step exposed.
type StepStatus struct {
	ID               string     `json:"id"`
	Name             string     `json:"name"`
	Type             string     `json:"type"`
	Alias            string     `json:"alias,omitempty"`
	Phase            string     `json:"phase"`
	Reason           string     `json:"reason,omitempty"`
	Message          string     `json:"message,omitempty"`
	FirstExecuteTime *time.Time `json:"firstExecuteTime,omitempty"`
	LastExecuteTime  *time.Time `json:"lastExecuteTime,omitempty"`
	// Until is velaflow's addition: when a waiting step executes again
	// (its backoff), or when a suspension with a duration ends.
	Until    *time.Time     `json:"until,omitempty"`
	Outputs  map[string]any `json:"outputs,omitempty"`
	SubSteps []StepStatus   `json:"subSteps,omitempty"`
}

// Finished tells whether the step reached a final phase.
func (s *StepStatus) Finished() bool {
	return s.Phase == StepSucceeded || s.Phase == StepFailed || s.Phase == StepSkipped
}

// conditionFields is the step's status as `if` expressions see it.
func (s *StepStatus) conditionFields() map[string]any {
	return map[string]any{
		"id": s.ID, "name": s.Name, "type": s.Type, "phase": s.Phase, "reason": s.Reason, "message": s.Message,
		"failed":             s.Phase == StepFailed,
		"succeeded":          s.Phase == StepSucceeded,
		"skipped":            s.Phase == StepSkipped,
		"timeout":            s.Reason == ReasonTimeout,
		"failedAfterRetries": s.Reason == ReasonFailedAfterRetries,
		"terminate":          s.Reason == ReasonTerminate,
	}
}

// ShowLiveGroup puts a running group's sub-steps, as its child workflow
// reports them now, into the run's status, and derives the group's phase
// and the run's from them as the run itself would, so the view stays
// consistent while the run has not yet heard of the change.
func (s *Status) ShowLiveGroup(i int, subs []StepStatus) {
	g := &s.Steps[i]
	g.SubSteps = subs
	if g.Phase == StepRunning || g.Phase == StepSuspending {
		if p := groupPhase(subs); p == StepSuspending || p == StepRunning {
			g.Phase = p
		}
	}
	if !s.Finished && !s.Terminated && g.Phase == StepSuspending {
		s.Phase, s.Suspend = RunSuspending, true
	}
}

// groupPhase derives a step-group's phase from its sub-steps, in KubeVela's
// priority: suspending, running, pending, failed, all skipped, succeeded.
func groupPhase(subs []StepStatus) string {
	has := map[string]bool{}
	for _, s := range subs {
		has[s.Phase] = true
	}
	for _, p := range []string{StepSuspending, StepRunning, StepPending, StepFailed} {
		if has[p] {
			return p
		}
	}
	if len(subs) > 0 && len(has) == 1 && has[StepSkipped] {
		return StepSkipped
	}
	return StepSucceeded
}
