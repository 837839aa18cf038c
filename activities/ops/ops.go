// Package ops holds the operations templates call (the `#do`/`#provider`
// pairs of the op packages in cuedefs) and the one table that registers them.
// Each provider is one file here plus its CUE schema in cuedefs/packages.
//
// An operation reads its arguments from CUE, does its I/O, and returns a
// result the evaluator fills back into the template. It knows nothing of
// Temporal.
package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"

	"cuelang.org/go/cue"

	"github.com/velaflow/velaflow/cuedefs"
	"github.com/velaflow/velaflow/stepio"
)

// Op is one operation.
type Op struct {
	Provider, Do string
	// Run performs the operation. A returned error is a provider error: the
	// step is retried. Steering outcomes (wait, fail ...) go to call.Outcome.
	Run func(ctx context.Context, call *Call) (any, error)
	// Once tells, from the arguments, whether a completed call must not be
	// repeated when the step is re-executed (its result is memoized).
	Once func(args cue.Value) bool
	// LegacyResult is the field the result is filled into for legacy vela/op
	// operations ("" fills the operation's own fields).
	LegacyResult string
	// Stateful operations keep state across the executions of their step
	// (Call.State, Call.SetState), such as how long a check has held.
	Stateful bool
	// Pure operations compute from their arguments only: no I/O, no effect
	// outside the step. A step whose template calls only pure operations
	// runs in the workflow's worker as a local activity, without a round
	// trip through the server.
	Pure bool
	// LegacySpread names a result field whose own fields legacy vela/op
	// templates also read at the operation's top level (older templates
	// write `apply.status` for `apply.value.status`).
	LegacySpread string
}

// Call is one invocation of an operation.
type Call struct {
	// Args are the operation's arguments: $params, or the operation itself
	// for legacy vela/op operations.
	Args    cue.Value
	Outcome *Outcome
	// Path is where the operation is in the template: with Env.Session it
	// names the operation the same in every execution of the step.
	Path string
	// Resumed is true when the step runs again after its suspension ended.
	Resumed bool
	// Env is the run and the clusters; nil when the worker has none.
	Env *Env
	// State is what a Stateful operation saved in the step's earlier
	// executions (nil the first time).
	State    json.RawMessage
	newState json.RawMessage
}

// SetState saves v for the next execution of the step.
func (c *Call) SetState(v any) error {
	b, err := json.Marshal(v)
	if err == nil {
		c.newState = b
	}
	return err
}

// NewState is what SetState saved in this call (nil for nothing).
func (c *Call) NewState() json.RawMessage { return c.newState }

// Watch notes that the execution read obj: if the step waits, a change of
// obj wakes it.
func (c *Call) Watch(cluster string, obj map[string]any) {
	md, _ := obj["metadata"].(map[string]any)
	ref := ObjectRef{Cluster: cluster}
	ref.APIVersion, _ = obj["apiVersion"].(string)
	ref.Kind, _ = obj["kind"].(string)
	ref.Namespace, _ = md["namespace"].(string)
	ref.Name, _ = md["name"].(string)
	ref.ResourceVersion, _ = md["resourceVersion"].(string)
	c.Outcome.update(func(o *Outcome) { o.Reads = append(o.Reads, ref) })
}

// ObjectRef names a Kubernetes object in a cluster.
type ObjectRef = stepio.ObjectRef

// FinalError is a provider error retrying cannot cure (an unknown cluster,
// a forbidden request): the step fails at once.
type FinalError struct{ Err error }

func (e FinalError) Error() string { return e.Err.Error() }
func (e FinalError) Unwrap() error { return e.Err }

// Decode reads the arguments into a Go value. Arguments that are not
// concrete yet, because they refer to a field an earlier operation's
// result does not have (yet), give an IncompleteError: the step is retried,
// as KubeVela retries it. Any other problem is a RenderingError.
func (c *Call) Decode(into any) error {
	err := c.Args.Decode(into)
	if err == nil {
		return nil
	}
	if cuedefs.ValidatePending(c.Args) == nil && c.Args.Validate(cue.Concrete(true)) != nil {
		return IncompleteError{fmt.Errorf("arguments not complete yet: %w", err)}
	}
	return RenderingError{fmt.Errorf("arguments: %w", err)}
}

// IncompleteError marks arguments that refer to values not there yet.
type IncompleteError struct{ Err error }

func (e IncompleteError) Error() string { return e.Err.Error() }
func (e IncompleteError) Unwrap() error { return e.Err }

// RenderingError marks arguments that cannot be read: retrying cannot help.
type RenderingError struct{ Err error }

func (e RenderingError) Error() string { return e.Err.Error() }
func (e RenderingError) Unwrap() error { return e.Err }

// Outcome is what the builtin operations decide about the step. It is
// shared by the operations of one step execution, which may run
// concurrently.
type Outcome struct {
	mu       sync.Mutex
	Wait     bool
	Suspend  bool
	Duration string
	Fail     bool
	Break    bool
	Message  string
	// Logs are the lines #Log wrote, in order.
	Logs []string
	// Reads are the Kubernetes objects the execution read.
	Reads    []ObjectRef
	logBytes int
}

// Stopped tells whether an operation ended the step's execution: later
// operations are not run.
func (o *Outcome) Stopped() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.Wait || o.Suspend || o.Fail || o.Break
}

// log keeps lines in the step's log, up to maxLogBytes.
func (o *Outcome) log(lines ...string) {
	o.update(func(o *Outcome) {
		for _, l := range lines {
			if o.logBytes+len(l) > maxLogBytes {
				o.Logs = append(o.Logs, "... (log truncated)")
				return
			}
			o.logBytes += len(l)
			o.Logs = append(o.Logs, l)
		}
	})
}

func (o *Outcome) update(fn func(o *Outcome)) {
	o.mu.Lock()
	defer o.mu.Unlock()
	fn(o)
}

var registry = map[string]Op{}

// Register adds operations to the table, replacing any of the same
// provider and name (tests replace I/O with fakes this way).
func Register(ops ...Op) { register(ops...) }

func register(ops ...Op) {
	for _, op := range ops {
		registry[op.Provider+"."+op.Do] = op
	}
}

// PureOperations lists the pure operations, as "provider.do".
func PureOperations() []string {
	var out []string
	for key, op := range registry {
		if op.Pure {
			out = append(out, key)
		}
	}
	sort.Strings(out)
	return out
}

func pure(ops []Op) []Op {
	for i := range ops {
		ops[i].Pure = true
	}
	return ops
}

// Lookup finds an operation by provider and name.
func Lookup(provider, do string) (Op, bool) {
	op, ok := registry[provider+"."+do]
	return op, ok
}

func init() {
	register(builtinOps()...)
	register(httpOps()...)
	register(utilOps()...)
	register(kubeOps()...)
	register(timeOps()...)
	register(configOps()...)
	register(emailOps()...)
	register(metricsOps()...)
}
