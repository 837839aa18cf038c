package testsuite

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/velaflow/velaflow/localstack/kubestack"
)

// imagePullJobCRD is an OpenKruise-style ImagePullJob: namespaced, with a
// status subresource, and a schema that keeps any field.
const imagePullJobCRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: imagepulljobs.apps.kruise.io
spec:
  group: apps.kruise.io
  scope: Namespaced
  names:
    kind: ImagePullJob
    listKind: ImagePullJobList
    plural: imagepulljobs
    singular: imagepulljob
  versions:
    - name: v1alpha1
      served: true
      storage: true
      subresources:
        status: {}
      additionalPrinterColumns:
        - name: Phase
          type: string
          jsonPath: .status.phase
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              x-kubernetes-preserve-unknown-fields: true
            status:
              type: object
              x-kubernetes-preserve-unknown-fields: true
`

var imagePullJobs = schema.GroupVersionResource{Group: "apps.kruise.io", Version: "v1alpha1", Resource: "imagepulljobs"}

// TestTwoClustersWithACRD starts two real control planes (etcd +
// kube-apiserver each), installs the ImagePullJob CRD in both, creates a
// job in each, plays the operator by patching its status to Ready, and
// checks that RBAC forbids the limited user to list them.
func TestTwoClustersWithACRD(t *testing.T) {
	root, err := repoRoot()
	require.NoError(t, err)
	binDir := filepath.Join(root, "bin")
	if _, err := kubestack.FindBinDir(binDir); err != nil {
		t.Fatalf("the Kubernetes test bed needs bin/kube-apiserver and bin/etcd: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	names := []string{"shanghai", "us-west"}
	clusters := make([]*kubestack.Cluster, len(names))
	errs := make([]error, len(names))
	took := make([]time.Duration, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			start := time.Now()
			clusters[i], errs[i] = kubestack.Start(ctx, kubestack.Options{Name: name, Dir: t.TempDir(), BinDir: binDir})
			took[i] = time.Since(start)
		})
	}
	wg.Wait()
	for i, c := range clusters {
		if c != nil {
			t.Cleanup(func() { _ = c.Stop() })
		}
		require.NoError(t, errs[i], "start cluster %s", names[i])
		t.Logf("cluster %s: %s ready in %s (etcd %s, dir %s)", c.Name, c.Server, took[i].Round(time.Millisecond), c.EtcdEndpoint, c.Dir)
	}

	for i, c := range clusters {
		image := "registry.example/" + names[i] + "/nginx:1.27"
		t.Run(c.Name, func(t *testing.T) {
			require.NoError(t, kubestack.InstallCRDs(ctx, c.RESTConfig(), []byte(imagePullJobCRD)))

			// The admin kubeconfig works as written.
			cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
			require.NoError(t, err)
			dc, err := dynamic.NewForConfig(cfg)
			require.NoError(t, err)
			jobs := dc.Resource(imagePullJobs).Namespace("default")

			job := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "apps.kruise.io/v1alpha1",
				"kind":       "ImagePullJob",
				"metadata":   map[string]any{"name": "pull-nginx"},
				"spec": map[string]any{
					"image":            image,
					"parallelism":      int64(2),
					"completionPolicy": map[string]any{"type": "Always", "activeDeadlineSeconds": int64(600)},
				},
				// Ignored on create: status is a subresource.
				"status": map[string]any{"phase": "Bogus"},
			}}
			created, err := jobs.Create(ctx, job, metav1.CreateOptions{})
			require.NoError(t, err)
			_, hasStatus, _ := unstructured.NestedFieldNoCopy(created.Object, "status", "phase")
			require.False(t, hasStatus, "status must be dropped on create when the status subresource is on: %v", created.Object["status"])
			require.EqualValues(t, 1, created.GetGeneration())

			// The operator reports the job Ready through the status subresource.
			patched, err := jobs.Patch(ctx, "pull-nginx", types.MergePatchType,
				[]byte(`{"status":{"phase":"Ready","desired":1,"succeeded":1}}`), metav1.PatchOptions{}, "status")
			require.NoError(t, err)
			require.EqualValues(t, 1, patched.GetGeneration(), "a status patch does not bump the generation")

			got, err := jobs.Get(ctx, "pull-nginx", metav1.GetOptions{})
			require.NoError(t, err)
			phase, _, _ := unstructured.NestedString(got.Object, "status", "phase")
			require.Equal(t, "Ready", phase)
			gotImage, _, _ := unstructured.NestedString(got.Object, "spec", "image")
			require.Equal(t, image, gotImage, "each cluster has its own object")

			// The limited user authenticates but RBAC forbids it.
			limited, err := clientcmd.BuildConfigFromFlags("", c.LimitedKubeconfig)
			require.NoError(t, err)
			ldc, err := dynamic.NewForConfig(limited)
			require.NoError(t, err)
			_, err = ldc.Resource(imagePullJobs).Namespace("default").List(ctx, metav1.ListOptions{})
			require.True(t, apierrors.IsForbidden(err), "limited user listing imagepulljobs: want Forbidden, got %v", err)
			_, err = ldc.Resource(imagePullJobs).Namespace("default").Get(ctx, "pull-nginx", metav1.GetOptions{})
			require.True(t, apierrors.IsForbidden(err), "limited user getting an imagepulljob: want Forbidden, got %v", err)
		})
	}

	// The clusters do not share storage: an object made in one only is
	// not found in the other.
	a, err := dynamic.NewForConfig(clusters[0].RESTConfig())
	require.NoError(t, err)
	b, err := dynamic.NewForConfig(clusters[1].RESTConfig())
	require.NoError(t, err)
	only := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps.kruise.io/v1alpha1", "kind": "ImagePullJob",
		"metadata": map[string]any{"name": "only-in-" + names[0]},
		"spec":     map[string]any{"image": "busybox"},
	}}
	_, err = a.Resource(imagePullJobs).Namespace("default").Create(ctx, only, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = b.Resource(imagePullJobs).Namespace("default").Get(ctx, only.GetName(), metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "want NotFound in %s, got %v", names[1], err)

	for _, c := range clusters {
		start := time.Now()
		require.NoError(t, c.Stop(), "stop cluster %s", c.Name)
		t.Logf("cluster %s stopped in %s", c.Name, time.Since(start).Round(time.Millisecond))
	}
}
