package kube

import (
	"context"
	"strconv"

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
// number, or older than the stream's start, gets a watch of its own.

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
	name string
	rv   uint64 // the version the step read
	fire func(obj map[string]any)
}

// maxLatest bounds a stream's record of changes; past it the record
// starts over from the latest version (later subscribers that read an
// older version get a watch of their own).
const maxLatest = 10000

// subscribe wakes fire when ref's object changes after the version read.
// It returns false when the ref needs a watch of its own.
func (w *Watcher) subscribe(ref Ref, fire func(obj map[string]any)) (*subscription, bool) {
	rv, err := strconv.ParseUint(ref.ResourceVersion, 10, 64)
	if err != nil {
		return nil, false
	}
	key := streamKey{ref.Cluster, ref.APIVersion, ref.Kind, ref.Namespace}
	w.mu.Lock()
	defer w.mu.Unlock()
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
	sub := &subscription{key: key, name: ref.Name, rv: rv, fire: fire}
	if latest, ok := st.latest[ref.Name]; ok && latest > rv {
		go fire(nil) // it changed after the step read it
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
		delete(st.subs[sub.name], sub)
		if len(st.subs[sub.name]) == 0 {
			delete(st.subs, sub.name)
		}
		if len(st.subs) == 0 {
			st.cancel()
			delete(w.streams, sub.key)
		}
	}
}

// runStream watches the stream's namespace until it is cancelled,
// picking up where it was when the API server closes the watch. A watch
// that cannot go on wakes every subscriber (their steps read again) and
// ends the stream.
func (w *Watcher) runStream(ctx context.Context, key streamKey, st *stream) {
	from := st.start
	for ctx.Err() == nil {
		next, ok := w.watchStream(ctx, key, st, from)
		if !ok {
			w.endStream(key, st)
			return
		}
		from = next
	}
}

// watchStream runs one watch from version from; it returns the version
// to go on from, and false when the stream cannot go on.
func (w *Watcher) watchStream(ctx context.Context, key streamKey, st *stream, from uint64) (uint64, bool) {
	c, err := w.Registry.Get(ctx, key.cluster)
	if err != nil {
		return from, false
	}
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(key.apiVersion)
	u.SetKind(key.kind)
	u.SetNamespace(key.namespace)
	ri, err := c.client(u)
	if err != nil {
		return from, false
	}
	wi, err := ri.Watch(ctx, metav1.ListOptions{ResourceVersion: strconv.FormatUint(from, 10), AllowWatchBookmarks: true})
	if err != nil {
		return from, ctx.Err() != nil
	}
	defer wi.Stop()
	for {
		select {
		case <-ctx.Done():
			return from, true
		case ev, open := <-wi.ResultChan():
			if !open {
				return from, true // closed by the server: go on from here
			}
			obj, ok := ev.Object.(*unstructured.Unstructured)
			if ev.Type == watch.Error || !ok {
				return from, false // e.g. the version is too old
			}
			rv, err := strconv.ParseUint(obj.GetResourceVersion(), 10, 64)
			if err != nil {
				return from, false
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
	var fire []func(map[string]any)
	w.mu.Lock()
	if len(st.latest) >= maxLatest {
		st.latest, st.start = map[string]uint64{}, rv
	}
	st.latest[obj.GetName()] = rv
	for sub := range st.subs[obj.GetName()] {
		if sub.rv != rv {
			fire = append(fire, sub.fire)
		}
	}
	w.mu.Unlock()
	var keep map[string]any
	if !deleted {
		keep = obj.Object
	}
	for _, f := range fire {
		go f(keep) // waking runs a signal: not on the stream's time
	}
}

// endStream wakes every subscriber of a stream that cannot go on.
func (w *Watcher) endStream(key streamKey, st *stream) {
	var fire []func(map[string]any)
	w.mu.Lock()
	for _, subs := range st.subs {
		for sub := range subs {
			fire = append(fire, sub.fire)
		}
	}
	if w.streams[key] == st {
		delete(w.streams, key)
	}
	w.mu.Unlock()
	st.cancel()
	for _, f := range fire {
		go f(nil)
	}
}
