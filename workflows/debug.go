package workflows

import (
	"encoding/json"
	"errors"

	"go.temporal.io/sdk/temporal"

	"github.com/velaflow/velaflow/stepio"
)

// QueryDebug answers each step's latest execution, by step name:
// map[string]*StepExecution (`velaflow debug`).
const QueryDebug = "debug"

// StepExecution is a step's latest execution: what it was given and how
// it ended; in debug mode (translator.DebugAnnotation) also what its
// template computed and the operations it ran.
type StepExecution struct {
	// Execution numbers the step's executions from 1.
	Execution  int            `json:"execution"`
	Properties map[string]any `json:"properties,omitempty"`
	// Inputs are the values of the step's inputs, by `from`.
	Inputs  map[string]any    `json:"inputs,omitempty"`
	Phase   string            `json:"phase,omitempty"`
	Message string            `json:"message,omitempty"`
	Outputs map[string]any    `json:"outputs,omitempty"`
	Error   string            `json:"error,omitempty"`
	Debug   *stepio.StepDebug `json:"debug,omitempty"`
}

// noteExecution keeps the step's latest execution for the debug query.
// Kept in memory only: it is not carried across continue-as-new.
func (r *run) noteExecution(x *stepExec, res *stepio.Result, err error) {
	e := &StepExecution{Execution: x.lp.Executions, Properties: x.in.Step.Properties, Inputs: x.in.Inputs}
	if err != nil {
		e.Error = err.Error()
		var app *temporal.ApplicationError
		if errors.As(err, &app) {
			e.Error = app.Message()
			var memo map[string]json.RawMessage
			var dbg *stepio.StepDebug
			if app.HasDetails() && app.Details(&memo, &dbg) == nil {
				e.Debug = dbg
			}
		}
	} else {
		e.Phase, e.Message, e.Outputs, e.Debug = res.Phase, res.Message, res.Outputs, res.Debug
	}
	if r.executions == nil {
		r.executions = map[string]*StepExecution{}
	}
	r.executions[x.s.Name] = e
}
