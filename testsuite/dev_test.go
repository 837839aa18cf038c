package testsuite

import (
	"bufio"
	"context"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"
)

// `velaflow dev --local-clusters` (what `make run` starts) is a whole
// stack: a WorkflowRun applied to its first cluster runs, and its status
// shows in the object; one Ctrl-C stops it all.
func TestDevLocalClustersRunObjects(t *testing.T) {
	root, err := repoRoot()
	require.NoError(t, err)
	dir := t.TempDir()
	cmd := exec.Command(shared.cli, "dev", "--port", strconv.Itoa(freePort(t)), "--ui-port", "0", "--db-file", "",
		"--metrics-listen", "", "--local-clusters", "devbox", "--local-clusters-dir", filepath.Join(dir, "clusters"),
		"--temporal", filepath.Join(root, "bin", "temporal"))
	cmd.Dir = root // bin/ holds kube-apiserver and etcd
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() })

	// Read what it says until the worker polls; it names the kubeconfig.
	var said strings.Builder
	kubeconfig := ""
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		said.WriteString(lines.Text() + "\n")
		if m := regexp.MustCompile(`kubectl --kubeconfig (\S+) apply`).FindStringSubmatch(lines.Text()); m != nil {
			kubeconfig = m[1]
		}
		if strings.HasPrefix(lines.Text(), "worker polling") {
			break
		}
	}
	require.NotEmpty(t, kubeconfig, "dev said:\n%s", said.String())
	assert.Contains(t, said.String(), "cluster devbox")
	go func() { _, _ = io.Copy(io.Discard, stdout) }()

	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	require.NoError(t, err)
	dc, err := dynamic.NewForConfig(cfg)
	require.NoError(t, err)
	var obj unstructured.Unstructured
	require.NoError(t, yaml.Unmarshal([]byte(`
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: applied, namespace: default}
spec:
  workflowSpec:
    steps:
      - {name: hello, type: print-message-in-status, properties: {message: hello from the dev stack}}
      - {name: pause, type: suspend, properties: {duration: 1s}}
`), &obj.Object))
	gvr := schema.GroupVersionResource{Group: "core.oam.dev", Version: "v1alpha1", Resource: "workflowruns"}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err = dc.Resource(gvr).Namespace("default").Create(ctx, &obj, metav1.CreateOptions{})
	require.NoError(t, err)
	var status map[string]any
	for {
		got, err := dc.Resource(gvr).Namespace("default").Get(ctx, "applied", metav1.GetOptions{})
		require.NoError(t, err)
		status, _, _ = unstructured.NestedMap(got.Object, "status")
		if status["status"] == "succeeded" {
			break
		}
		require.NoError(t, ctx.Err(), "the object never showed succeeded; its status: %v", status)
		time.Sleep(200 * time.Millisecond)
	}
	steps, _, _ := unstructured.NestedSlice(status, "steps")
	require.Len(t, steps, 2)
	assert.Equal(t, "hello from the dev stack", steps[0].(map[string]any)["message"])

	// One Ctrl-C stops the dev server, the clusters and the worker.
	require.NoError(t, syscall.Kill(-cmd.Process.Pid, syscall.SIGINT))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		assert.NoError(t, err, "dev exits cleanly on Ctrl-C")
	case <-time.After(time.Minute):
		t.Fatal("dev did not stop within a minute of Ctrl-C")
	}
}
