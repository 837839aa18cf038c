package kube

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A step that stops waiting ends its registration; Stop ends them all.
func TestWatchRegistrationsEndWithTheirSteps(t *testing.T) {
	t.Setenv("KUBECONFIG", "")
	reg, err := NewRegistry(Options{SecretNamespace: "-"})
	require.NoError(t, err)
	w := &Watcher{Registry: reg, Wake: func(context.Context, string, string) error { return nil }}
	ref := []Ref{{APIVersion: "v1", Kind: "ConfigMap", Namespace: "default", Name: "x"}}
	w.Watch("default/a", "wait", ref)
	w.Watch("default/a", "wait", ref) // a later execution replaces the registration
	w.Watch("default/b", "wait", ref)
	assert.Equal(t, 2, w.Active())
	w.Forget("default/a", "wait")
	assert.Equal(t, 1, w.Active())
	w.Forget("default/a", "wait") // nothing left to forget
	w.Stop()
	assert.Equal(t, 0, w.Active())
}

// The object whose change woke a step is kept for the step's next
// execution, handed out once.
func TestTheWakingObjectIsKeptForTheNextExecution(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case answerDiscovery(w, r):
		case r.URL.Query().Get("watch") == "true":
			fmt.Fprint(w, `{"type":"MODIFIED","object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","namespace":"default","resourceVersion":"2"},"data":{"ready":"true"}}}`+"\n")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		default:
			<-r.Context().Done()
		}
	}))
	defer srv.Close()
	f := &fakeAPIServer{Server: srv}
	woken := make(chan string, 1)
	w := &Watcher{Registry: f.registry(t), Wake: func(_ context.Context, id, step string) error { woken <- id + " " + step; return nil }}
	defer w.Stop()
	_, _, _, ok := w.TakeSeen("default/a", "wait")
	assert.False(t, ok, "nothing seen before a change")
	w.Watch("default/a", "wait", []Ref{{APIVersion: "v1", Kind: "ConfigMap", Namespace: "default", Name: "x", ResourceVersion: "1"}})
	select {
	case got := <-woken:
		assert.Equal(t, "default/a wait", got)
	case <-time.After(30 * time.Second):
		t.Fatal("the change did not wake the step")
	}
	ref, obj, _, ok := w.TakeSeen("default/a", "wait")
	require.True(t, ok)
	assert.Equal(t, "x", ref.Name)
	assert.Equal(t, map[string]any{"ready": "true"}, obj["data"])
	_, _, _, ok = w.TakeSeen("default/a", "wait")
	assert.False(t, ok, "handed out once")
	_, _, _, ok = w.TakeSeen("default/b", "wait")
	assert.False(t, ok, "only to the step it woke")
}
