package kube

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// WorkflowRuns is the resource of KubeVela's WorkflowRun objects.
var WorkflowRuns = schema.GroupVersionResource{Group: "core.oam.dev", Version: "v1alpha1", Resource: "workflowruns"}

// PatchRunStatus patches the status subresource of a WorkflowRun.
func (c *Cluster) PatchRunStatus(ctx context.Context, namespace, name string, pt types.PatchType, body []byte) error {
	_, err := c.dyn.Resource(WorkflowRuns).Namespace(namespace).Patch(ctx, name, pt, body, metav1.PatchOptions{FieldManager: FieldManager}, "status")
	return err
}

// GetRun reads a WorkflowRun.
func (c *Cluster) GetRun(ctx context.Context, namespace, name string) (*unstructured.Unstructured, error) {
	return c.dyn.Resource(WorkflowRuns).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
}
