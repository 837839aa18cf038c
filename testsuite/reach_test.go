package testsuite

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/velaflow/velaflow/workflows"
)

// A run reaches its own namespace and what the worker's policy allows
// (bedReach): it cannot apply objects in, or read Secrets of, another
// team's namespace, nor create cluster-scoped objects; a platform run
// allowed "*" can.
func TestNamespaceReach(t *testing.T) {
	t.Parallel()
	b := theKubeBed(t)
	b.ksNamespace(t, "reach-team", "shanghai")
	b.ksNamespace(t, "reach-other", "shanghai")
	b.ksNamespace(t, "reach-platform", "shanghai")
	b.ksNamespace(t, "vela-system", "shanghai")
	_, err := b.ksClient(t, "shanghai").CoreV1().Secrets("reach-other").Create(context.Background(),
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "reach-other"}, Data: map[string][]byte{"password": []byte("not-yours")}},
		metav1.CreateOptions{})
	require.NoError(t, err)

	cm := func(ns, name string) string {
		return `{apiVersion: v1, kind: ConfigMap, metadata: {name: ` + name + `, namespace: ` + ns + `}, data: {a: b}}`
	}
	r := b.ksStart(t, "reach-team", "reach", ksSteps("reach", "reach-team",
		`- {name: own, type: apply-object, properties: {value: `+cm("reach-team", "mine")+`}}`,
		`- {name: allowed, type: apply-object, if: always, properties: {value: `+cm("vela-system", "from-team")+`}}`,
		`- {name: other, type: apply-object, if: always, properties: {value: `+cm("reach-other", "intruder")+`}}`,
		`- {name: secret, type: read-object, if: always, properties: {apiVersion: v1, kind: Secret, name: db, namespace: reach-other}}`,
		`- {name: cluster-scoped, type: apply-object, if: always, properties: {value: {apiVersion: v1, kind: Namespace, metadata: {name: reach-made-by-team}}}}`,
	))
	st := r.end(t)
	assert.Equal(t, workflows.StepSucceeded, stepOf(st, "own").Phase)
	assert.Equal(t, workflows.StepSucceeded, stepOf(st, "allowed").Phase)
	for step, want := range map[string]string{
		"other":          "a run in namespace reach-team may not apply ConfigMap intruder in namespace reach-other of cluster local",
		"secret":         "a run in namespace reach-team may not read Secrets in namespace reach-other of cluster local",
		"cluster-scoped": "a run in namespace reach-team may not apply Namespace reach-made-by-team (cluster-scoped) of cluster local",
	} {
		s := stepOf(st, step)
		assert.Equal(t, workflows.StepFailed, s.Phase, step)
		assert.Contains(t, s.Message, want, step)
	}
	ksNotFound(t, b, "shanghai", configMaps, "reach-other", "intruder")
	ksNotFound(t, b, "shanghai", schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, "", "reach-made-by-team")
	assert.NotContains(t, r.describe(t), "not-yours")

	p := b.ksStart(t, "reach-platform", "platform", ksSteps("platform", "reach-platform",
		`- {name: other, type: apply-object, properties: {value: `+cm("reach-other", "by-platform")+`}}`,
		`- {name: cluster-scoped, type: apply-object, properties: {value: {apiVersion: v1, kind: Namespace, metadata: {name: reach-made-by-platform}}}}`,
		`- {name: secret, type: read-object, properties: {apiVersion: v1, kind: Secret, name: db, namespace: reach-other}}`,
	))
	pst := p.end(t)
	for _, step := range []string{"other", "cluster-scoped", "secret"} {
		assert.Equal(t, workflows.StepSucceeded, stepOf(pst, step).Phase, "%s: %s", step, stepOf(pst, step).Message)
	}
	p.get(t, "shanghai", configMaps, "reach-other", "by-platform")
}
