package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
)

// Names clients use.
const (
	// WorkflowName is the registered name of the workflow type.
	WorkflowName = "WorkflowRun"
	// QueryStatus answers the run's Status.
	QueryStatus = "status"
	// SignalSuspend suspends the run before its next step execution.
	SignalSuspend = "suspend"
	// SignalResume resumes a suspended run or a suspended step.
	SignalResume = "resume"
	// SignalTerminate stops the run: running and suspended steps fail with
	// reason Terminate and the run ends terminated.
	SignalTerminate = "terminate"
	// FailureType is the ApplicationError type of a run that ended failed or
	// terminated; its details hold the final Status.
	FailureType = "WorkflowRunFailed"
)

// Search attributes every run carries, so runs can be listed and filtered
// in the Web UI and CLI. `velaflow dev` registers them.
var (
	AttrPhase     = temporal.NewSearchAttributeKeyKeyword("VelaflowPhase")
	AttrName      = temporal.NewSearchAttributeKeyKeyword("VelaflowRunName")
	AttrNamespace = temporal.NewSearchAttributeKeyKeyword("VelaflowRunNamespace")
)

// Config holds the engine's knobs; workers set them from flags.
type Config struct {
	// MaxStepErrorRetries is how many times a step whose operations fail is
	// executed before it fails with FailedAfterRetries.
	MaxStepErrorRetries int32
	// RetryInitial and RetryMax bound the backoff between those executions.
	RetryInitial, RetryMax time.Duration
	// WaitBackoffInitial and WaitBackoffMax bound the durable timer between
	// executions of a step that waits (#ConditionalWait); it doubles.
	WaitBackoffInitial, WaitBackoffMax time.Duration
	// StepExecutionTimeout bounds one execution of a step's template.
	StepExecutionTimeout time.Duration
}

// DefaultConfig is KubeVela's behaviour: 10 tries, waits from 1 s doubling
// up to 60 s.
func DefaultConfig() Config {
	return Config{
		MaxStepErrorRetries:  10,
		RetryInitial:         time.Second,
		RetryMax:             60 * time.Second,
		WaitBackoffInitial:   time.Second,
		WaitBackoffMax:       60 * time.Second,
		StepExecutionTimeout: 10 * time.Minute,
	}
}

// Engine is the workflow implementation; register its Run method under
// WorkflowName.
type Engine struct {
	Config Config
}
