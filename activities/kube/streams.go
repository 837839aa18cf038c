package kube

import (
	"context"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
)

// Waiting steps that read objects of one type in one namespace share one
// watch stream of that namespace, instead of a watch each: a thousand
// runs waiting on their own ConfigMap hold one connection stream, not a
// thousand (each costs tens of KiB and three goroutines).
//
// A stream starts from the version its first subscriber read and records,
// by name, the version of the latest change it delivered. A subscriber
// that read its object at a version the stream started before is woken
// at once when the stream has delivered a later change of the object;
// otherwise it waits for the next one. Resource versions are compared as
// numbers, as etcd's revisions are; a subscriber whose version is not a
// number, or older than the stream's start, gets a watch of its own. So
// do the subscribers of a stream that cannot go on, and, for a while,
// those of a type and namespace whose watch was refused (a worker may be
// allowed to watch only the objects it names).

// streamKey names a stream: one type of object in one namespace.
type streamKey struct{ cluster, apiVersion, kind, namespace string }

type stream struct {
	start  uint64 // the version the stream's watch started from
	cancel context.CancelFunc
	subs   map[string]map[*subscription]bool // by object name
	latest map[string]uint64                 // the latest change delivered, by name
}

// subscription is one registration's interest in one object.
type subscription struct {
	key  streamKey
	ref  Ref
	rv   uint64          // the version the step read
	ctx  context.Context // the registration's
	fire func(Ref, map[string]any)
}

// refusedFor is how long a type and namespace whose watch was refused is
// watched object by object.
const refusedFor = 10 * time.Minute

// maxLatest bounds a stream's record of changes; past it the record
// starts over from the latest version (later subscribers that read an
// older version get a watch of their own).
const maxLatest = 10000

// subscribe wakes fire when ref's object changes after the version read.
// It returns false when the ref needs a watch of its own.
func (w *Watcher) subscribe(ctx context.Context, ref Ref, fire func(Ref, map[string]any)) (*subscription, bool) {
	rv, err := strconv.ParseUint(ref.ResourceVersion, 10, 64)
	if err != nil {
		return nil, false
	}
	key := streamKey{ref.Cluster, ref.APIVersion, ref.Kind, ref.Namespace}
	w.mu.Lock()
	defer w.mu.Unlock()
	if time.Now().Before(w.refused[key]) {
		return nil, false
	}
	st := w.streams[key]
	if st == nil {
		ctx, cancel := context.WithCancel(context.Background())
		st = &stream{start: rv, cancel: cancel, subs: map[string]map[*subscription]bool{}, latest: map[string]uint64{}}
		if w.streams == nil {
			w.streams = map[streamKey]*stream{}
		}
		w.streams[key] = st
		go w.runStream(ctx, key, st)
	}
	if rv < st.start {
		return nil, false
	}
	sub := &subscription{key: key, ref: ref, rv: rv, ctx: ctx, fire: fire}
	if latest, ok := st.latest[ref.Name]; ok && latest > rv {
		go fire(ref, nil) // it changed after the step read it
		return sub, true
	}
	if st.subs[ref.Name] == nil {
		st.subs[ref.Name] = map[*subscription]bool{}
	}
	st.subs[ref.Name][sub] = true
	return sub, true
}

// unsubscribe ends subscriptions; a stream left without any ends.
func (w *Watcher) unsubscribe(subs []*subscription) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, sub := range subs {
		st := w.streams[sub.key]
		if st == nil {
			continue
		}
		delete(st.subs[sub.ref.Name], sub)
		if len(st.subs[sub.ref.Name]) == 0 {
			delete(st.subs, sub.ref.Name)
		}
		if len(st.subs) == 0 {
			st.cancel()
			delete(w.streams, sub.key)
		}
	}
}

// runStream watches the stream's namespace until it is cancelled,
// picking up where it was when the API server closes the watch. When the
// watch cannot go on, the stream ends and its subscribers get watches of
// their own.
func (w *Watcher) runStream(ctx context.Context, key streamKey, st *stream) {
	from, first := st.start, true
	for ctx.Err() == nil {
		next, ok, started := w.watchStream(ctx, key, st, from)
		if !ok {
			w.endStream(key, st, first && !started)
			return
		}
		from, first = next, false
	}
}

// watchStream runs one watch from version from; it returns the version
// to go on from, false when the stream cannot go on, and whether the API
// server accepted the watch.
func (w *Watcher) watchStream(ctx context.Context, key streamKey, st *stream, from uint64) (uint64, bool, bool) {
	c, err := w.Registry.Get(ctx, key.cluster)
	if err != nil {
		return from, false, false
	}
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(key.apiVersion)
	u.SetKind(key.kind)
	u.SetNamespace(key.namespace)
	ri, err := c.client(u)
	if err != nil {
		return from, false, false
	}
	wi, err := ri.Watch(ctx, metav1.ListOptions{ResourceVersion: strconv.FormatUint(from, 10), AllowWatchBookmarks: true})
	if err != nil {
		return from, ctx.Err() != nil, false
	}
	defer wi.Stop()
	for {
		select {
		case <-ctx.Done():
			return from, true, true
		case ev, open := <-wi.ResultChan():
			if !open {
				return from, true, true // closed by the server: go on from here
			}
			obj, ok := ev.Object.(*unstructured.Unstructured)
			if ev.Type == watch.Error || !ok {
				return from, false, true // e.g. the version is too old
			}
			rv, err := strconv.ParseUint(obj.GetResourceVersion(), 10, 64)
			if err != nil {
				return from, false, true
			}
			from = rv
			if ev.Type != watch.Bookmark {
				w.deliver(st, obj, ev.Type == watch.Deleted, rv)
			}
		}
	}
}

// deliver wakes the subscribers of a changed object that read another
// version of it.
func (w *Watcher) deliver(st *stream, obj *unstructured.Unstructured, deleted bool, rv uint64) {
	var fire []*subscription
	w.mu.Lock()
	if len(st.latest) >= maxLatest {
		st.latest, st.start = map[string]uint64{}, rv
	}
	st.latest[obj.GetName()] = rv
	for sub := range st.subs[obj.GetName()] {
		if sub.rv != rv {
			fire = append(fire, sub)
		}
	}
	w.mu.Unlock()
	var keep map[string]any
	if !deleted {
		keep = obj.Object
	}
	for _, sub := range fire {
		go sub.fire(sub.ref, keep) // waking runs a signal: not on the stream's time
	}
}

// endStream ends a stream that cannot go on and gives its subscribers
// watches of their own; refused marks the type and namespace as watched
// object by object for a while.
func (w *Watcher) endStream(key streamKey, st *stream, refused bool) {
	var subs []*subscription
	w.mu.Lock()
	for _, byName := range st.subs {
		for sub := range byName {
			subs = append(subs, sub)
		}
	}
	st.subs = map[string]map[*subscription]bool{}
	if w.streams[key] == st {
		delete(w.streams, key)
	}
	if refused {
		if w.refused == nil {
			w.refused = map[streamKey]time.Time{}
		}
		w.refused[key] = time.Now().Add(refusedFor)
	}
	w.mu.Unlock()
	st.cancel()
	for _, sub := range subs {
		go w.watchOne(sub.ctx, sub.ref, sub.fire)
	}
}
