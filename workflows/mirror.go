package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/velaflow/velaflow/stepio"
	"github.com/velaflow/velaflow/translator"
)

// mirror is a run's writing of its status into the WorkflowRun object it
// was started from (engine version 4, runs started by the controller).
// The run pushes: every change of its status asks for a write, and the
// changes made while a write is under way go out together in the next.
type mirror struct {
	object stepio.RunObject
	// changes counts the status changes; written is the count the last
	// write carried, and last what it wrote.
	changes, written int
	last             *stepio.ObjectStatus
	// gone: the object was deleted or replaced; the run stops writing.
	gone bool
}

// Backoff of a write that failed (the API server unreachable): the run
// goes on meanwhile, and the next write carries every change since.
const (
	mirrorBackoffInitial = time.Second
	mirrorBackoffMax     = 30 * time.Second
)

// startMirror begins writing the status into the run's object, if it has
// one. A continued execution writes only what changed since the write its
// previous execution carried.
//
// The object must be in the run's own namespace: a run is not a way to
// write into the objects of other namespaces.
func (r *run) startMirror(ctx workflow.Context, obj *stepio.RunObject, carried *stepio.ObjectStatus) {
	if obj == nil || r.engine < engineMirrorsObject || r.group != "" || obj.Namespace != r.plan.Namespace {
		return
	}
	r.mirror = &mirror{object: *obj, last: carried, written: -1}
	workflow.Go(ctx, r.mirrorLoop)
}

func (r *run) mirrorLoop(ctx workflow.Context) {
	m := r.mirror
	backoff := time.Duration(0)
	for !m.gone {
		_ = workflow.Await(ctx, func() bool { return m.changes != m.written })
		seq := m.changes
		st := objectStatus(r.snapshot(), r.plan, m.object.Generation)
		var res stepio.MirrorResult
		err := workflow.ExecuteLocalActivity(mirrorContext(ctx, m.object), stepio.MirrorStatusName,
			stepio.MirrorInput{Object: m.object, Previous: m.last, Status: st}).Get(ctx, &res)
		if err != nil {
			backoff = min(max(2*backoff, mirrorBackoffInitial), mirrorBackoffMax)
			_ = workflow.NewTimerWithOptions(ctx, backoff, workflow.TimerOptions{
				Summary: fmt.Sprintf("status into WorkflowRun %s/%s: retry in %s", m.object.Namespace, m.object.Name, backoff)}).Get(ctx, nil)
			continue
		}
		backoff = 0
		m.last, m.written, m.gone = &st, seq, res.Gone
	}
}

// mirrorContext bounds one write: a write that cannot be made soon is
// tried again after a durable backoff, so an unreachable API server holds
// no workflow task for long.
func mirrorContext(ctx workflow.Context, obj stepio.RunObject) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		Summary:                fmt.Sprintf("status into WorkflowRun %s/%s", obj.Namespace, obj.Name),
		ScheduleToCloseTimeout: 10 * time.Second,
		StartToCloseTimeout:    5 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 100 * time.Millisecond, BackoffCoefficient: 2, MaximumAttempts: 3,
		},
	})
}

// statusChanged asks the mirror for a write.
func (r *run) statusChanged() {
	if r.mirror != nil {
		r.mirror.changes++
	}
}

// flushMirror waits until the object shows the run's latest status (or is
// gone): a run ends, or continues as new, only once its status is out.
func (r *run) flushMirror(ctx workflow.Context) {
	if m := r.mirror; m != nil {
		_ = workflow.Await(ctx, func() bool { return m.gone || m.written == m.changes })
	}
}

// mirrored is what the next execution's first write compares with.
func (r *run) mirrored() *stepio.ObjectStatus {
	if r.mirror == nil {
		return nil
	}
	return r.mirror.last
}

// objectStatus is the run's status in KubeVela's shape. Times are whole
// seconds, as KubeVela writes them.
func objectStatus(st *Status, plan *translator.Plan, generation int64) stepio.ObjectStatus {
	start := st.StartTime.UTC().Truncate(time.Second)
	return stepio.ObjectStatus{
		Phase:              st.Phase,
		Mode:               stepio.ObjectMode{Steps: plan.Mode.Steps, SubSteps: plan.Mode.SubSteps},
		Message:            st.Message,
		Suspend:            st.Suspend,
		Terminated:         st.Terminated,
		Finished:           st.Finished,
		StartTime:          &start,
		EndTime:            seconds(st.EndTime),
		Steps:              objectSteps(st.Steps),
		ObservedGeneration: generation,
	}
}

func objectSteps(in []StepStatus) []stepio.ObjectStep {
	if in == nil {
		return nil
	}
	out := make([]stepio.ObjectStep, len(in))
	for i, s := range in {
		out[i] = stepio.ObjectStep{
			ID: s.ID, Name: s.Name, Type: s.Type, Phase: s.Phase, Reason: s.Reason, Message: s.Message,
			FirstExecuteTime: seconds(s.FirstExecuteTime), LastExecuteTime: seconds(s.LastExecuteTime),
			SubSteps: objectSteps(s.SubSteps),
		}
	}
	return out
}

func seconds(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	s := t.UTC().Truncate(time.Second)
	return &s
}
