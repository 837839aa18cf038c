package kube

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReachOwnNamespaceByDefault(t *testing.T) {
	var none *Reach
	assert.True(t, none.Allows("team-a", "team-a"))
	assert.False(t, none.Allows("team-a", "team-b"))
	assert.False(t, none.Allows("team-a", ""), "cluster-scoped objects need *")
	assert.False(t, (&Reach{}).Allows("team-a", "kube-system"))
}

func TestReachRules(t *testing.T) {
	file := filepath.Join(t.TempDir(), "policy.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`rules:
  - runs: [platform]
    reach: ["*"]
  - runs: ["team-*"]
    reach: [shared, "team-*-cache"]
`), 0o600))
	r, err := LoadReach(file)
	require.NoError(t, err)
	assert.True(t, r.Allows("platform", "kube-system"))
	assert.True(t, r.Allows("platform", ""), "* reaches cluster-scoped objects")
	assert.True(t, r.Allows("team-a", "shared"))
	assert.True(t, r.Allows("team-a", "team-b-cache"))
	assert.False(t, r.Allows("team-a", "team-b"))
	assert.False(t, r.Allows("team-a", ""))
	assert.False(t, r.Allows("other", "shared"))

	r.Rules = append(r.Rules, AllowNamespaces([]string{"monitoring"}))
	assert.True(t, r.Allows("other", "monitoring"))

	err = r.Check("team-a", "team-b", "apply Deployment web in namespace team-b of cluster prod")
	require.Error(t, err)
	assert.True(t, IsFinal(err))
	assert.Contains(t, err.Error(), "a run in namespace team-a may not apply Deployment web in namespace team-b of cluster prod")
	assert.Contains(t, err.Error(), "--allow-namespaces")
}

func TestReachFileErrors(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"unknown field": "rules:\n  - runs: [a]\n    reach: [b]\n    verbs: [apply]\n",
		"no reach":      "rules:\n  - runs: [a]\n",
		"bad glob":      "rules:\n  - runs: [\"[a\"]\n    reach: [b]\n",
	} {
		file := filepath.Join(dir, name+".yaml")
		require.NoError(t, os.WriteFile(file, []byte(content), 0o600))
		_, err := LoadReach(file)
		assert.Error(t, err, name)
		if err != nil {
			assert.Contains(t, err.Error(), file, name)
		}
	}
}
