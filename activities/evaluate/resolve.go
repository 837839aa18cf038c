package evaluate

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"cuelang.org/go/cue/token"

	"cuelang.org/go/cue"
)

// maxOperations bounds one execution: a template whose comprehensions keep
// producing new operations is an error, not a hang.
const maxOperations = 10000

// resolve runs the template's operations one at a time, as KubeVela does:
// the next operation is the first one in document order (nested values
// before the value holding them, `@step(n)` attributes first) that has not
// run yet. After an operation whose result is filled in, the whole
// template is evaluated again and searched again, so conditions over
// results (`x != _|_`), operations inside comprehensions and values built
// from earlier results are decided with the results present; an operation
// that fills nothing leaves the template as it was, and the next one is
// the next found by the same search.
func (r *runner) resolve(ctx context.Context, v cue.Value) (cue.Value, error) {
	done := map[string]bool{}
	var found []cue.Value // the last search's operations, in order
	searched := false
	for n := 0; ; n++ {
		if r.outcome.Stopped() || r.err != nil || ctx.Err() != nil {
			return v, nil
		}
		if !searched {
			found, searched = operations(v), true
		}
		task, key, ok := firstNotDone(found, done)
		if !ok {
			return v, nil
		}
		if n >= maxOperations {
			return v, fmt.Errorf("more than %d operations in one execution", maxOperations)
		}
		done[key] = true
		op, err := r.lookup(task)
		if err != nil {
			return v, err
		}
		res, err := r.run(ctx, op, key, task)
		if err != nil || res == nil {
			continue // errors are recorded by run and end the loop above
		}
		filled, err := r.fill(v, task.Path(), res)
		if err != nil {
			r.fail(final(ReasonRendering, fmt.Errorf("%s: filling the result: %w", key, err)))
			continue
		}
		v, searched, r.filled = filled, false, true
	}
}

// operations lists the operations in v in the order they run.
func operations(v cue.Value) []cue.Value {
	var found []cue.Value
	walk(v, func(x cue.Value, isTask bool) bool {
		if isTask {
			found = append(found, x)
		}
		return false
	})
	return found
}

// firstNotDone is the first of found that has not run, and its key.
func firstNotDone(found []cue.Value, done map[string]bool) (cue.Value, string, bool) {
	for _, x := range found {
		if key := x.Path().String(); !done[key] {
			return x, key, true
		}
	}
	return cue.Value{}, "", false
}

// walk visits the values below v and then v, in document order, skipping
// definitions (an operation's schema is not an operation), and tells visit
// whether the value is an operation. It stops when visit returns true.
func walk(v cue.Value, visit func(x cue.Value, isTask bool) bool) bool {
	sels := v.Path().Selectors()
	if len(sels) > 0 && sels[len(sels)-1].IsDefinition() {
		return false
	}
	if len(sels) == 1 && dataFields[sels[0].String()] {
		return false
	}
	kids, isTask := inspect(v)
	for _, child := range kids {
		if walk(child, visit) {
			return true
		}
	}
	return visit(v, isTask)
}

// dataFields are the template's top-level fields filled with data, which
// hold no operations.
var dataFields = map[string]bool{"parameter": true, "context": true}

// inspect lists v's children in document order and tells whether v is an
// operation: a struct with a #do other than "steps". An operation runs as
// a whole: its fields are its arguments and results, not operations of
// their own, so they are not searched (KubeVela handles an operation the
// same way; `#do: "steps"` only groups the operations inside it). Each
// question asked of a cue.Value costs an evaluation context, and listing
// a struct's fields sorts them, so a struct is listed at most once.
func inspect(v cue.Value) (kids []cue.Value, isTask bool) {
	kind := v.IncompleteKind()
	if kind&(cue.StructKind|cue.ListKind) == 0 && kind != cue.BottomKind {
		return nil, false // a scalar
	}
	if kind == cue.ListKind {
		it, err := v.List()
		if err != nil {
			return nil, false
		}
		for it.Next() {
			kids = append(kids, it.Value())
		}
		return kids, false
	}
	if do, err := v.LookupPath(doPath).String(); err == nil && do != "" && do != stepsDo {
		return nil, true
	}
	// Not only structs: a struct whose comprehension still waits for a
	// result (`if apply.status.failed > 0`) is incomplete, but its fields
	// are there to walk.
	it, err := v.Fields(cue.Optional(true), cue.Hidden(true))
	if err != nil {
		return nil, false
	}
	for it.Next() {
		kids = append(kids, it.Value())
	}
	if len(kids) > 1 {
		keys := make([]order, len(kids))
		for i, c := range kids {
			keys[i] = orderOf(c)
		}
		sort.Stable(byOrder{kids, keys})
	}
	return kids, false
}

// stepsDo is the #do of a struct that only groups operations.
const stepsDo = "steps"

// order sorts sibling fields: by @step(n) first, as KubeVela does, then
// by where they are written. CUE lists fields made by comprehensions ahead
// of the others, so its own order is not the document's. Fields without
// a position (filled from data) come last, in CUE's order.
type order struct {
	hasStep bool
	n       int
	pos     token.Pos
}

func orderOf(v cue.Value) order {
	n, ok := stepOrder(v)
	return order{hasStep: ok, n: n, pos: v.Pos()}
}

func (a order) before(b order) bool {
	switch {
	case a.hasStep && b.hasStep && a.n != b.n:
		return a.n < b.n
	case a.hasStep != b.hasStep:
		return a.hasStep
	}
	pa, pb := a.pos, b.pos
	switch {
	case pa.IsValid() != pb.IsValid():
		return pa.IsValid()
	case !pa.IsValid():
		return false
	case pa.Filename() != pb.Filename():
		return pa.Filename() < pb.Filename()
	case pa.Line() != pb.Line():
		return pa.Line() < pb.Line()
	}
	return pa.Column() < pb.Column()
}

type byOrder struct {
	values []cue.Value
	keys   []order
}

func (b byOrder) Len() int           { return len(b.values) }
func (b byOrder) Less(i, j int) bool { return b.keys[i].before(b.keys[j]) }
func (b byOrder) Swap(i, j int) {
	b.values[i], b.values[j] = b.values[j], b.values[i]
	b.keys[i], b.keys[j] = b.keys[j], b.keys[i]
}

// stepOrder reads a field's @step(n) attribute.
func stepOrder(v cue.Value) (int, bool) {
	a := v.Attribute("step")
	if a.Err() != nil {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(a.Contents()))
	return n, err == nil
}
