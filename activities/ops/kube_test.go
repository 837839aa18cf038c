package ops

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"cuelang.org/go/cue/cuecontext"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/velaflow/velaflow/activities/kube"
)

type noClusters struct{ known []string }

func (n noClusters) Get(_ context.Context, name string) (*kube.Cluster, error) {
	return nil, kube.Final(fmt.Errorf("unknown cluster %q; the clusters known are: %v", name, n.known))
}

func call(t *testing.T, args string, env *Env) *Call {
	t.Helper()
	v := cuecontext.New().CompileString(args)
	require.NoError(t, v.Err())
	return &Call{Args: v, Outcome: &Outcome{}, Env: env}
}

func TestKubeOpsWithoutClustersFailFinal(t *testing.T) {
	op, ok := Lookup("kube", "apply")
	require.True(t, ok)
	_, err := op.Run(context.Background(), call(t, `cluster: "", value: {apiVersion: "v1", kind: "ConfigMap", metadata: name: "x"}`, nil))
	var final FinalError
	require.True(t, errors.As(err, &final), "%v", err)
	assert.Contains(t, err.Error(), "--kubeconfig")
}

func TestKubeOpsUnknownClusterIsFinal(t *testing.T) {
	env := &Env{Clusters: noClusters{known: []string{"local", "shanghai"}}}
	for _, do := range []string{"apply", "read", "patch", "delete", "list", "apply-in-parallel"} {
		op, ok := Lookup("kube", do)
		require.True(t, ok, do)
		args := `cluster: "mars", value: {apiVersion: "v1", kind: "ConfigMap", metadata: name: "x"}, patch: {}, resource: {apiVersion: "v1", kind: "ConfigMap"}`
		if do == "apply-in-parallel" {
			args = `cluster: "mars", value: [{apiVersion: "v1", kind: "ConfigMap", metadata: name: "x"}]`
		}
		_, err := op.Run(context.Background(), call(t, args, env))
		var final FinalError
		require.True(t, errors.As(err, &final), "%s: %v", do, err)
		assert.Contains(t, err.Error(), `unknown cluster "mars"`, do)
	}
}

func TestKubeOpsBadArgumentsAreRenderingErrors(t *testing.T) {
	env := &Env{Clusters: noClusters{}}
	op, _ := Lookup("kube", "apply")
	_, err := op.Run(context.Background(), call(t, `cluster: "", value: "not an object"`, env))
	var rerr RenderingError
	assert.True(t, errors.As(err, &rerr), "%v", err)
	op, _ = Lookup("kube", "apply-in-parallel")
	_, err = op.Run(context.Background(), call(t, `value: {a: 1}`, env))
	assert.True(t, errors.As(err, &rerr), "value must be a list: %v", err)
}

func TestReadRecordsWhatItReadForTheWatch(t *testing.T) {
	c := call(t, `x: 1`, nil)
	c.Watch("us-west", map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "m", "namespace": "ns", "resourceVersion": "42"}})
	assert.Equal(t, []ObjectRef{{Cluster: "us-west", APIVersion: "v1", Kind: "ConfigMap", Namespace: "ns", Name: "m", ResourceVersion: "42"}}, c.Outcome.Reads)
}
