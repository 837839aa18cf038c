package kube

import (
	"context"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
)

// Ref names an object a waiting step read, at the version it read.
type Ref struct {
	Cluster, APIVersion, Kind, Namespace, Name, ResourceVersion string
}

// Watcher wakes waiting steps: after an execution that read objects ends
// in a wait, it watches those objects and calls Wake as soon as one
// changes, so the step is executed again at once instead of at the end
// of its backoff. The durable timer stays the fallback: a watch that
// fails or a worker that dies only makes the wake-up late.
type Watcher struct {
	Registry *Registry
	// Wake tells the workflow (by ID) that the step's objects changed.
	Wake func(ctx context.Context, workflowID, step string) error
	// MaxWatch bounds one registration; the step's next execution
	// registers again.
	MaxWatch time.Duration

	mu      sync.Mutex
	active  map[string]*registration
	streams map[streamKey]*stream
	refused map[streamKey]time.Time // types and namespaces watched object by object
	// seen holds, by registration key, the objects whose change woke the
	// step, for its next execution to read (TakeSeen) instead of asking
	// the cluster again.
	seen map[string]seenObject
}

// seenObject is an object as a watch event delivered it.
type seenObject struct {
	ref Ref
	obj map[string]any
	at  time.Time
}

// seenFor is how long an object a watch delivered stands in for a read:
// the wake-up's execution comes within milliseconds; one that comes later
// reads the cluster.
const seenFor = 10 * time.Second

// registration is one Watch call's watches.
type registration struct{ cancel context.CancelFunc }

// Watch registers the step's reads, replacing its earlier registration.
func (w *Watcher) Watch(workflowID, step string, refs []Ref) {
	if w == nil || len(refs) == 0 {
		return
	}
	key := workflowID + "\x00" + step
	maxWatch := w.MaxWatch
	if maxWatch == 0 {
		maxWatch = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), maxWatch)
	reg := &registration{cancel: cancel}
	w.mu.Lock()
	if w.active == nil {
		w.active = map[string]*registration{}
	}
	if old, ok := w.active[key]; ok {
		old.cancel()
	}
	w.active[key] = reg
	w.mu.Unlock()

	var once sync.Once
	fire := func(ref Ref, obj map[string]any) {
		once.Do(func() {
			w.remember(key, ref, obj)
			wctx, done := context.WithTimeout(context.Background(), 10*time.Second)
			_ = w.Wake(wctx, workflowID, step)
			done()
			w.forget(key, reg)
		})
	}
	// A registration that runs out ends too, so it is not counted.
	context.AfterFunc(ctx, func() { w.forget(key, reg) })
	var subs []*subscription
	for _, ref := range refs {
		if sub, ok := w.subscribe(ctx, ref, fire); ok {
			subs = append(subs, sub)
			continue
		}
		go w.watchOne(ctx, ref, fire)
	}
	context.AfterFunc(ctx, func() { w.unsubscribe(subs) })
}

// remember keeps the object whose change woke the step (nil: the event
// carried none to keep).
func (w *Watcher) remember(key string, ref Ref, obj map[string]any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if obj == nil {
		delete(w.seen, key)
		return
	}
	if w.seen == nil {
		w.seen = map[string]seenObject{}
	}
	for k, s := range w.seen { // objects no execution came for
		if time.Since(s.at) > seenFor {
			delete(w.seen, k)
		}
	}
	w.seen[key] = seenObject{ref: ref, obj: obj, at: time.Now()}
}

// TakeSeen returns the object whose change woke the step, as the watch
// delivered it, if that was moments ago; it is handed out once. The
// step's next execution reads it instead of asking the cluster: it is
// the object's state at the change, and a later change is caught by the
// watch that execution registers from this version.
func (w *Watcher) TakeSeen(workflowID, step string) (Ref, map[string]any, time.Time, bool) {
	if w == nil {
		return Ref{}, nil, time.Time{}, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	key := workflowID + "\x00" + step
	s, ok := w.seen[key]
	delete(w.seen, key)
	if !ok || time.Since(s.at) > seenFor {
		return Ref{}, nil, time.Time{}, false
	}
	return s.ref, s.obj, s.at, true
}

// Forget ends the step's registration: it no longer waits.
func (w *Watcher) Forget(workflowID, step string) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	key := workflowID + "\x00" + step
	if reg, ok := w.active[key]; ok {
		reg.cancel()
		delete(w.active, key)
	}
}

// forget ends reg, and removes it unless a newer registration of the
// step replaced it.
func (w *Watcher) forget(key string, reg *registration) {
	reg.cancel()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.active[key] == reg {
		delete(w.active, key)
	}
}

// Active counts the registrations under way.
func (w *Watcher) Active() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.active)
}

// Stop ends every registration.
func (w *Watcher) Stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for k, reg := range w.active {
		reg.cancel()
		delete(w.active, k)
	}
	for k, st := range w.streams {
		st.cancel()
		delete(w.streams, k)
	}
	w.seen = nil
}

func (w *Watcher) watchOne(ctx context.Context, ref Ref, fire func(Ref, map[string]any)) {
	c, err := w.Registry.Get(ctx, ref.Cluster)
	if err != nil {
		return
	}
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(ref.APIVersion)
	u.SetKind(ref.Kind)
	u.SetNamespace(ref.Namespace)
	ri, err := c.client(u)
	if err != nil {
		return
	}
	wi, err := ri.Watch(ctx, metav1.ListOptions{
		FieldSelector:   fields.OneTermEqualSelector("metadata.name", ref.Name).String(),
		ResourceVersion: ref.ResourceVersion,
	})
	if err != nil {
		return
	}
	defer wi.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-wi.ResultChan():
			if !ok {
				return
			}
			obj, ok := ev.Object.(*unstructured.Unstructured)
			if ok && obj.GetResourceVersion() == ref.ResourceVersion {
				continue // the version the step already saw
			}
			if ok && (ev.Type == watch.Added || ev.Type == watch.Modified) {
				fire(ref, obj.Object)
			} else {
				fire(ref, nil)
			}
			return
		}
	}
}
