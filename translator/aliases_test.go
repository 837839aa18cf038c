package translator

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAliasesThatNeverEndOrExplodeAreRefusedFast(t *testing.T) {
	dir := t.TempDir()
	self := write(t, dir, "self.yaml", `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: self}
spec: &a
  workflowSpec:
    steps:
      - {name: x, type: suspend, properties: *a}
`)
	lines := []string{"apiVersion: core.oam.dev/v1alpha1", "kind: WorkflowRun", "metadata: {name: bomb}", `x0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]`}
	for i := 1; i < 10; i++ {
		lines = append(lines, fmt.Sprintf("x%d: &a%d [%s]", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d,", i-1), 9), ",")))
	}
	lines = append(lines, "spec: {workflowSpec: {steps: [{name: x, type: suspend, properties: {v: *a9}}]}}")
	bomb := write(t, dir, "bomb.yaml", strings.Join(lines, "\n")+"\n")
	start := time.Now()
	_, err := Translate(Options{Files: []string{self}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `self.yaml:7: invalid YAML: anchor "a" refers to a node that holds it`)
	_, err = Translate(Options{Files: []string{bomb}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "bomb.yaml:10: invalid YAML: its aliases expand to more than 1000000 values")
	t.Logf("both refused in %s", time.Since(start))

	ok := write(t, dir, "ok.yaml", `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: reuse}
spec:
  workflowSpec:
    steps:
      - {name: a, type: suspend, properties: &hold {message: "wait for approval"}}
      - {name: b, type: suspend, properties: *hold}
`)
	plans, err := Translate(Options{Files: []string{ok}})
	require.NoError(t, err, "an ordinary alias is fine")
	assert.Equal(t, map[string]any{"message": "wait for approval"}, plans[0].Steps[1].Properties)
}

func TestLargeFilesAreRefused(t *testing.T) {
	dir := t.TempDir()
	big := write(t, dir, "big.yaml", "# "+strings.Repeat("x", maxFileBytes)+"\n")
	_, err := Translate(Options{Files: []string{big}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "big.yaml:1: the file is ")
	assert.Contains(t, err.Error(), fmt.Sprintf("velaflow reads files of at most %d", maxFileBytes))
}
