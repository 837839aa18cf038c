package launch

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

func TestContextTypesValuesAsHelmDoes(t *testing.T) {
	file := filepath.Join(t.TempDir(), "ctx.yaml")
	require.NoError(t, os.WriteFile(file, []byte("region: eu-1\nreplicas: 1\nlabels: {team: a}\n"), 0o644))
	ctx, err := Context(file, []string{"replicas=3", "dry=true", "zones={a,b}", "labels.tier=web", "app=shop,tag=v1"}, []string{"build=0123"})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{
		"region": "eu-1", "replicas": int64(3), "dry": true, "zones": []any{"a", "b"},
		"labels": map[string]any{"team": "a", "tier": "web"}, "app": "shop", "tag": "v1", "build": "0123",
	}, ctx)

	_, err = Context("", []string{"novalue"}, nil)
	assert.ErrorContains(t, err, "--set novalue")
	_, err = Context(filepath.Join(t.TempDir(), "missing.yaml"), nil, nil)
	assert.ErrorContains(t, err, "--context-file")
}

func TestRequestSourceIsAWorkflowRun(t *testing.T) {
	r := Request{Namespace: "team-a", Template: "release", GenerateName: "nightly-", Context: map[string]any{"app": "shop"}}.WithName()
	assert.Regexp(t, regexp.MustCompile(`^nightly-[a-z0-9]{5}$`), r.Name)
	assert.Equal(t, r.Name, r.WithName().Name, "a name, once given, stays")
	src, err := r.Source()
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal(src.Data, &doc))
	assert.Equal(t, map[string]any{
		"apiVersion": "core.oam.dev/v1alpha1", "kind": "WorkflowRun",
		"metadata": map[string]any{"name": r.Name, "namespace": "team-a"},
		"spec":     map[string]any{"workflowRef": "release", "context": map[string]any{"app": "shop"}},
	}, doc)
	assert.Equal(t, "run of template team-a/release", src.Name)
	assert.Regexp(t, `^release-[a-z0-9]{5}$`, Request{Template: "release"}.WithName().Name)
}
