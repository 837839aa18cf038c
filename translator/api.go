package translator

// The objects users write, with KubeVela Workflow's field names.

const (
	// GroupV1alpha1 is the apiVersion of WorkflowRun and Workflow.
	GroupV1alpha1 = "core.oam.dev/v1alpha1"
	// GroupV1beta1 is the apiVersion of WorkflowStepDefinition.
	GroupV1beta1 = "core.oam.dev/v1beta1"

	KindWorkflowRun            = "WorkflowRun"
	KindWorkflow               = "Workflow"
	KindWorkflowStepDefinition = "WorkflowStepDefinition"

	// DebugAnnotation on a WorkflowRun, "true", puts it in debug mode.
	DebugAnnotation = "workflowrun.oam.dev/debug"

	ModeStepByStep = "StepByStep"
	ModeDAG        = "DAG"
)

// ObjectMeta is the part of Kubernetes metadata velaflow reads.
type ObjectMeta struct {
	Name        string            `json:"name,omitempty"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// WorkflowRun is one run of a workflow.
type WorkflowRun struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Metadata   ObjectMeta      `json:"metadata"`
	Spec       WorkflowRunSpec `json:"spec"`
}

// WorkflowRunSpec holds the steps inline or names a Workflow.
type WorkflowRunSpec struct {
	Context      map[string]any `json:"context,omitempty"`
	Mode         *WorkflowMode  `json:"mode,omitempty"`
	WorkflowSpec *WorkflowSpec  `json:"workflowSpec,omitempty"`
	WorkflowRef  string         `json:"workflowRef,omitempty"`
	// Concurrency is velaflow's addition: runs whose key evaluates the
	// same never execute at the same time.
	Concurrency *ConcurrencySpec `json:"concurrency,omitempty"`
}

// ConcurrencySpec is spec.concurrency: Key is a CUE string interpolation
// over the run's context ("release-\(context.app)"); Policy is what a run
// does when another holds the key: Queue (wait in order, the default),
// Replace (terminate the holder) or Reject (fail at once).
type ConcurrencySpec struct {
	Key    string `json:"key"`
	Policy string `json:"policy,omitempty"`
}

// WorkflowMode is how steps, and the steps of groups, are ordered.
type WorkflowMode struct {
	Steps    string `json:"steps,omitempty"`
	SubSteps string `json:"subSteps,omitempty"`
}

// WorkflowSpec is the list of steps.
type WorkflowSpec struct {
	Steps []WorkflowStep `json:"steps"`
}

// Workflow is a reusable template of steps; note there is no spec wrapper.
type Workflow struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   ObjectMeta     `json:"metadata"`
	Mode       *WorkflowMode  `json:"mode,omitempty"`
	Steps      []WorkflowStep `json:"steps"`
	// Concurrency applies to the runs of this template that set none.
	Concurrency *ConcurrencySpec `json:"concurrency,omitempty"`
}

// WorkflowStep is one step, or a step-group holding subSteps.
type WorkflowStep struct {
	Name       string         `json:"name,omitempty"`
	Type       string         `json:"type"`
	Meta       *StepMeta      `json:"meta,omitempty"`
	Properties map[string]any `json:"properties,omitempty"`
	If         string         `json:"if,omitempty"`
	Timeout    string         `json:"timeout,omitempty"`
	DependsOn  []string       `json:"dependsOn,omitempty"`
	Inputs     []Input        `json:"inputs,omitempty"`
	Outputs    []Output       `json:"outputs,omitempty"`
	Mode       string         `json:"mode,omitempty"`
	SubSteps   []WorkflowStep `json:"subSteps,omitempty"`
	// Retry is velaflow's addition: this step's own retry limit and backoff
	// for provider errors (KubeVela has only the worker-wide limit).
	Retry *Retry `json:"retry,omitempty"`
}

// Retry overrides, for one step, how often and how fast a step whose
// operations fail is executed again before it fails with FailedAfterRetries.
// Unset fields keep the worker's setting.
type Retry struct {
	// Limit is the number of executions, the first included.
	Limit int32 `json:"limit,omitempty"`
	// Backoff is the pause after the first failure; it doubles.
	Backoff string `json:"backoff,omitempty"`
	// MaxBackoff caps the pause.
	MaxBackoff string `json:"maxBackoff,omitempty"`
}

// StepMeta carries display data.
type StepMeta struct {
	Alias string `json:"alias,omitempty"`
}

// Input reads a value another step output.
type Input struct {
	From         string `json:"from"`
	ParameterKey string `json:"parameterKey,omitempty"`
}

// Output exposes a value of the step's evaluated template.
type Output struct {
	Name      string `json:"name"`
	ValueFrom string `json:"valueFrom"`
}

// WorkflowStepDefinition declares a step type as a CUE template.
type WorkflowStepDefinition struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   ObjectMeta `json:"metadata"`
	Spec       struct {
		Schematic struct {
			CUE struct {
				Template string `json:"template"`
			} `json:"cue"`
		} `json:"schematic"`
	} `json:"spec"`
}
