package testsuite

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"

	"github.com/velaflow/velaflow/localstack/kubestack"
)

// fullValues turn on every optional part of the chart.
const fullValues = `
replicaCount: 3
temporal:
  address: temporal.example.com:7233
  namespace: prod
  tls: {enabled: true, secretName: temporal-client, serverName: temporal.example.com}
  apiKey: {secretName: temporal-api-key, key: key}
codec: {keysSecret: velaflow-codec}
clusters: {secretsNamespace: vela-system, fileSecret: velaflow-clusters}
namespaces:
  allow: [vela-system, "team-*"]
  policy:
    rules:
      - {runs: [platform], reach: ["*"]}
definitions: {configMap: velaflow-definitions}
templates: {configMap: velaflow-templates}
triggers: {enabled: true, tokenSecret: velaflow-trigger-tokens, hmacSecret: velaflow-trigger-secrets, webUI: "https://temporal-ui.example.com"}
rbac: {namespaces: [helm-team-a, helm-team-b]}
metrics: {serviceMonitor: {enabled: true}}
codecServer: {enabled: true, corsOrigins: ["https://temporal-ui.example.com"], tokenSecret: velaflow-codec-token}
controller: {enabled: true, namespace: helm-team-a}
`

// The chart lints, and what it renders, with the defaults, every option
// on, and cluster-admin, is accepted by a real kube-apiserver (a
// server-side dry run: schemas, RBAC references, namespaces).
func TestHelmChart(t *testing.T) {
	t.Parallel()
	root, err := repoRoot()
	require.NoError(t, err)
	helm := filepath.Join(root, "bin", "helm")
	if _, err := os.Stat(helm); err != nil {
		t.Fatalf("%s is missing: run `make helm` (make test does)", helm)
	}
	chart := filepath.Join(root, "deploy", "helm", "velaflow")
	full := writeFile(t, "full-values.yaml", fullValues)

	for _, args := range [][]string{{}, {"--values", full}, {"--set", "rbac.clusterAdmin=true"}} {
		out, err := exec.Command(helm, append([]string{"lint", "--strict", chart}, args...)...).CombinedOutput()
		require.NoError(t, err, "helm lint %v:\n%s", args, out)
	}

	b := theKubeBed(t)
	cluster := b.clusters["shanghai"]
	require.NoError(t, kubestack.InstallCRDs(context.Background(), cluster.RESTConfig(), []byte(serviceMonitorCRD)))
	for _, ns := range []string{"velaflow-system", "vela-system", "helm-team-a", "helm-team-b"} {
		b.ksNamespace(t, ns, "shanghai")
	}

	defaults := renderChart(t, helm, chart)
	assert.Equal(t, []string{"ClusterRole", "ClusterRoleBinding", "Deployment", "PodDisruptionBudget", "Role", "RoleBinding", "Service", "ServiceAccount"}, kinds(defaults))
	dryRunApply(t, b, defaults)

	withCRDs := renderChart(t, helm, chart, "--include-crds")
	var crdNames []string
	for _, o := range withCRDs {
		if o.GetKind() == "CustomResourceDefinition" {
			crdNames = append(crdNames, o.GetName())
		}
	}
	assert.ElementsMatch(t, []string{"workflowruns.core.oam.dev", "workflows.core.oam.dev", "workflowstepdefinitions.core.oam.dev"}, crdNames,
		"the chart installs KubeVela Workflow's kinds (Helm skips CRDs already there, as KubeVela's)")

	all := renderChart(t, helm, chart, "--values", full)
	dep := findNamed(t, all, "Deployment", "velaflow")
	args := strings.Join(containerArgs(t, dep), " ")
	for _, want := range []string{"--address=temporal.example.com:7233", "--temporal-namespace=prod", "--tls", "--tls-cert-path=/etc/velaflow/temporal-tls/tls.crt",
		"--tls-server-name=temporal.example.com", "--codec-keys=/etc/velaflow/codec", "--clusters=/etc/velaflow/clusters/clusters.yaml",
		"--allow-namespaces=vela-system,team-*", "--namespace-policy=/etc/velaflow/policy/policy.yaml", "--definitions=/etc/velaflow/definitions",
		"--templates=/etc/velaflow/templates"} {
		assert.Contains(t, args, want)
	}
	// The trigger server connects as the workers do.
	trigArgs := strings.Join(containerArgs(t, findNamed(t, all, "Deployment", "velaflow-triggers")), " ")
	for _, want := range []string{"serve-triggers --address=temporal.example.com:7233 --temporal-namespace=prod --task-queue=velaflow --tls",
		"--listen=:8088", "--token-file=/etc/velaflow/trigger-tokens/tokens", "--hmac-secret-file=/etc/velaflow/trigger-secrets/secrets",
		"--templates=/etc/velaflow/templates", "--web-ui=https://temporal-ui.example.com"} {
		assert.Contains(t, trigArgs, want)
	}
	findNamed(t, all, "Service", "velaflow-triggers")
	assert.Contains(t, kinds(all), "ServiceMonitor")
	codecArgs := strings.Join(containerArgs(t, findNamed(t, all, "Deployment", "velaflow-codec")), " ")
	assert.Equal(t, "codec-server --codec-keys=/etc/velaflow/codec --listen=:8234 --cors-origin=https://temporal-ui.example.com --token-file=/etc/velaflow/codec-token/token", codecArgs)
	// The workers' selector does not take the codec server's pods.
	sel, _, _ := unstructured.NestedStringMap(dep.Object, "spec", "selector", "matchLabels")
	assert.Equal(t, "worker", sel["app.kubernetes.io/component"])
	assert.Contains(t, kinds(all), "ConfigMap")
	for _, o := range all {
		assert.False(t, o.GetKind() == "ClusterRoleBinding" && o.GetName() == "velaflow", "with rbac.namespaces the workers' rules are bound per namespace")
	}
	// The controller connects as the workers do, and elects a leader.
	ctlArgs := strings.Join(containerArgs(t, findNamed(t, all, "Deployment", "velaflow-controller")), " ")
	for _, want := range []string{"controller --address=temporal.example.com:7233 --temporal-namespace=prod --task-queue=velaflow --tls",
		"--codec-keys=/etc/velaflow/codec", "--cluster-name=local", "--system-namespace=vela-system",
		"--leader-election-namespace=velaflow-system", "--namespace=helm-team-a"} {
		assert.Contains(t, ctlArgs, want)
	}
	findNamed(t, all, "Role", "velaflow-controller-leader-election")
	dryRunApply(t, b, all)

	admin := renderChart(t, helm, chart, "--set", "rbac.clusterAdmin=true")
	crb := findNamed(t, admin, "ClusterRoleBinding", "velaflow")
	name, _, _ := unstructured.NestedString(crb.Object, "roleRef", "name")
	assert.Equal(t, "cluster-admin", name)
	assert.NotContains(t, kinds(admin), "ClusterRole")
	dryRunApply(t, b, admin)
}

func renderChart(t *testing.T, helm, chart string, args ...string) []*unstructured.Unstructured {
	t.Helper()
	out, err := exec.Command(helm, append([]string{"template", "velaflow", chart, "--namespace", "velaflow-system"}, args...)...).Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		t.Fatalf("helm template %v: %v\n%s", args, err, ee.Stderr)
	}
	require.NoError(t, err)
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(out), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("helm template output: %v", err)
		}
		if len(m) > 0 {
			objs = append(objs, &unstructured.Unstructured{Object: m})
		}
	}
	return objs
}

// dryRunApply server-side applies every object with dryRun=All.
func dryRunApply(t *testing.T, b *kubeBed, objs []*unstructured.Unstructured) {
	t.Helper()
	cfg := b.clusters["shanghai"].RESTConfig()
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	require.NoError(t, err)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	dyn, err := dynamic.NewForConfig(cfg)
	require.NoError(t, err)
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		require.NoError(t, err, "%s %s", gvk, o.GetName())
		var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			ns := o.GetNamespace()
			if ns == "" {
				ns = "velaflow-system"
			}
			ri = dyn.Resource(m.Resource).Namespace(ns)
		}
		_, err = ri.Apply(context.Background(), o.GetName(), o, metav1.ApplyOptions{FieldManager: "helm-test", DryRun: []string{metav1.DryRunAll}})
		assert.NoError(t, err, "server-side dry run of %s %s", gvk.Kind, o.GetName())
	}
}

func kinds(objs []*unstructured.Unstructured) []string {
	seen := map[string]bool{}
	var out []string
	for _, o := range objs {
		if !seen[o.GetKind()] {
			seen[o.GetKind()] = true
			out = append(out, o.GetKind())
		}
	}
	sort.Strings(out)
	return out
}

func findNamed(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("no %s %s rendered", kind, name)
	return nil
}

func containerArgs(t *testing.T, dep *unstructured.Unstructured) []string {
	t.Helper()
	containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	require.Len(t, containers, 1)
	raw, _ := containers[0].(map[string]any)["args"].([]any)
	out := make([]string, len(raw))
	for i, a := range raw {
		out[i], _ = a.(string)
	}
	return out
}

// serviceMonitorCRD is the Prometheus operator's ServiceMonitor, as far as
// the dry run needs it.
const serviceMonitorCRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: servicemonitors.monitoring.coreos.com}
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: {kind: ServiceMonitor, listKind: ServiceMonitorList, plural: servicemonitors, singular: servicemonitor}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`
