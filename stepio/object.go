package stepio

import "time"

// MirrorStatusName is the local activity that writes a run's status into
// the WorkflowRun object the run came from.
const MirrorStatusName = "MirrorStatus"

// RunObject names the WorkflowRun object a run was started from; the run
// mirrors its status into the object's status.
type RunObject struct {
	// Cluster is the name workers know the object's cluster by ("" or
	// "local": their default cluster).
	Cluster   string `json:"cluster,omitempty"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// UID tells the object from a later one of the same name: the run
	// never writes into another object.
	UID string `json:"uid"`
	// Generation is the object's generation the run was translated from.
	Generation int64 `json:"generation,omitempty"`
}

// ObjectStatus is a WorkflowRun's .status in KubeVela's shape, plus the
// observed generation.
type ObjectStatus struct {
	Phase              string       `json:"status"`
	Mode               ObjectMode   `json:"mode"`
	Message            string       `json:"message"`
	Suspend            bool         `json:"suspend"`
	Terminated         bool         `json:"terminated"`
	Finished           bool         `json:"finished"`
	StartTime          *time.Time   `json:"startTime"`
	EndTime            *time.Time   `json:"endTime"`
	Steps              []ObjectStep `json:"steps"`
	ObservedGeneration int64        `json:"observedGeneration,omitempty"`
}

// ObjectMode is how the steps and the sub-steps are ordered.
type ObjectMode struct {
	Steps    string `json:"steps"`
	SubSteps string `json:"subSteps"`
}

// ObjectStep is one step's status in KubeVela's shape.
type ObjectStep struct {
	ID               string       `json:"id"`
	Name             string       `json:"name"`
	Type             string       `json:"type"`
	Phase            string       `json:"phase"`
	Reason           string       `json:"reason,omitempty"`
	Message          string       `json:"message,omitempty"`
	FirstExecuteTime *time.Time   `json:"firstExecuteTime,omitempty"`
	LastExecuteTime  *time.Time   `json:"lastExecuteTime,omitempty"`
	SubSteps         []ObjectStep `json:"subSteps,omitempty"`
}

// MirrorInput asks for Status to be written into Object. Previous is what
// the run wrote last (nil: nothing yet): only the fields that changed
// since are written, so a field an operator set meanwhile (suspend,
// terminated) is not overwritten by a value the run did not change.
type MirrorInput struct {
	Object   RunObject     `json:"object"`
	Previous *ObjectStatus `json:"previous,omitempty"`
	Status   ObjectStatus  `json:"status"`
}

// MirrorResult says whether the object is gone (deleted, or replaced by
// another of the same name): the run stops mirroring.
type MirrorResult struct {
	Gone bool `json:"gone,omitempty"`
}
