package testsuite

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/velaflow/velaflow/workflows"
)

// A config template as `vela config-template apply` stores it: the CUE in
// data.template of ConfigMap config-template-<name> in vela-system.
const ccTemplate = `
metadata: {name: "image-registry", alias: "Image Registry", scope: "project", sensitive: false}
template: {
	output: {
		apiVersion: "v1"
		kind:       "Secret"
		metadata: {name: context.name, namespace: context.namespace}
		type: "Opaque"
		stringData: server: parameter.registry
	}
	validation: $returns: message: *"" | string
	if parameter.registry == "" {
		validation: $returns: message: "registry is empty"
	}
	parameter: {registry: string, insecure: *false | bool}
}
`

// create-config (with a template and without), read-config, list-config
// and delete-config, plus a user's legacy op.#ReadConfig template; the
// Secrets have KubeVela's layout, and a config written by KubeVela's
// tooling is read back.
func TestCompatConfigs(t *testing.T) {
	t.Parallel()
	b := theKubeBed(t)
	const ns = "cc-configs"
	b.ksNamespace(t, ns, "shanghai")
	b.ksNamespace(t, "vela-system", "shanghai")
	ctx := context.Background()
	kc := b.ksClient(t, "shanghai")
	_, err := kc.CoreV1().ConfigMaps("vela-system").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "config-template-image-registry", Namespace: "vela-system",
			Labels: map[string]string{"config.oam.dev/catalog": "velacore-config", "config.oam.dev/scope": "project"}},
		Data: map[string]string{"template": ccTemplate},
	}, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	// Written by KubeVela's tooling (vela config create legacy-db).
	_, err = kc.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "legacy-db", Namespace: ns,
			Labels:      map[string]string{"config.oam.dev/catalog": "velacore-config", "config.oam.dev/type": ""},
			Annotations: map[string]string{"config.oam.dev/alias": "", "config.oam.dev/description": ""}},
		Data: map[string][]byte{"input-properties": []byte(`{"host":"db.internal","port":5432}`)},
	}, metav1.CreateOptions{})
	require.NoError(t, err)

	yaml := ksSteps("cc-configs", ns,
		`- {name: registry, type: create-config, properties: {name: reg-1, template: image-registry, config: {registry: "reg.example.com"}}}`,
		`- {name: plain, type: create-config, properties: {name: plain-1, config: {token: abc, replicas: 2}}}`,
		`- {name: read, type: read-config, properties: {name: reg-1}, outputs: [{name: registry, valueFrom: "output.$returns.config.registry"}]}`,
		`- {name: read-legacy, type: legacy-read-config, properties: {name: legacy-db}, outputs: [{name: host, valueFrom: "read.config.host"}]}`,
		`- {name: list, type: list-config, properties: {template: image-registry}, outputs: [{name: names, valueFrom: "[for c in output.$returns.configs {c.name}]"}]}`,
		`- {name: drop, type: delete-config, properties: {name: plain-1}}`,
	) + `---
apiVersion: core.oam.dev/v1beta1
kind: WorkflowStepDefinition
metadata: {name: legacy-read-config}
spec:
  schematic:
    cue:
      template: |
        import "vela/op"
        parameter: {name: string, namespace: *context.namespace | string}
        read: op.#ReadConfig & {name: parameter.name, namespace: parameter.namespace}
        check: op.#ConditionalWait & {continue: read.config != _|_ && read.config.port == 5432}
`
	r := b.ksStart(t, ns, "cc-configs", yaml)
	st := r.end(t)
	require.Equal(t, workflows.RunSucceeded, st.Phase, r.describe(t))
	assert.Equal(t, "reg.example.com", stepOf(st, "read").Outputs["registry"])
	assert.Equal(t, "db.internal", stepOf(st, "read-legacy").Outputs["host"])
	assert.Equal(t, []any{"reg-1"}, stepOf(st, "list").Outputs["names"])

	// The layout KubeVela's tooling reads.
	reg, err := kc.CoreV1().Secrets(ns).Get(ctx, "reg-1", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "velacore-config", reg.Labels["config.oam.dev/catalog"])
	assert.Equal(t, "image-registry", reg.Labels["config.oam.dev/type"])
	assert.Equal(t, "project", reg.Labels["config.oam.dev/scope"])
	assert.Equal(t, "false", reg.Annotations["config.oam.dev/sensitive"])
	assert.Equal(t, "vela-system", reg.Annotations["config.oam.dev/template-namespace"])
	assert.Equal(t, corev1.SecretTypeOpaque, reg.Type)
	assert.Equal(t, "reg.example.com", string(reg.Data["server"]), "the template's output")
	var props map[string]any
	require.NoError(t, json.Unmarshal(reg.Data["input-properties"], &props))
	assert.Equal(t, map[string]any{"registry": "reg.example.com"}, props, "the properties as given, as KubeVela stores them")

	_, err = kc.CoreV1().Secrets(ns).Get(ctx, "plain-1", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "delete-config removed plain-1: %v", err)
}

// A template's validation refuses the properties: the step fails with its
// message instead of writing a Secret.
func TestCompatConfigValidation(t *testing.T) {
	t.Parallel()
	b := theKubeBed(t)
	const ns = "cc-config-invalid"
	b.ksNamespace(t, ns, "shanghai")
	b.ksNamespace(t, "vela-system", "shanghai")
	kc := b.ksClient(t, "shanghai")
	_, err := kc.CoreV1().ConfigMaps("vela-system").Create(context.Background(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "config-template-registry-strict", Namespace: "vela-system"},
		Data:       map[string]string{"template": ccTemplate},
	}, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	r := b.ksStart(t, ns, "cc-invalid", ksSteps("cc-invalid", ns,
		`- {name: registry, type: create-config, retry: {limit: 1}, properties: {name: bad, template: registry-strict, config: {registry: ""}}}`))
	st := r.end(t)
	require.Equal(t, workflows.RunFailed, st.Phase, r.describe(t))
	assert.Contains(t, stepOf(st, "registry").Message, "registry is empty")
	_, err = kc.CoreV1().Secrets(ns).Get(context.Background(), "bad", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "%v", err)
}
