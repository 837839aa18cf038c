package crds

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The Helm chart installs the same CustomResourceDefinitions (Helm takes
// them from the chart's crds/ folder, which cannot point here).
func TestChartHoldsTheSameCRDs(t *testing.T) {
	own, err := filepath.Glob("*.yaml")
	require.NoError(t, err)
	chart, err := filepath.Glob(filepath.Join("..", "helm", "velaflow", "crds", "*.yaml"))
	require.NoError(t, err)
	require.Len(t, chart, len(own), "deploy/helm/velaflow/crds holds a copy of each of deploy/crds/*.yaml")
	for _, f := range own {
		want, err := os.ReadFile(f)
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join("..", "helm", "velaflow", "crds", f))
		require.NoError(t, err, "copy %s to deploy/helm/velaflow/crds", f)
		assert.Equal(t, string(want), string(got), "deploy/helm/velaflow/crds/%s differs from deploy/crds/%s", f, f)
	}
}

func TestAllAreCustomResourceDefinitionsOfVelaflow(t *testing.T) {
	all, err := All()
	require.NoError(t, err)
	var names []string
	for _, c := range all {
		assert.Equal(t, "CustomResourceDefinition", c.GetKind())
		assert.Equal(t, "velaflow", c.GetLabels()[Label], "%s carries the label Install tells velaflow's by", c.GetName())
		names = append(names, c.GetName())
	}
	assert.Equal(t, []string{"workflowruns.core.oam.dev", "workflows.core.oam.dev", "workflowstepdefinitions.core.oam.dev"}, names)
}
