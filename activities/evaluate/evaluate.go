// Package evaluate runs one step's CUE template: it fills parameter and
// context, runs the template's operations one at a time in document order
// (as KubeVela does), and reads the step's outputs from the result.
//
// It does no I/O itself (operations do) and knows nothing of Temporal.
package evaluate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"cuelang.org/go/cue"

	"github.com/velaflow/velaflow/activities/ops"
	"github.com/velaflow/velaflow/cuedefs"
	"github.com/velaflow/velaflow/stepio"
	"github.com/velaflow/velaflow/translator"
)

// Request is one execution of a step's template.
type Request struct {
	Definition cuedefs.Definition
	Parameter  map[string]any
	Context    map[string]any
	Outputs    []translator.Output
	// Memo holds the results of once-only operations completed by earlier
	// executions of this step, by operation path.
	Memo map[string]json.RawMessage
	// Resumed is true when the step's suspension has ended.
	Resumed bool
	// Env is the run and the clusters the operations may use.
	Env *ops.Env
	// Templates, when set, serves the template compiled; nil compiles it
	// for this execution.
	Templates *cuedefs.Templates
	// OnOnce, when set, is called with the memo so far each time a
	// once-only operation completes, so the caller can save it before the
	// execution ends.
	OnOnce func(memo map[string]json.RawMessage)
	// Debug records the template's value and the operations it ran
	// (Result.Debug, Error.Debug).
	Debug bool
}

// Phase of a step execution that did not fail.
type Phase string

const (
	Succeeded Phase = stepio.PhaseSucceeded
	Waiting   Phase = stepio.PhaseWait
	Suspended Phase = stepio.PhaseSuspend
)

// Result is how one execution ended.
type Result struct {
	Phase   Phase
	Message string
	// Duration of a suspension ("" waits for a resume).
	Duration string
	Outputs  map[string]any
	// Memo holds results of once-only operations completed in this
	// execution, to hand back to the next one.
	Memo map[string]json.RawMessage
	// Logs are the lines the template logged (#Log).
	Logs []string
	// Reads are the Kubernetes objects the execution read; a waiting step
	// wakes when one changes.
	Reads []ops.ObjectRef
	// Debug is what the execution computed (Request.Debug).
	Debug *stepio.StepDebug
}

// Failure reasons, as KubeVela names them.
const (
	ReasonRendering = stepio.ReasonRendering
	ReasonOutput    = stepio.ReasonOutput
	ReasonAction    = stepio.ReasonAction
	ReasonExecute   = stepio.ReasonExecute
)

// Error is a failed execution. Retryable errors come from providers; the
// others are final.
type Error struct {
	Reason    string
	Retryable bool
	Err       error
	// Memo holds the once-only results completed before the error, so a
	// retry does not repeat them.
	Memo map[string]json.RawMessage
	// Debug is what the execution computed before it failed
	// (Request.Debug).
	Debug *stepio.StepDebug
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func final(reason string, err error) *Error { return &Error{Reason: reason, Err: err} }

// Run executes the template once.
func Run(ctx context.Context, req Request) (*Result, error) {
	templates := req.Templates
	if templates == nil {
		templates = &cuedefs.Templates{}
	}
	compiled, err := templates.Take(req.Definition)
	if err != nil {
		return nil, final(ReasonRendering, fmt.Errorf("template %q: %s", req.Definition.Type, cuedefs.Describe(err)))
	}
	defer templates.Put(req.Definition, compiled)
	cctx, v := compiled.Ctx, compiled.Value
	// Parameters and context are filled in one unification.
	inputs, err := fromJSON(cctx, map[string]any{"parameter": orEmpty(req.Parameter), "context": orEmpty(req.Context)})
	if err != nil {
		return nil, final(ReasonRendering, err)
	}
	v = v.Unify(inputs)
	if err := cuedefs.ValidatePending(v); err != nil {
		return nil, final(ReasonRendering, fmt.Errorf("template %q with the step's parameters: %s", req.Definition.Type, cuedefs.Describe(err)))
	}

	r := &runner{req: req, cctx: cctx, outcome: &ops.Outcome{}, memo: map[string]json.RawMessage{}}
	done, runErr := r.resolve(ctx, v)
	if e := r.err; e != nil {
		e.Memo, e.Debug = r.memo, r.debugOf(done)
		return nil, e
	}
	if runErr != nil {
		return nil, final(ReasonRendering, fmt.Errorf("template %q: %s", req.Definition.Type, cuedefs.Describe(runErr)))
	}

	o := r.outcome
	res := &Result{Phase: Succeeded, Message: o.Message, Memo: r.memo, Logs: o.Logs, Reads: o.Reads, Debug: r.debugOf(done)}
	switch {
	case o.Fail:
		msg := o.Message
		if msg == "" {
			msg = "the step failed (#Fail)"
		}
		return nil, r.withDebug(final(ReasonAction, errors.New(msg)), done)
	case o.Suspend:
		res.Phase, res.Duration = Suspended, o.Duration
		return res, nil
	case o.Wait:
		res.Phase = Waiting
		return res, nil
	case o.Break:
		return res, nil
	}
	if r.filled { // validated above already, unless a result was filled in since
		if err := cuedefs.ValidatePending(done); err != nil {
			return nil, r.withDebug(final(ReasonRendering, fmt.Errorf("template %q after its operations: %s", req.Definition.Type, cuedefs.Describe(err))), done)
		}
	}
	outputs, err := readOutputs(cctx, done, req.Outputs)
	if err != nil {
		return nil, r.withDebug(final(ReasonOutput, err), done)
	}
	res.Outputs = outputs
	return res, nil
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// runner runs the operations of one execution, one at a time.
type runner struct {
	req     Request
	cctx    *cue.Context
	outcome *ops.Outcome
	memo    map[string]json.RawMessage
	err     *Error // the first failure; it ends the execution
	// filled tells a result was filled into the template.
	filled bool
	// calls are the operations run, in debug mode.
	calls []stepio.OperationCall
}

var (
	doPath       = cue.MakePath(cue.Def("do"))
	providerPath = cue.MakePath(cue.Def("provider"))
	paramsPath   = cue.ParsePath("$params")
	returnsKey   = "$returns"
)

// lookup finds the operation a task value names with #provider and #do.
func (r *runner) lookup(v cue.Value) (ops.Op, error) {
	do, _ := v.LookupPath(doPath).String()
	provider := "builtin"
	if p := v.LookupPath(providerPath); p.Exists() {
		var err error
		if provider, err = p.String(); err != nil {
			return ops.Op{}, fmt.Errorf("%s: #provider must be a string: %w", v.Path(), err)
		}
	}
	op, ok := ops.Lookup(provider, do)
	if !ok {
		return ops.Op{}, fmt.Errorf("%s: no operation %s.%s", v.Path(), provider, do)
	}
	return op, nil
}

// run performs one operation and returns what to fill into the template
// (nil for nothing). Errors are recorded with r.fail.
func (r *runner) run(ctx context.Context, op ops.Op, key string, v cue.Value) (any, error) {
	args, newStyle := v.LookupPath(paramsPath), true
	if !args.Exists() {
		args, newStyle = v, false
	}
	once := op.Once != nil && op.Once(args)
	if once {
		if raw, ok := r.req.Memo[key]; ok {
			var res any
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.UseNumber() // keep integers integers
			if err := dec.Decode(&res); err != nil {
				return nil, r.fail(final(ReasonRendering, fmt.Errorf("%s: memoized result: %w", key, err)))
			}
			r.remember(key, raw)
			r.record(op, key, args, res, nil, true)
			return wrapResult(op, cuedefs.Numbers(res), newStyle), nil
		}
	}
	call := &ops.Call{Args: args, Outcome: r.outcome, Path: key, Resumed: r.req.Resumed, Env: r.req.Env}
	stateKey := "state:" + key
	if op.Stateful {
		call.State = r.req.Memo[stateKey]
	}
	res, err := runSafely(ctx, op, call)
	r.record(op, key, args, res, err, false)
	if op.Stateful {
		if st := call.NewState(); st != nil {
			r.remember(stateKey, st)
		} else if prev, ok := r.req.Memo[stateKey]; ok {
			r.remember(stateKey, prev)
		}
	}
	if err != nil {
		var rerr ops.RenderingError
		if errors.As(err, &rerr) {
			return nil, r.fail(final(ReasonRendering, fmt.Errorf("%s (%s.%s): %w", key, op.Provider, op.Do, err)))
		}
		var ferr ops.FinalError
		if errors.As(err, &ferr) {
			return nil, r.fail(final(ReasonExecute, fmt.Errorf("%s (%s.%s): %w", key, op.Provider, op.Do, err)))
		}
		return nil, r.fail(&Error{Reason: ReasonExecute, Retryable: true, Err: fmt.Errorf("%s (%s.%s): %w", key, op.Provider, op.Do, err)})
	}
	if res == nil {
		return nil, nil
	}
	if once {
		raw, err := json.Marshal(res)
		if err != nil {
			return nil, r.fail(final(ReasonRendering, err))
		}
		r.remember(key, raw)
		if r.req.OnOnce != nil {
			r.req.OnOnce(r.memoCopy())
		}
	}
	return wrapResult(op, res, newStyle), nil
}

// runSafely runs an operation; a panic in it fails the step (naming the
// operation) instead of taking the worker down.
func runSafely(ctx context.Context, op ops.Op, call *ops.Call) (res any, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = nil, ops.FinalError{Err: fmt.Errorf("operation panicked: %v", p)}
		}
	}()
	return op.Run(ctx, call)
}

// wrapResult places a result where the template reads it: under $returns
// for the new-style packages, under the operation's result field (or in
// place) for legacy vela/op.
func wrapResult(op ops.Op, res any, newStyle bool) any {
	switch {
	case newStyle:
		return map[string]any{returnsKey: res}
	case op.LegacyResult != "":
		return map[string]any{op.LegacyResult: res}
	case op.LegacySpread != "":
		return spread(res, op.LegacySpread)
	}
	return res
}

// spread adds the fields of res[field] to res itself, where res has no
// field of that name.
func spread(res any, field string) any {
	m, ok := res.(map[string]any)
	if !ok {
		return res
	}
	inner, ok := m[field].(map[string]any)
	if !ok {
		return res
	}
	out := make(map[string]any, len(m)+len(inner))
	for k, v := range inner {
		out[k] = v
	}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// fill unifies a result into the template at path.
func (r *runner) fill(v cue.Value, path cue.Path, res any) (cue.Value, error) {
	x, err := fromJSON(r.cctx, res)
	if err != nil {
		return v, err
	}
	v = v.FillPath(path, x)
	if err := v.LookupPath(path).Err(); err != nil {
		return v, err
	}
	return v, nil
}

func (r *runner) memoCopy() map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(r.memo))
	for k, v := range r.memo {
		out[k] = v
	}
	return out
}

func (r *runner) remember(key string, raw json.RawMessage) { r.memo[key] = raw }

// fail records the first error; no further operation runs.
func (r *runner) fail(e *Error) error {
	if r.err == nil {
		r.err = e
	}
	return e
}

// readOutputs evaluates each outputs[].valueFrom over the final value. A
// name missing at the top level is looked up under $returns.
func readOutputs(cctx *cue.Context, v cue.Value, outputs []translator.Output) (map[string]any, error) {
	if len(outputs) == 0 {
		return nil, nil
	}
	out := map[string]any{}
	for _, o := range outputs {
		x, err := evalExpr(cctx, v, o.ValueFrom)
		if err != nil {
			if r := v.LookupPath(cue.ParsePath("$returns")); r.Exists() {
				if x2, err2 := evalExpr(cctx, r, o.ValueFrom); err2 == nil {
					x, err = x2, nil
				}
			}
		}
		if err != nil {
			return nil, fmt.Errorf("output %q (valueFrom %q): %s", o.Name, o.ValueFrom, strings.TrimSpace(cuedefs.Describe(err)))
		}
		out[o.Name] = x
	}
	return out, nil
}

// evalExpr evaluates a CUE expression (optionally preceded by imports) in
// the scope of v and returns it as plain data.
func evalExpr(cctx *cue.Context, scope cue.Value, expr string) (any, error) {
	x, ok := lookupPlain(scope, expr)
	if !ok {
		x = cuedefs.CompileExpr(cctx, scope, expr, "valueFrom")
	}
	if err := x.Validate(cue.Concrete(true)); err != nil {
		return nil, err
	}
	var out any
	if err := x.Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}
