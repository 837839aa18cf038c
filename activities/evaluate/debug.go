package evaluate

import (
	"cuelang.org/go/cue"

	"github.com/velaflow/velaflow/activities/ops"
	"github.com/velaflow/velaflow/stepio"
)

// Debug records, for a run in debug mode, what an execution computed:
// the template's value after its operations, and each operation with
// what it was given and what it gave back.
func (r *runner) record(op ops.Op, key string, args cue.Value, res any, err error, memoized bool) {
	if !r.req.Debug {
		return
	}
	call := stepio.OperationCall{Path: key, Operation: op.Provider + "." + op.Do, Params: plain(args), Returns: res, Memoized: memoized}
	if err != nil {
		call.Error = err.Error()
	}
	r.calls = append(r.calls, call)
}

// debugOf is the execution's debug record (nil outside debug mode).
func (r *runner) debugOf(v cue.Value) *stepio.StepDebug {
	if !r.req.Debug {
		return nil
	}
	return &stepio.StepDebug{Value: plain(v), Operations: r.calls}
}

// plain is a value as JSON-like data: its concrete parts, with fields
// that are not concrete yet left out rather than failing the whole.
func plain(v cue.Value) any {
	if !v.Exists() {
		return nil
	}
	var out any
	if err := v.Decode(&out); err == nil {
		return out
	}
	switch v.IncompleteKind() {
	case cue.StructKind:
		m := map[string]any{}
		it, err := v.Fields(cue.Definitions(false), cue.Optional(false))
		if err != nil {
			return nil
		}
		for it.Next() {
			if x := plain(it.Value()); x != nil {
				m[it.Selector().String()] = x
			}
		}
		return m
	case cue.ListKind:
		var l []any
		it, err := v.List()
		if err != nil {
			return nil
		}
		for it.Next() {
			l = append(l, plain(it.Value()))
		}
		return l
	}
	return nil
}

// withDebug adds the execution's debug record to a failure.
func (r *runner) withDebug(e *Error, v cue.Value) *Error {
	e.Memo, e.Debug = r.memo, r.debugOf(v)
	return e
}
