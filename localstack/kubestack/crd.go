package kubestack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/velaflow/velaflow/deploy/crds"
)

// FieldManager is the server-side apply field manager of InstallCRDs.
const FieldManager = "kubestack"

// InstallCRDs applies CustomResourceDefinitions (apiextensions.k8s.io/v1,
// YAML or JSON, several documents per file allowed) with server-side apply
// and waits until each is Established, so its resources can be used at once.
func InstallCRDs(ctx context.Context, cfg *rest.Config, crdYAML ...[]byte) error {
	var defs []*unstructured.Unstructured
	for i, doc := range crdYAML {
		objs, err := DecodeObjects(doc)
		if err != nil {
			return fmt.Errorf("CRD file %d: %w", i+1, err)
		}
		for _, o := range objs {
			if o.GetAPIVersion() != "apiextensions.k8s.io/v1" || o.GetKind() != "CustomResourceDefinition" {
				return fmt.Errorf("CRD file %d: %s %q is not an apiextensions.k8s.io/v1 CustomResourceDefinition", i+1, o.GroupVersionKind(), o.GetName())
			}
			if o.GetName() == "" {
				return fmt.Errorf("CRD file %d: a CustomResourceDefinition has no metadata.name", i+1)
			}
			defs = append(defs, o)
		}
	}
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	res := dc.Resource(crds.Resource)
	for _, crd := range defs {
		if _, err := res.Apply(ctx, crd.GetName(), crd, metav1.ApplyOptions{FieldManager: FieldManager, Force: true}); err != nil {
			return fmt.Errorf("apply CustomResourceDefinition %s: %w", crd.GetName(), err)
		}
	}
	for _, crd := range defs {
		if err := crds.WaitEstablished(ctx, res, crd.GetName()); err != nil {
			return err
		}
	}
	return nil
}

// DecodeObjects decodes the Kubernetes objects of a YAML stream (documents
// separated by ---) or a JSON object; empty documents are skipped.
func DecodeObjects(data []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, fmt.Errorf("document %d: %w", len(objs)+1, err)
		}
		if len(m) == 0 {
			continue
		}
		o := &unstructured.Unstructured{Object: m}
		if o.GetKind() == "" || o.GetAPIVersion() == "" {
			return nil, fmt.Errorf("document %d has no apiVersion or kind", len(objs)+1)
		}
		objs = append(objs, o)
	}
}
