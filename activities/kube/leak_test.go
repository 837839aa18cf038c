package kube

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// answerDiscovery answers the API discovery of a server serving
// ConfigMaps; it reports whether r asked for it.
func answerDiscovery(w http.ResponseWriter, r *http.Request) bool {
	switch r.URL.Path {
	case "/api":
		fmt.Fprint(w, `{"kind":"APIVersions","versions":["v1"]}`)
	case "/apis":
		fmt.Fprint(w, `{"kind":"APIGroupList","groups":[]}`)
	case "/api/v1":
		fmt.Fprint(w, `{"kind":"APIResourceList","groupVersion":"v1","resources":[{"name":"configmaps","namespaced":true,"kind":"ConfigMap","verbs":["get","list","watch"]}]}`)
	default:
		return false
	}
	return true
}

// fakeAPIServer answers discovery for ConfigMaps, holds every watch open
// until the client goes (counting them), and never answers /version.
type fakeAPIServer struct {
	*httptest.Server
	watches atomic.Int32
	// Lists of ConfigMaps have pages pages of one object of itemBytes
	// each; served counts the pages sent.
	pages, itemBytes int
	served           atomic.Int32
}

func newFakeAPIServer(t *testing.T) *fakeAPIServer {
	f := &fakeAPIServer{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case answerDiscovery(w, r):
		case strings.HasSuffix(r.URL.Path, "/configmaps") && r.URL.Query().Get("watch") == "true":
			f.watches.Add(1)
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			f.watches.Add(-1)
		case strings.HasSuffix(r.URL.Path, "/configmaps"):
			f.served.Add(1)
			page, _ := strconv.Atoi(r.URL.Query().Get("continue"))
			next := ""
			if page+1 < f.pages {
				next = strconv.Itoa(page + 1)
			}
			fmt.Fprintf(w, `{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"continue":%q},"items":[{"metadata":{"name":"cm%d","namespace":"default"},"data":{"d":%q}}]}`,
				next, page, strings.Repeat("x", f.itemBytes))
		default: // /version and anything else: no answer
			<-r.Context().Done()
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPIServer) registry(t *testing.T) *Registry {
	cfg := write(t, "kubeconfig", fmt.Sprintf(`
apiVersion: v1
kind: Config
clusters: [{name: fake, cluster: {server: %q}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: fake, context: {cluster: fake, user: u}}]
current-context: fake
`, f.URL))
	reg, err := NewRegistry(Options{Kubeconfig: cfg, SecretNamespace: "-"})
	require.NoError(t, err)
	return reg
}

// Watches end with their registrations: once forgotten, replaced or
// stopped, no watch stays open at the API server and no goroutine of the
// watcher remains.
func TestWatchesLeaveNothingBehind(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent(),
		// idle keep-alive connections of client-go's shared transports
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
	f := newFakeAPIServer(t)
	w := &Watcher{Registry: f.registry(t), Wake: func(context.Context, string, string) error { return nil }}
	ref := []Ref{{APIVersion: "v1", Kind: "ConfigMap", Namespace: "default", Name: "x"}}
	w.Watch("default/a", "wait-1", ref)
	w.Watch("default/a", "wait-1", ref) // a later execution replaces the registration
	w.Watch("default/b", "wait-2", append(ref, ref...))
	waitFor(t, "three watches open", func() bool { return f.watches.Load() == 3 })
	assert.Equal(t, 2, w.Active())

	w.Forget("default/a", "wait-1")
	waitFor(t, "the forgotten step's watch closes", func() bool { return f.watches.Load() == 2 })
	w.Stop()
	waitFor(t, "every watch closes", func() bool { return f.watches.Load() == 0 })
	assert.Equal(t, 0, w.Active())
	f.CloseClientConnections()
}

// A cluster that does not answer is reported within the timeout, leaving
// no request behind.
func TestClusterVersionTimesOut(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent(),
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
	f := newFakeAPIServer(t)
	c, err := f.registry(t).Get(context.Background(), "")
	require.NoError(t, err)
	_, err = c.Version(200 * time.Millisecond)
	require.Error(t, err)
	f.CloseClientConnections()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A list is read page by page and fails at the page that takes it above
// the limit, without reading the rest; a list below it comes whole.
func TestListsAboveTheLimitFailEarly(t *testing.T) {
	f := newFakeAPIServer(t)
	f.pages, f.itemBytes = 3, 1000
	cl, err := f.registry(t).Get(context.Background(), "")
	require.NoError(t, err)
	list, err := cl.List(context.Background(), "v1", "ConfigMap", Filter{Namespace: "default"})
	require.NoError(t, err)
	assert.Len(t, list["items"], 3)
	assert.EqualValues(t, 3, f.served.Load())

	f.pages, f.itemBytes = 20, 3<<20
	f.served.Store(0)
	_, err = cl.List(context.Background(), "v1", "ConfigMap", Filter{Namespace: "default"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the objects listed are larger than the limit of 8 MiB")
	assert.True(t, IsFinal(err), "retrying cannot make the list smaller")
	assert.EqualValues(t, 3, f.served.Load(), "the pages after the limit are not read")
}
