package kubestack

import (
	"context"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
)

func TestDecodeObjects(t *testing.T) {
	objs, err := DecodeObjects([]byte(`
---
apiVersion: v1
kind: ConfigMap
metadata: {name: a}
---
# only a comment
---
{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "b"}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 || objs[0].GetKind() != "ConfigMap" || objs[1].GetName() != "b" {
		t.Fatalf("got %d objects: %v", len(objs), objs)
	}
	if _, err := DecodeObjects([]byte("metadata: {name: a}\n")); err == nil || !strings.Contains(err.Error(), "no apiVersion or kind") {
		t.Fatalf("want a missing-kind error, got %v", err)
	}
}

func TestInstallCRDsRejectsOtherKinds(t *testing.T) {
	// Checked before any request: the host is never dialled.
	err := InstallCRDs(context.Background(), &rest.Config{Host: "https://127.0.0.1:1"},
		[]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"))
	if err == nil || !strings.Contains(err.Error(), "is not an apiextensions.k8s.io/v1 CustomResourceDefinition") {
		t.Fatalf("got %v", err)
	}
}

func TestFindBinDirMissing(t *testing.T) {
	_, err := FindBinDir(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "make kube") {
		t.Fatalf("want an error that says to run make kube, got %v", err)
	}
}
