package kube

import (
	"context"
	"testing"

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
