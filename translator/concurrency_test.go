package translator

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConcurrencyKeyFromContext(t *testing.T) {
	run := `apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: r1, namespace: team-a}
spec:
  context: {app: shop, region: {name: eu}}
  concurrency:
    key: release-\(context.app)-\(context.region.name)-\(context.namespace)
  workflowSpec:
    steps: [{name: s, type: suspend}]
---
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: r2, namespace: team-a}
spec:
  context: {app: shop}
  workflowRef: tpl
---
apiVersion: core.oam.dev/v1alpha1
kind: Workflow
metadata: {name: tpl}
concurrency: {key: "deploy", policy: Replace}
steps: [{name: s, type: suspend}]
`
	res, err := TranslateSources([]Source{{Name: "runs.yaml", Data: []byte(run)}}, nil)
	require.NoError(t, err)
	require.Len(t, res.Plans, 2)
	assert.Equal(t, &Concurrency{Key: "team-a/release-shop-eu-team-a", Policy: ConcurrencyQueue}, res.Plans[0].Concurrency)
	assert.Equal(t, &Concurrency{Key: "team-a/deploy", Policy: ConcurrencyReplace}, res.Plans[1].Concurrency, "the template's, for a run that sets none")
}

func TestConcurrencyErrors(t *testing.T) {
	run := `apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: r1}
spec:
  concurrency:
    key: release-\(context.app)
  workflowSpec:
    steps: [{name: s, type: suspend}]
---
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: r2}
spec:
  concurrency: {key: x, policy: Sometimes}
  workflowSpec:
    steps: [{name: s, type: suspend}]
---
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: r3}
spec:
  concurrency: {policy: Queue}
  workflowSpec:
    steps: [{name: s, type: suspend}]
`
	_, err := TranslateSources([]Source{{Name: "runs.yaml", Data: []byte(run)}}, nil)
	require.Error(t, err)
	assert.Equal(t, `runs.yaml:6: spec.concurrency.key: release-\(context.app) cannot be evaluated with the run's context: undefined field: app
runs.yaml:14: spec.concurrency.policy: "Sometimes" is not one of Queue, Replace, Reject
runs.yaml:22: spec.concurrency.key: missing: the key runs that must not overlap share, e.g. release-\(context.app)`, err.Error())
}
