package testsuite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/velaflow/velaflow/localstack/kubestack"
)

// On a cluster where KubeVela Workflow's own CRDs are installed (a status
// schema with required fields and no room for others), the controller and
// the runs use them as they are: the run's status is accepted, velaflow's
// observedGeneration pruned, and `vela workflow resume` works.
func TestControllerWithKubeVelasCRDs(t *testing.T) {
	b := theKubeBed(t)
	root, err := repoRoot()
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := kubestack.Start(ctx, kubestack.Options{Name: "kubevela", BinDir: filepath.Join(root, "bin")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Stop() })
	require.NoError(t, kubestack.InstallCRDs(ctx, c.RESTConfig(), []byte(kubevelaWorkflowRunCRD), []byte(kubevelaDefinitionCRD)))

	// The bed's workers reach it by a cluster Secret.
	b.registerCluster(t, "kubevela", c.Server, c)

	cb := newControllerBedOn(t, c, "kubevela", "vela-runs")
	cb.start(t)
	cb.apply(t, controllerDefinition+"\n---\n"+suspendingRun("on-kubevela-crds"))
	u := cb.waitStatus(t, "on-kubevela-crds", "suspending", phaseIs("suspending"))
	st := statusOf(t, u)
	assert.True(t, st.Suspend)
	assert.Zero(t, st.ObservedGeneration, "KubeVela's schema has no observedGeneration")
	cb.patchStatus(t, "on-kubevela-crds", map[string]any{"suspend": false, "steps": stepsAs(st, true)})
	u = cb.waitStatus(t, "on-kubevela-crds", "succeeded", phaseIs("succeeded"))
	assert.Equal(t, "goodbye", statusOf(t, u).Steps[2].Message)
}

// kubevelaWorkflowRunCRD has the status schema of KubeVela Workflow's
// WorkflowRun CRD (required fields, steps that need an id, conditions);
// the spec is left open, as it is not what this test is about.
const kubevelaWorkflowRunCRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: workflowruns.core.oam.dev}
spec:
  group: core.oam.dev
  scope: Namespaced
  names: {kind: WorkflowRun, listKind: WorkflowRunList, plural: workflowruns, singular: workflowrun, shortNames: [wr], categories: [oam]}
  versions:
    - name: v1alpha1
      served: true
      storage: true
      subresources: {status: {}}
      schema:
        openAPIV3Schema:
          type: object
          properties:
            apiVersion: {type: string}
            kind: {type: string}
            metadata: {type: object}
            spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
            status:
              type: object
              required: [finished, mode, status, suspend, terminated]
              properties:
                conditions:
                  type: array
                  items:
                    type: object
                    required: [lastTransitionTime, reason, status, type]
                    properties:
                      lastTransitionTime: {type: string, format: date-time}
                      message: {type: string}
                      reason: {type: string}
                      status: {type: string}
                      type: {type: string}
                contextBackend:
                  type: object
                  properties:
                    apiVersion: {type: string}
                    fieldPath: {type: string}
                    kind: {type: string}
                    name: {type: string}
                    namespace: {type: string}
                    resourceVersion: {type: string}
                    uid: {type: string}
                endTime: {type: string, format: date-time}
                finished: {type: boolean}
                message: {type: string}
                mode:
                  type: object
                  properties:
                    steps: {type: string}
                    subSteps: {type: string}
                startTime: {type: string, format: date-time}
                status: {type: string}
                steps:
                  type: array
                  items:
                    type: object
                    required: [id]
                    properties:
                      firstExecuteTime: {type: string, format: date-time}
                      id: {type: string}
                      lastExecuteTime: {type: string, format: date-time}
                      message: {type: string}
                      name: {type: string}
                      phase: {type: string}
                      reason: {type: string}
                      type: {type: string}
                      subSteps:
                        type: array
                        items:
                          type: object
                          required: [id]
                          properties:
                            firstExecuteTime: {type: string, format: date-time}
                            id: {type: string}
                            lastExecuteTime: {type: string, format: date-time}
                            message: {type: string}
                            name: {type: string}
                            phase: {type: string}
                            reason: {type: string}
                            type: {type: string}
                suspend: {type: boolean}
                suspendState: {type: string}
                terminated: {type: boolean}
`
