package testsuite

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/velaflow/velaflow/workflows"
)

// A file as KubeVela's examples write them: a ConfigMap the run reads,
// then the WorkflowRun. `velaflow run -f` applies the ConfigMap first (as
// kubectl apply would) and lists it; --skip-objects leaves it out.
func TestCompatObjectsBesideTheRun(t *testing.T) {
	t.Parallel()
	b := theKubeBed(t)
	const ns = "ce-objects"
	b.ksNamespace(t, ns, "shanghai")
	file := writeFile(t, "with-objects.yaml", `
apiVersion: v1
kind: ConfigMap
metadata: {name: app-settings, namespace: ce-objects}
data: {replicas: "3"}
---
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: ce-objects, namespace: ce-objects}
spec:
  workflowSpec:
    steps:
      - name: read
        type: read-object
        properties: {apiVersion: v1, kind: ConfigMap, name: app-settings, namespace: ce-objects}
        outputs: [{name: replicas, valueFrom: output.$returns.value.data.replicas}]
`)
	out, errOut, code := b.velaflow(t, "run", "-f", file, "--kubeconfig", b.clusters["shanghai"].Kubeconfig, "--wait")
	require.Equal(t, 0, code, "%s\n%s", out, errOut)
	assert.Contains(t, out, "applied ConfigMap ce-objects/app-settings")
	st := (&ksRun{b: b, ns: ns, name: "ce-objects"}).status(t)
	require.Equal(t, workflows.RunSucceeded, st.Phase)
	assert.Equal(t, "3", stepOf(st, "read").Outputs["replicas"])

	// --skip-objects: nothing is applied; the run reads what is there.
	skip := writeFile(t, "skip.yaml", `
apiVersion: v1
kind: ConfigMap
metadata: {name: not-applied, namespace: ce-objects}
---
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: ce-objects-skip, namespace: ce-objects}
spec: {workflowSpec: {steps: [{name: a, type: print-message-in-status, properties: {message: hi}}]}}
`)
	out, errOut, code = b.velaflow(t, "run", "-f", skip, "--skip-objects", "--wait")
	require.Equal(t, 0, code, "%s\n%s", out, errOut)
	assert.NotContains(t, out, "applied")
	_, err := b.ksClient(t, "shanghai").CoreV1().ConfigMaps(ns).Get(context.Background(), "not-applied", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "%v", err)
}
