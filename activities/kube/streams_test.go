package kube

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// eventServer is an API server whose ConfigMap watches stay open and get
// the events pushed to them; it records each watch's query.
type eventServer struct {
	*httptest.Server
	mu      sync.Mutex
	open    map[chan string]string // open watches: events in, field selector
	queries []string
	// refuseShared answers a watch of a whole namespace 403 Forbidden.
	refuseShared bool
	refused      int
}

func newEventServer(t *testing.T) *eventServer {
	e := &eventServer{open: map[chan string]string{}}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case answerDiscovery(w, r):
		case r.URL.Query().Get("watch") == "true" && e.refuseShared && r.URL.Query().Get("fieldSelector") == "":
			e.mu.Lock()
			e.refused++
			e.mu.Unlock()
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403}`)
		case r.URL.Query().Get("watch") == "true":
			events := make(chan string, 10)
			e.mu.Lock()
			e.open[events] = r.URL.Query().Get("fieldSelector")
			e.queries = append(e.queries, r.URL.RawQuery)
			e.mu.Unlock()
			defer func() { e.mu.Lock(); delete(e.open, events); e.mu.Unlock() }()
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			for {
				select {
				case <-r.Context().Done():
					return
				case ev := <-events:
					fmt.Fprintln(w, ev)
					w.(http.Flusher).Flush()
				}
			}
		default:
			<-r.Context().Done()
		}
	}))
	t.Cleanup(e.Close)
	return e
}

// change sends a MODIFIED event of ConfigMap name at version rv to every
// namespace-wide watch.
func (e *eventServer) change(name string, rv int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for ch, selector := range e.open {
		if selector == "" {
			ch <- fmt.Sprintf(`{"type":"MODIFIED","object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q,"namespace":"default","resourceVersion":"%d"}}}`, name, rv)
		}
	}
}

func (e *eventServer) watches() (shared, own int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, selector := range e.open {
		if selector == "" {
			shared++
		} else {
			own++
		}
	}
	return shared, own
}

// Steps waiting on objects of one namespace share one watch of it, each
// woken only by a change of its own object; a step that read a version
// older than the stream's start gets a watch of its own, and one whose
// object changed before it joined is woken at once.
func TestStepsShareANamespacesWatch(t *testing.T) {
	e := newEventServer(t)
	woken := make(chan string, 10)
	w := &Watcher{Registry: (&fakeAPIServer{Server: e.Server}).registry(t), Wake: func(_ context.Context, id, _ string) error { woken <- id; return nil }}
	defer w.Stop()
	ref := func(name string, rv int) []Ref {
		return []Ref{{APIVersion: "v1", Kind: "ConfigMap", Namespace: "default", Name: name, ResourceVersion: fmt.Sprint(rv)}}
	}
	expectWoken := func(want string) {
		t.Helper()
		select {
		case got := <-woken:
			assert.Equal(t, want, got)
		case <-time.After(30 * time.Second):
			t.Fatalf("%s was not woken", want)
		}
	}
	w.Watch("default/a", "wait", ref("x", 5))
	w.Watch("default/b", "wait", ref("y", 5))
	waitFor(t, "one shared watch", func() bool { s, _ := e.watches(); return s == 1 })
	e.mu.Lock()
	assert.Contains(t, e.queries[0], "resourceVersion=5")
	e.mu.Unlock()

	e.change("y", 6)
	expectWoken("default/b")
	w.Watch("default/c", "wait", ref("x", 3)) // read before the stream started
	waitFor(t, "a watch of its own", func() bool { _, own := e.watches(); return own == 1 })
	w.Watch("default/d", "wait", ref("y", 5)) // y changed at 6 since
	expectWoken("default/d")

	e.change("x", 7)
	expectWoken("default/a")
	assert.Empty(t, woken, "nobody else woken")
	w.Forget("default/c", "wait")
	waitFor(t, "every watch ends with its steps", func() bool { s, own := e.watches(); return s == 0 && own == 0 })
}

// Where a namespace may not be watched as a whole, each step watches its
// own object, and later steps do so at once.
func TestRefusedNamespaceWatchesFallBackToObjects(t *testing.T) {
	e := newEventServer(t)
	e.refuseShared = true
	w := &Watcher{Registry: (&fakeAPIServer{Server: e.Server}).registry(t), Wake: func(context.Context, string, string) error { return nil }}
	defer w.Stop()
	ref := []Ref{{APIVersion: "v1", Kind: "ConfigMap", Namespace: "default", Name: "x", ResourceVersion: "5"}}
	w.Watch("default/a", "wait", ref)
	waitFor(t, "a watch of its own", func() bool { _, own := e.watches(); return own == 1 })
	w.Watch("default/b", "wait", ref)
	waitFor(t, "a second watch of its own", func() bool { _, own := e.watches(); return own == 2 })
	e.mu.Lock()
	defer e.mu.Unlock()
	assert.Equal(t, 1, e.refused, "the namespace was asked once, not again")
}
