package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/velaflow/velaflow/stepio"
	"github.com/velaflow/velaflow/translator"
)

// Names clients use.
const (
	// DefaultTaskQueue is where velaflow runs unless told otherwise.
	DefaultTaskQueue = "velaflow"
	// WorkflowName is the registered name of the workflow type; its input
	// is a RunInput.
	WorkflowName = "WorkflowRun"
	// GroupWorkflowName runs one step-group's sub-steps as a child workflow
	// with ID <run-id>/<group>; its input is a GroupInput.
	GroupWorkflowName = "WorkflowRunGroup"
	// QueryStatus answers the run's Status.
	QueryStatus = "status"
	// QueryLogs answers the lines each step logged in its latest execution
	// (#Log), by step name: map[string][]string.
	QueryLogs = "logs"
	// QueryVars answers the run's variables (#DoVar): map[string]any.
	QueryVars = "vars"
	// SignalSuspend suspends the run before its next step execution.
	SignalSuspend = "suspend"
	// SignalResume resumes a suspended run or a suspended step.
	SignalResume = "resume"
	// SignalTerminate stops the run: running and suspended steps fail with
	// reason Terminate and the run ends terminated.
	SignalTerminate = "terminate"
	// SignalWake (payload: a step's ID, or its name) makes a waiting step
	// execute again now: workers send it when an object the step read
	// changed.
	SignalWake = "velaflow.wake"
	// SignalGroupStatus is internal: a group's child workflow sends its
	// sub-steps' statuses (a GroupStatus) to the run whenever they change.
	SignalGroupStatus = "velaflow.group-status"
	// SignalGroupDone is internal: a group's child workflow sends its
	// result (a GroupDone) to the run's workflow ID when it ends, so the
	// result reaches the run even after the run continued as new.
	SignalGroupDone = "velaflow.group-done"
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
	MaxStepErrorRetries int32 `json:"maxStepErrorRetries"`
	// RetryInitial and RetryMax bound the backoff between those executions.
	RetryInitial time.Duration `json:"retryInitial"`
	RetryMax     time.Duration `json:"retryMax"`
	// WaitBackoffInitial and WaitBackoffMax bound the durable timer between
	// executions of a step that waits (#ConditionalWait); it doubles.
	WaitBackoffInitial time.Duration `json:"waitBackoffInitial"`
	WaitBackoffMax     time.Duration `json:"waitBackoffMax"`
	// StepExecutionTimeout bounds one execution of a step's template.
	StepExecutionTimeout time.Duration `json:"stepExecutionTimeout"`
	// HeartbeatTimeout is how soon an execution whose worker died is
	// noticed and retried; executions heartbeat a few times within it.
	HeartbeatTimeout time.Duration `json:"heartbeatTimeout"`
	// PureOperations ("provider.do") have no effect outside the step: a
	// step whose template calls only these runs as a local activity.
	PureOperations []string `json:"pureOperations,omitempty"`
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
		HeartbeatTimeout:     10 * time.Second,
	}
}

// Engine is the workflow implementation; register its Run method under
// WorkflowName.
type Engine struct {
	Config Config
}

// RunInput is the input of WorkflowName. A plain plan starts a run from
// the beginning; Restart re-runs a finished run from one failed step.
type RunInput struct {
	translator.Plan
	// Restart, when set, keeps the previous run's results except those of
	// Restart.Step and the steps after or depending on it.
	Restart *Restart `json:"restart,omitempty"`
	// State is internal: what a run carries into its next execution when it
	// continues as new.
	State *State `json:"state,omitempty"`
	// Engine are the engine settings the run keeps to: those of the worker
	// that ran its first execution, unless given here. They are carried
	// across continue-as-new and given to its groups, so workers started
	// with other flags (or a restart with new ones) do not change a run in
	// flight.
	Engine *Config `json:"engine,omitempty"`
	// EngineVersion is internal: the engine version a run carries into
	// its next execution (from version 3; 0 before).
	EngineVersion workflow.Version `json:"engineVersion,omitempty"`
	// RecordEngine asks the run to record its engine version with its
	// engine settings, in one side-effect marker, rather than in a version
	// marker that also updates a search attribute. velaflow's clients set
	// it; a run started without it works the same.
	RecordEngine bool `json:"recordEngine,omitempty"`
	// Object is the WorkflowRun object the run was started from (by the
	// controller): the run writes its status into it, from engine
	// version 4.
	Object *stepio.RunObject `json:"object,omitempty"`
	// NameFromID asks the run to take its name from its workflow ID
	// "<namespace>/<name>" (from engine version 5): a schedule starts each
	// run with the same input and an ID that ends in the time it fired.
	NameFromID bool `json:"nameFromID,omitempty"`
}

// Restart asks for a run to be restarted from a failed step.
type Restart struct {
	// Step names the failed step (or sub-step) to re-run.
	Step string `json:"step"`
	// Previous is the run's last status (the `status` query, or the details
	// of its WorkflowRunFailed failure).
	Previous *Status `json:"previous"`
	// Vars are the run's variables when it ended (the `vars` query); the
	// restarted run starts with them.
	Vars map[string]any `json:"vars,omitempty"`
}

// GroupInput is the input of GroupWorkflowName.
type GroupInput struct {
	// Plan holds the group's sub-steps as its steps and the group's mode as
	// its step mode; name, namespace, context and definitions are the run's.
	Plan  translator.Plan `json:"plan"`
	Group string          `json:"group"`
	// Outputs are the run's outputs when the group started.
	Outputs map[string]any `json:"outputs,omitempty"`
	// Others are the statuses of the steps outside the group, as `if`
	// expressions see them.
	Others map[string]map[string]any `json:"others,omitempty"`
	// Deadline is the group's timeout; its sub-steps fail with Timeout then.
	Deadline *time.Time `json:"deadline,omitempty"`
	// Suspended starts the group suspended (the run was, when it started).
	Suspended bool `json:"suspended,omitempty"`
	// Vars are the run's variables (#DoVar) when the group started.
	Vars map[string]any `json:"vars,omitempty"`
	// State carries sub-step statuses (a restart or continue-as-new).
	State *State `json:"state,omitempty"`
	// Engine are the run's engine settings (nil for the worker's).
	Engine *Config `json:"engine,omitempty"`
	// Chain is the first run ID of the run that started the group. When
	// set, the group outlives the run's executions (the run may continue
	// as new while it runs): it reports its status, coalesced, and its
	// result to the run's workflow ID, tagged with Chain so a later run
	// of the same name ignores them; and it ends terminated when the run
	// is gone.
	Chain string `json:"chain,omitempty"`
	// EngineVersion is the run's engine version (from version 3; 0
	// before, and the group records its own).
	EngineVersion workflow.Version `json:"engineVersion,omitempty"`
}

// GroupResult is what a group's child workflow returns.
type GroupResult struct {
	Steps   []StepStatus   `json:"steps"`
	Outputs map[string]any `json:"outputs,omitempty"`
	// TimedOut is set when the group's own timeout passed.
	TimedOut bool `json:"timedOut,omitempty"`
	// Logs are the sub-steps' logs.
	Logs map[string][]string `json:"logs,omitempty"`
	// Vars are the variables when the group ended.
	Vars map[string]any `json:"vars,omitempty"`
}

// GroupStatus is the payload of SignalGroupStatus.
type GroupStatus struct {
	Group string       `json:"group"`
	Steps []StepStatus `json:"steps"`
	// Seq orders the reports: signals may arrive out of order, and the run
	// keeps the newest.
	Seq int `json:"seq,omitempty"`
	// Chain is the GroupInput's.
	Chain string `json:"chain,omitempty"`
}

// GroupDone is the payload of SignalGroupDone.
type GroupDone struct {
	Group  string      `json:"group"`
	Chain  string      `json:"chain"`
	Result GroupResult `json:"result"`
}
