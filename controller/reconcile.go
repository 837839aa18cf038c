package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/resourceversion"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/velaflow/velaflow/runs"
	"github.com/velaflow/velaflow/stepio"
	"github.com/velaflow/velaflow/translator"
	"github.com/velaflow/velaflow/workflows"
)

// Finalizer keeps a WorkflowRun until its Temporal run is terminated.
const Finalizer = "velaflow.dev/terminate-run"

// Reconciler turns WorkflowRun objects into Temporal runs and carries the
// operations written into their status to the runs. The runs write their
// status into the objects themselves.
type Reconciler struct {
	opts     Options
	client   ctrl.Client // cached reads, writes
	reader   ctrl.Reader // the API server itself
	runs     *runs.Client
	recorder events.EventRecorder

	mu sync.Mutex
	// written is the resourceVersion of the controller's last write of
	// each object: a cached copy older than it is not acted on (the
	// watch brings the newer one).
	written map[string]string
	// sent is the last operation carried to each object's run, and the
	// status it was read from: the same request is not sent twice.
	sent map[string]string
}

// Reconcile is called for every change of a WorkflowRun.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(runGVK)
	if err := r.client.Get(ctx, req.NamespacedName, obj); err != nil {
		return reconcile.Result{}, ctrl.IgnoreNotFound(err)
	}
	if r.stale(obj) {
		return reconcile.Result{}, nil
	}
	ref := stepio.RunObject{Cluster: r.opts.ClusterName, Namespace: obj.GetNamespace(), Name: obj.GetName(),
		UID: string(obj.GetUID()), Generation: obj.GetGeneration()}
	id := runs.ObjectWorkflowID(ref)
	if obj.GetDeletionTimestamp() != nil {
		return reconcile.Result{}, r.remove(ctx, obj, id)
	}
	if !controllerutil.ContainsFinalizer(obj, Finalizer) {
		if err := r.addFinalizer(ctx, obj); err != nil {
			return reconcile.Result{}, err
		}
	}
	st, err := objectStatus(obj)
	if err != nil {
		return reconcile.Result{}, err
	}
	what := decide(st, obj.GetGeneration())
	if what == none || r.alreadySent(obj, what) {
		return reconcile.Result{}, nil
	}
	log.FromContext(ctx).V(1).Info("operation", "intent", what.String(), "workflowID", id)
	switch what {
	case start:
		err = r.start(ctx, obj, ref, id)
	case ensureStarted:
		err = r.ensureStarted(ctx, obj, ref, id)
	case suspend, resume, terminate:
		err = r.signal(ctx, obj, id, what)
	case restartFromStep:
		err = r.restartFromStep(ctx, obj, st, id)
	}
	if err == nil {
		r.markSent(obj, what)
	}
	return reconcile.Result{}, err
}

// start starts the object's run: a new object, or one whose status was
// reset, which restarts it (the run still going is terminated first).
// Initializing is written before the start, so a status found empty
// while a run exists is always a reset.
func (r *Reconciler) start(ctx context.Context, obj *unstructured.Unstructured, ref stepio.RunObject, id string) error {
	exists, _, obj, err := r.confirm(ctx, obj, id, start)
	if err != nil || obj == nil {
		return err
	}
	plan, err := r.translate(ctx, obj)
	var bad invalid
	if errors.As(err, &bad) {
		return r.refuse(ctx, obj, bad.msg)
	}
	if err != nil {
		return err
	}
	if exists {
		if err := r.runs.TerminateID(ctx, id, "its WorkflowRun's status was reset: restarted"); err != nil {
			return err
		}
	}
	init := stepio.ObjectStatus{Phase: phaseInitializing,
		Mode:               stepio.ObjectMode{Steps: plan.Mode.Steps, SubSteps: plan.Mode.SubSteps},
		ObservedGeneration: obj.GetGeneration()}
	if err := r.writeStatus(ctx, obj, init); err != nil {
		return err
	}
	return r.startRun(ctx, plan, ref)
}

// ensureStarted starts the run if initializing was written but the start
// did not happen (the controller died in between), or the run there is an
// earlier one (closed: a run ends only after writing its final status).
func (r *Reconciler) ensureStarted(ctx context.Context, obj *unstructured.Unstructured, ref stepio.RunObject, id string) error {
	_, running, obj, err := r.confirm(ctx, obj, id, ensureStarted)
	if err != nil || obj == nil || running {
		return err
	}
	plan, err := r.translate(ctx, obj)
	var bad invalid
	if errors.As(err, &bad) {
		return r.refuse(ctx, obj, bad.msg)
	}
	if err != nil {
		return err
	}
	return r.startRun(ctx, plan, ref)
}

// confirm asks Temporal about the object's run, then reads the object
// from the API server (a cached copy may lag behind the run's own
// writes) and returns it if it still asks for what; nil if not. In that
// order: a run ends only after its final status is written, so a status
// read after the run was seen closed that still asks for a start was
// written after that run.
func (r *Reconciler) confirm(ctx context.Context, obj *unstructured.Unstructured, id string, what intent) (exists, running bool, fresh *unstructured.Unstructured, err error) {
	desc, err := r.runs.Temporal.DescribeWorkflowExecution(ctx, id, "")
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
	case err != nil:
		return false, false, nil, err
	default:
		exists = true
		running = desc.WorkflowExecutionInfo.Status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	}
	fresh = &unstructured.Unstructured{}
	fresh.SetGroupVersionKind(runGVK)
	if err := r.reader.Get(ctx, ctrl.ObjectKeyFromObject(obj), fresh); err != nil {
		return false, false, nil, ctrl.IgnoreNotFound(err)
	}
	st, err := objectStatus(fresh)
	if err != nil || fresh.GetUID() != obj.GetUID() || fresh.GetDeletionTimestamp() != nil || decide(st, fresh.GetGeneration()) != what {
		return false, false, nil, err
	}
	return exists, running, fresh, nil
}

func (r *Reconciler) startRun(ctx context.Context, plan *translator.Plan, ref stepio.RunObject) error {
	run, err := r.runs.StartObject(ctx, plan, ref)
	if errors.Is(err, runs.ErrAlreadyRunning) {
		return nil
	}
	if err != nil {
		return err
	}
	log.FromContext(ctx).Info("started", "workflowID", run.GetID(), "runID", run.GetRunID())
	return nil
}

// refuse writes why a run is invalid into its status, and an Event.
func (r *Reconciler) refuse(ctx context.Context, obj *unstructured.Unstructured, msg string) error {
	r.recorder.Eventf(obj, nil, corev1.EventTypeWarning, "InvalidWorkflowRun", "Translate", "%s", msg)
	now := time.Now().UTC().Truncate(time.Second)
	return r.writeStatus(ctx, obj, stepio.ObjectStatus{Phase: workflows.RunFailed, Message: invalidPrefix + msg,
		Finished: true, EndTime: &now, ObservedGeneration: obj.GetGeneration()})
}

// signal carries suspend, resume or terminate to the run.
func (r *Reconciler) signal(ctx context.Context, obj *unstructured.Unstructured, id string, what intent) error {
	name := map[intent]string{suspend: workflows.SignalSuspend, resume: workflows.SignalResume, terminate: workflows.SignalTerminate}[what]
	err := r.runs.SignalID(ctx, id, name)
	if err != nil && r.runEnded(ctx, id) {
		return nil // it ended meanwhile; its final status tells
	}
	if err == nil {
		r.recorder.Eventf(obj, nil, corev1.EventTypeNormal, "Operation", name, "%s sent to run %s", name, id)
	}
	return err
}

// runEnded tells the object's run is gone or closed.
func (r *Reconciler) runEnded(ctx context.Context, id string) bool {
	desc, err := r.runs.Temporal.DescribeWorkflowExecution(ctx, id, "")
	var nf *serviceerror.NotFound
	return errors.As(err, &nf) || (err == nil && desc.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING)
}

// restartFromStep restarts the run from the failed step whose status the
// operator removed.
func (r *Reconciler) restartFromStep(ctx context.Context, obj *unstructured.Unstructured, st *stepio.ObjectStatus, id string) error {
	prev, err := r.runs.StatusID(ctx, id)
	if err != nil {
		return err
	}
	step := restartStep(prev.Steps, st.Steps)
	if step == "" {
		r.recorder.Eventf(obj, nil, corev1.EventTypeWarning, "RestartIgnored", "Restart",
			"the status was marked unfinished, but no failed step's status was removed: nothing to restart from")
		return nil
	}
	if _, err := r.runs.RestartID(ctx, id, step); err != nil {
		return err
	}
	r.recorder.Eventf(obj, nil, corev1.EventTypeNormal, "Operation", "Restart", "run %s restarted from step %s", id, step)
	return nil
}

// remove terminates the run of a deleted object and lets the object go.
func (r *Reconciler) remove(ctx context.Context, obj *unstructured.Unstructured, id string) error {
	if !controllerutil.ContainsFinalizer(obj, Finalizer) {
		return nil
	}
	if err := r.runs.TerminateID(ctx, id, "its WorkflowRun was deleted"); err != nil {
		return err
	}
	orig := obj.DeepCopy()
	controllerutil.RemoveFinalizer(obj, Finalizer)
	if err := r.client.Patch(ctx, obj, ctrl.MergeFromWithOptions(orig, ctrl.MergeFromWithOptimisticLock{})); err != nil {
		return ctrl.IgnoreNotFound(err)
	}
	r.forget(string(obj.GetUID()))
	return nil
}

func (r *Reconciler) addFinalizer(ctx context.Context, obj *unstructured.Unstructured) error {
	orig := obj.DeepCopy()
	controllerutil.AddFinalizer(obj, Finalizer)
	if err := r.client.Patch(ctx, obj, ctrl.MergeFromWithOptions(orig, ctrl.MergeFromWithOptimisticLock{})); err != nil {
		return err
	}
	r.noteWritten(obj)
	return nil
}

// writeStatus replaces the object's status, if the object did not change
// since it was read.
func (r *Reconciler) writeStatus(ctx context.Context, obj *unstructured.Unstructured, st stepio.ObjectStatus) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	orig := obj.DeepCopy()
	obj.Object["status"] = m
	if err := r.client.Status().Patch(ctx, obj, ctrl.MergeFromWithOptions(orig, ctrl.MergeFromWithOptimisticLock{})); err != nil {
		return err
	}
	r.noteWritten(obj)
	return nil
}

// objectStatus reads the object's status (nil: none).
func objectStatus(obj *unstructured.Unstructured) (*stepio.ObjectStatus, error) {
	raw, ok := obj.Object["status"]
	if !ok || raw == nil {
		return nil, nil
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil, err
	}
	var st stepio.ObjectStatus
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("the status of WorkflowRun %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
	}
	return &st, nil
}

func (r *Reconciler) noteWritten(obj *unstructured.Unstructured) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.written[string(obj.GetUID())] = obj.GetResourceVersion()
}

// stale tells a cached copy older than the controller's own last write.
func (r *Reconciler) stale(obj *unstructured.Unstructured) bool {
	r.mu.Lock()
	w, ok := r.written[string(obj.GetUID())]
	r.mu.Unlock()
	if !ok {
		return false
	}
	c, err := resourceversion.CompareResourceVersion(obj.GetResourceVersion(), w)
	return err == nil && c < 0
}

// alreadySent tells the same operation was carried for the same status.
func (r *Reconciler) alreadySent(obj *unstructured.Unstructured, what intent) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sent[string(obj.GetUID())] == sentKey(obj, what)
}

func (r *Reconciler) markSent(obj *unstructured.Unstructured, what intent) {
	if what == start {
		return // its own write changed the status
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent[string(obj.GetUID())] = sentKey(obj, what)
}

func sentKey(obj *unstructured.Unstructured, what intent) string {
	b, _ := json.Marshal(obj.Object["status"])
	return what.String() + string(b)
}

// forget drops what is remembered of a deleted object.
func (r *Reconciler) forget(uid string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.written, uid)
	delete(r.sent, uid)
}
