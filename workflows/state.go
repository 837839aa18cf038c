package workflows

import (
	"encoding/json"
	"time"

	"github.com/velaflow/velaflow/stepio"
)

// State is everything a run (or a group) needs to pick up where it was: it
// is carried into the next execution when the run continues as new, and
// built from the previous status when a run restarts from a step.
type State struct {
	Status  Status               `json:"status"`
	Outputs map[string]any       `json:"outputs,omitempty"`
	Loops   map[string]*stepLoop `json:"loops,omitempty"`
	Logs    map[string][]string  `json:"logs,omitempty"`
	Vars    map[string]any       `json:"vars,omitempty"`
	// Suspended and ResumeGen are the run-level suspension.
	Suspended bool `json:"suspended,omitempty"`
	ResumeGen int  `json:"resumeGen,omitempty"`
	// PublishSeq is the last group status report sent (groups only).
	PublishSeq int `json:"publishSeq,omitempty"`
	// Published is what the last report said, in phases and reasons
	// (groups that outlive runs), so the next execution does not repeat it.
	Published string `json:"published,omitempty"`
	// Mirrored is the status the run last wrote into its WorkflowRun
	// object.
	Mirrored *stepio.ObjectStatus `json:"mirrored,omitempty"`
	// LockAsked and LockHeld are the run's concurrency key: asked for,
	// held (from engine version 6).
	LockAsked bool `json:"lockAsked,omitempty"`
	LockHeld  bool `json:"lockHeld,omitempty"`
}

// stepLoop is where a step is in its execute loop.
type stepLoop struct {
	// Executions counts activity executions; it numbers their IDs.
	Executions int `json:"executions,omitempty"`
	// Failures counts executions that failed with a provider error.
	Failures int `json:"failures,omitempty"`
	// Backoff is the next pause of a waiting step.
	Backoff time.Duration `json:"backoff,omitempty"`
	// Memo holds results of once-only operations the step completed.
	Memo map[string]json.RawMessage `json:"memo,omitempty"`
	// Resumed tells the template its suspension ended.
	Resumed bool `json:"resumed,omitempty"`
	// Suspended is set while the step is suspended: until a resume signal
	// bumps the run's ResumeGen past SuspendGen, or until SuspendUntil.
	Suspended    bool       `json:"suspended,omitempty"`
	SuspendGen   int        `json:"suspendGen,omitempty"`
	SuspendUntil *time.Time `json:"suspendUntil,omitempty"`
}
