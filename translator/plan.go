package translator

import "github.com/velaflow/velaflow/cuedefs"

// Plan is everything one run needs, as JSON-friendly data: the workflow
// receives it as its input and must not need anything else.
type Plan struct {
	Name      string         `json:"name"`
	Namespace string         `json:"namespace"`
	Context   map[string]any `json:"context,omitempty"`
	Mode      Mode           `json:"mode"`
	Steps     []Step         `json:"steps"`
	// Definitions pins the template of every step type the run uses.
	Definitions map[string]cuedefs.Definition `json:"definitions"`
	// Source is the file the WorkflowRun came from.
	Source string `json:"source,omitempty"`
	// Debug: the run records what each step execution computes (the
	// annotation workflowrun.oam.dev/debug: "true", as in KubeVela).
	Debug bool `json:"debug,omitempty"`
	// Concurrency, when set, keeps runs with the same key from executing
	// at the same time.
	Concurrency *Concurrency `json:"concurrency,omitempty"`
}

// Concurrency is a run's evaluated concurrency key and its policy when
// another run holds the key.
type Concurrency struct {
	// Key is "<namespace>/<evaluated key>": keys are per namespace.
	Key    string `json:"key"`
	Policy string `json:"policy"`
}

// Concurrency policies.
const (
	ConcurrencyQueue   = "Queue"
	ConcurrencyReplace = "Replace"
	ConcurrencyReject  = "Reject"
)

// Mode is the ordering of the top-level steps and of group sub-steps.
type Mode struct {
	Steps    string `json:"steps"`
	SubSteps string `json:"subSteps"`
}

// Step is a validated step. Timeout is kept as written (a Go duration).
type Step struct {
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Alias      string         `json:"alias,omitempty"`
	Properties map[string]any `json:"properties,omitempty"`
	If         string         `json:"if,omitempty"`
	Timeout    string         `json:"timeout,omitempty"`
	DependsOn  []string       `json:"dependsOn,omitempty"`
	Inputs     []Input        `json:"inputs,omitempty"`
	Outputs    []Output       `json:"outputs,omitempty"`
	// Mode orders SubSteps; set on step groups only.
	Mode     string `json:"mode,omitempty"`
	SubSteps []Step `json:"subSteps,omitempty"`
	// Retry is the step's retry override, validated.
	Retry *Retry `json:"retry,omitempty"`
}

// WorkflowID is the Temporal workflow ID of a run.
func WorkflowID(namespace, name string) string { return namespace + "/" + name }

// ID is the Temporal workflow ID of the planned run.
func (p *Plan) ID() string { return WorkflowID(p.Namespace, p.Name) }

// IsGroup tells whether the step holds sub-steps.
func (s Step) IsGroup() bool { return s.Type == cuedefs.StepGroupType }
