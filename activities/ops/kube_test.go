package ops

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"sync/atomic"
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

// A read of the object whose change woke the step takes it as the watch
// delivered it, once; other reads, and a second read, ask the cluster.
func TestReadTakesTheObjectThatWokeTheStep(t *testing.T) {
	var gets atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api":
			fmt.Fprint(w, `{"kind":"APIVersions","versions":["v1"]}`)
		case "/apis":
			fmt.Fprint(w, `{"kind":"APIGroupList","groups":[]}`)
		case "/api/v1":
			fmt.Fprint(w, `{"kind":"APIResourceList","groupVersion":"v1","resources":[{"name":"configmaps","namespaced":true,"kind":"ConfigMap","verbs":["get"]}]}`)
		default:
			gets.Add(1)
			name := path.Base(r.URL.Path)
			fmt.Fprintf(w, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q,"namespace":"default","resourceVersion":"9"},"data":{"from":"cluster"}}`, name)
		}
	}))
	defer srv.Close()
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(kc, []byte(fmt.Sprintf(`
apiVersion: v1
kind: Config
clusters: [{name: fake, cluster: {server: %q}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: fake, context: {cluster: fake, user: u}}]
current-context: fake
`, srv.URL)), 0o600))
	reg, err := kube.NewRegistry(kube.Options{Kubeconfig: kc, SecretNamespace: "-"})
	require.NoError(t, err)
	woke := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "x", "namespace": "default", "resourceVersion": "7"}, "data": map[string]any{"from": "watch"}}
	env := &Env{Clusters: reg, Seen: NewSeen(ObjectRef{APIVersion: "v1", Kind: "ConfigMap", Namespace: "default", Name: "x"}, woke)}
	read, _ := Lookup("kube", "read")
	from := func(args string) any {
		c := call(t, args, env)
		out, err := read.Run(context.Background(), c)
		require.NoError(t, err)
		return out.(map[string]any)["value"].(map[string]any)["data"].(map[string]any)["from"]
	}
	assert.Equal(t, "cluster", from(`value: {apiVersion: "v1", kind: "ConfigMap", metadata: name: "other"}`))
	assert.Equal(t, "watch", from(`value: {apiVersion: "v1", kind: "ConfigMap", metadata: name: "x"}`), "no namespace reads default")
	assert.Equal(t, int32(1), gets.Load(), "the woken read asked nothing")
	assert.Equal(t, "cluster", from(`value: {apiVersion: "v1", kind: "ConfigMap", metadata: {name: "x", namespace: "default"}}`), "taken once")
	assert.Equal(t, int32(2), gets.Load())
}
