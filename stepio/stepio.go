// Package stepio is what the workflow and the activities exchange: the
// activities' names, one step execution's input and result, the phases
// and failure types of an execution, and how a variable's path is set.
// Both sides import it; neither imports the other.
package stepio

import (
	"encoding/json"
	"strings"

	"github.com/velaflow/velaflow/cuedefs"
	"github.com/velaflow/velaflow/translator"
)

// Names of the activities.
const (
	ExecuteStepName       = "ExecuteStep"
	EvaluateConditionName = "EvaluateCondition"
	// ListClustersName is the activity `velaflow cluster list` runs on a
	// worker.
	ListClustersName = "ListClusters"
	// ClusterTemplatesName is the local activity that lists the Workflow
	// templates in the worker's default cluster.
	ClusterTemplatesName = "ClusterTemplates"
	// ClusterNamesName answers the names of the clusters a worker knows.
	ClusterNamesName = "ClusterNames"
)

// Phases of a step execution that did not fail.
const (
	PhaseSucceeded = "succeeded"
	PhaseWait      = "wait"
	PhaseSuspend   = "suspend"
)

// Failure types of ExecuteStep (Temporal ApplicationError types). The
// workflow retries Execute (its details hold the execution's memo); the
// others are final.
const (
	ReasonExecute   = "Execute"
	ReasonRendering = "Rendering"
	ReasonAction    = "Action"
	ReasonOutput    = "Output"
	ReasonInput     = "Input"
	// ReasonExecuteFinal is a provider error retrying cannot cure (an
	// unknown cluster, a forbidden request); the step's reason is Execute.
	ReasonExecuteFinal = "ExecuteFinal"
)

// Input is one execution of one step.
type Input struct {
	RunName      string          `json:"runName"`
	RunNamespace string          `json:"runNamespace"`
	GroupName    string          `json:"groupName,omitempty"`
	SessionID    string          `json:"sessionID"`
	Step         translator.Step `json:"step"`
	// DefinitionDigest names the template the run's plan pins for the
	// step's type; the worker resolves it (its catalogue, its cache, the
	// run's input), so the source travels once per run, not per execution.
	DefinitionDigest string `json:"definitionDigest,omitempty"`
	// Definition pins the template in full (runs started before digests).
	// Neither set means the worker's catalogue.
	Definition *cuedefs.Definition `json:"definition,omitempty"`
	// Debug asks for what the execution computes (Result.Debug).
	Debug bool `json:"debug,omitempty"`
	// Context is the run's spec.context.
	Context map[string]any `json:"context,omitempty"`
	// Inputs are the values of the step's inputs, by `from`.
	Inputs  map[string]any             `json:"inputs,omitempty"`
	Memo    map[string]json.RawMessage `json:"memo,omitempty"`
	Resumed bool                       `json:"resumed,omitempty"`
	// Vars are the run's variables (#DoVar).
	Vars map[string]any `json:"vars,omitempty"`
}

// ObjectRef names a Kubernetes object an execution read, at the version
// it read.
type ObjectRef struct {
	Cluster         string `json:"cluster,omitempty"`
	APIVersion      string `json:"apiVersion"`
	Kind            string `json:"kind"`
	Namespace       string `json:"namespace,omitempty"`
	Name            string `json:"name"`
	ResourceVersion string `json:"resourceVersion,omitempty"`
}

// Result is how an execution ended when it did not fail.
type Result struct {
	// Phase is succeeded, wait or suspend.
	Phase    string                     `json:"phase"`
	Message  string                     `json:"message,omitempty"`
	Duration string                     `json:"duration,omitempty"`
	Outputs  map[string]any             `json:"outputs,omitempty"`
	Memo     map[string]json.RawMessage `json:"memo,omitempty"`
	// Logs are the lines the execution logged (#Log).
	Logs []string `json:"logs,omitempty"`
	// Reads are the Kubernetes objects the execution read.
	Reads []ObjectRef `json:"reads,omitempty"`
	// Vars are the variables the execution put (#DoVar), by dotted path.
	Vars map[string]any `json:"vars,omitempty"`
	// Debug is what the execution computed, when the input asked.
	Debug *StepDebug `json:"debug,omitempty"`
}

// ConditionInput is an `if` expression and what it may refer to.
type ConditionInput struct {
	Expr string `json:"expr"`
	// Status maps step name to its status fields plus the booleans failed,
	// succeeded, skipped, timeout, failedAfterRetries and terminate.
	Status  map[string]any `json:"status"`
	Inputs  map[string]any `json:"inputs,omitempty"`
	Context map[string]any `json:"context,omitempty"`
}

// ClusterInfo is one cluster as a worker sees it.
type ClusterInfo struct {
	Name    string `json:"name"`
	Server  string `json:"server,omitempty"`
	Version string `json:"version,omitempty"`
	// Error says why the cluster cannot be reached.
	Error string `json:"error,omitempty"`
}

// SetPath sets a dotted path in m, making the maps on the way.
func SetPath(m map[string]any, path string, value any) {
	keys := strings.Split(path, ".")
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[keys[len(keys)-1]] = value
}

// StepDebug is what an execution of a run in debug mode computed.
type StepDebug struct {
	// Value is the template's value after its operations (its concrete
	// parts).
	Value any `json:"value,omitempty"`
	// Operations are the operations it ran, in order.
	Operations []OperationCall `json:"operations,omitempty"`
	// Message is the whole message, when the step's status shows an
	// excerpt of it.
	Message string `json:"message,omitempty"`
}

// OperationCall is one operation an execution ran.
type OperationCall struct {
	Path      string `json:"path"`
	Operation string `json:"operation"`
	Params    any    `json:"params,omitempty"`
	Returns   any    `json:"returns,omitempty"`
	Error     string `json:"error,omitempty"`
	// Memoized: a once-only operation an earlier execution ran; its
	// recorded result was handed back.
	Memoized bool `json:"memoized,omitempty"`
}
