// Package crds holds velaflow's CustomResourceDefinitions, KubeVela
// Workflow's kinds: WorkflowRun and Workflow (core.oam.dev/v1alpha1) and
// WorkflowStepDefinition (core.oam.dev/v1beta1), and installs them.
package crds

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

//go:embed *.yaml
var files embed.FS

// Label marks the CustomResourceDefinitions velaflow installed; others of
// the same names (KubeVela's) are used as they are.
const Label = "app.kubernetes.io/part-of"

// FieldManager is the server-side apply field manager of Install.
const FieldManager = "velaflow"

// Resource is the resource of apiextensions.k8s.io/v1
// CustomResourceDefinitions.
var Resource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// All returns the CustomResourceDefinitions, by file name order.
func All() ([]*unstructured.Unstructured, error) {
	names, err := fs.Glob(files, "*.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []*unstructured.Unstructured
	for _, n := range names {
		data, err := files.ReadFile(n)
		if err != nil {
			return nil, err
		}
		var obj map[string]any
		if err := yaml.Unmarshal(data, &obj); err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		out = append(out, &unstructured.Unstructured{Object: obj})
	}
	return out, nil
}

// Outcome is what Install did with one CustomResourceDefinition.
type Outcome struct {
	Name string
	// Kept is set when a CustomResourceDefinition of that name not
	// installed by velaflow (KubeVela's) was there and was left as it is.
	Kept bool
}

// Install applies the CustomResourceDefinitions with server-side apply
// (again and again alike) and waits until each is Established. One of the
// same name that velaflow did not install is kept as it is.
func Install(ctx context.Context, dc dynamic.Interface) ([]Outcome, error) {
	all, err := All()
	if err != nil {
		return nil, err
	}
	res := dc.Resource(Resource)
	var done []Outcome
	for _, crd := range all {
		name := crd.GetName()
		got, err := res.Get(ctx, name, metav1.GetOptions{})
		switch {
		case err == nil && got.GetLabels()[Label] != "velaflow":
			done = append(done, Outcome{Name: name, Kept: true})
			continue
		case err != nil && !apierrors.IsNotFound(err):
			return done, fmt.Errorf("read CustomResourceDefinition %s: %w", name, err)
		}
		if _, err := res.Apply(ctx, name, crd, metav1.ApplyOptions{FieldManager: FieldManager, Force: true}); err != nil {
			return done, fmt.Errorf("apply CustomResourceDefinition %s: %w", name, err)
		}
		done = append(done, Outcome{Name: name})
	}
	for _, o := range done {
		if err := WaitEstablished(ctx, res, o.Name); err != nil {
			return done, err
		}
	}
	return done, nil
}

// WaitEstablished waits until the CustomResourceDefinition name is
// Established, so its resources can be used at once.
func WaitEstablished(ctx context.Context, res dynamic.ResourceInterface, name string) error {
	last := "not read yet"
	for {
		got, err := res.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			last = err.Error()
		} else {
			conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
			established := false
			last = "no Established condition yet"
			for _, c := range conds {
				m, _ := c.(map[string]any)
				typ, _ := m["type"].(string)
				status, _ := m["status"].(string)
				if typ == "NamesAccepted" && status == "False" {
					return fmt.Errorf("CustomResourceDefinition %s: names not accepted: %v", name, m["message"])
				}
				if typ == "Established" {
					established = status == "True"
					last = fmt.Sprintf("Established=%s: %v", status, m["message"])
				}
			}
			if established {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for CustomResourceDefinition %s to be Established: %w (last: %s)", name, ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
