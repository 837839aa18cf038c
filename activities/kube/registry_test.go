package kube

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const kubeconfig = `
apiVersion: v1
kind: Config
clusters:
  - name: a
    cluster: {server: https://10.0.0.1:6443, insecure-skip-tls-verify: true}
  - name: b
    cluster: {server: https://10.0.0.2:6443, insecure-skip-tls-verify: true}
users:
  - name: u
    user: {token: secret}
contexts:
  - name: ctx-a
    context: {cluster: a, user: u}
  - name: ctx-b
    context: {cluster: b, user: u}
current-context: ctx-a
`

func write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func TestRegistryResolvesDefaultAndFileClusters(t *testing.T) {
	kc := write(t, "kubeconfig", kubeconfig)
	file := write(t, "clusters.yaml", "clusters:\n  - {name: shanghai, kubeconfig: "+kc+"}\n  - {name: us-west, kubeconfig: "+kc+", context: ctx-b}\n")
	r, err := NewRegistry(Options{Kubeconfig: kc, ClustersFile: file, SecretNamespace: "-"})
	require.NoError(t, err)
	ctx := context.Background()
	for _, name := range []string{"", "local"} {
		c, err := r.Get(ctx, name)
		require.NoError(t, err)
		assert.Equal(t, "https://10.0.0.1:6443", c.Config.Host, "%q is the default cluster", name)
	}
	c, err := r.Get(ctx, "us-west")
	require.NoError(t, err)
	assert.Equal(t, "https://10.0.0.2:6443", c.Config.Host, "the entry's context is used")
	assert.Equal(t, []string{"local", "shanghai", "us-west"}, r.Names(ctx))

	_, err = r.Get(ctx, "mars")
	require.Error(t, err)
	assert.True(t, IsFinal(err), "an unknown cluster is final")
	assert.EqualError(t, err, `unknown cluster "mars"; the clusters known are: local, shanghai, us-west`)
}

func TestRegistryWithoutDefaultCluster(t *testing.T) {
	t.Setenv("KUBECONFIG", "")
	r, err := NewRegistry(Options{SecretNamespace: "-"})
	require.NoError(t, err, "no default cluster is not an error until a step needs it")
	_, err = r.Get(context.Background(), "")
	require.Error(t, err)
	assert.True(t, IsFinal(err))
	assert.Contains(t, err.Error(), "--kubeconfig")
}

func TestClustersFileErrors(t *testing.T) {
	kc := write(t, "kubeconfig", kubeconfig)
	for content, want := range map[string]string{
		"clusters:\n  - {name: x}\n":                              "clusters[0] needs name and kubeconfig",
		"clusters:\n  - {name: local, kubeconfig: " + kc + "}\n":  `"local" names the default cluster`,
		"clusters:\n  - {name: x, kubeconfig: /no/such/file}\n":   "cluster x",
		"clusters:\n  - {name: x, kubeconfig: " + kc + ", zz: 1}": "unknown field",
	} {
		_, err := NewRegistry(Options{ClustersFile: write(t, "c.yaml", content), SecretNamespace: "-"})
		require.Error(t, err, content)
		assert.Contains(t, err.Error(), want, content)
	}
}

func TestClusterSecretFormats(t *testing.T) {
	secret := func(data map[string]string) *corev1.Secret {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Data: map[string][]byte{}}
		for k, v := range data {
			s.Data[k] = []byte(v)
		}
		return s
	}
	cfg, err := secretConfig(secret(map[string]string{"endpoint": "https://1.2.3.4", "token": "t", "ca.crt": "CA"}))
	require.NoError(t, err)
	assert.Equal(t, "https://1.2.3.4", cfg.Host)
	assert.Equal(t, "t", cfg.BearerToken)
	assert.Equal(t, []byte("CA"), cfg.CAData)

	cfg, err = secretConfig(secret(map[string]string{"endpoint": "https://1.2.3.4", "tls.crt": "C", "tls.key": "K"}))
	require.NoError(t, err)
	assert.Equal(t, []byte("C"), cfg.CertData)
	assert.False(t, cfg.Insecure, "without ca.crt the server is verified against the system's roots")

	cfg, err = secretConfig(secret(map[string]string{"endpoint": "https://1.2.3.4", "token": "t", "insecure": "true"}))
	require.NoError(t, err)
	assert.True(t, cfg.Insecure, "only an explicit insecure turns verification off")
	_, err = secretConfig(secret(map[string]string{"endpoint": "https://1.2.3.4", "token": "t", "insecure": "yes"}))
	assert.ErrorContains(t, err, `want "true" or "false"`)
	_, err = secretConfig(secret(map[string]string{"endpoint": "https://1.2.3.4", "token": "t", "insecure": "true", "ca.crt": "CA"}))
	assert.ErrorContains(t, err, "keep one")

	cfg, err = secretConfig(secret(map[string]string{"kubeconfig": kubeconfig}))
	require.NoError(t, err)
	assert.Equal(t, "https://10.0.0.1:6443", cfg.Host)

	_, err = secretConfig(secret(map[string]string{"token": "t"}))
	assert.ErrorContains(t, err, "no endpoint")
	_, err = secretConfig(secret(map[string]string{"endpoint": "https://x"}))
	assert.ErrorContains(t, err, "no token or tls.crt")
}

func TestMergePatch(t *testing.T) {
	got := mergePatch(
		map[string]any{"a": 1, "m": map[string]any{"x": 1, "y": 2}, "gone": true},
		map[string]any{"m": map[string]any{"y": 3, "z": 4}, "gone": nil, "list": []any{1}},
	)
	assert.Equal(t, map[string]any{"a": 1, "m": map[string]any{"x": 1, "y": 3, "z": 4}, "list": []any{1}}, got)
}
