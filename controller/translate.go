package controller

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/velaflow/velaflow/translator"
)

var (
	runGVK        = schema.GroupVersionKind{Group: "core.oam.dev", Version: "v1alpha1", Kind: translator.KindWorkflowRun}
	workflowGVK   = schema.GroupVersionKind{Group: "core.oam.dev", Version: "v1alpha1", Kind: translator.KindWorkflow}
	definitionGVK = schema.GroupVersionKind{Group: "core.oam.dev", Version: "v1beta1", Kind: translator.KindWorkflowStepDefinition}
)

// translate plans a WorkflowRun object with the cluster's Workflows and
// WorkflowStepDefinitions, as KubeVela resolves them: the run's namespace
// first, then the system namespace; then the built-ins. The definitions
// are read from the API server, not a cache, so a definition applied with
// its run is found.
func (r *Reconciler) translate(ctx context.Context, obj *unstructured.Unstructured) (*translator.Plan, error) {
	kinds := []schema.GroupVersionKind{definitionGVK}
	if ref, _, _ := unstructured.NestedString(obj.Object, "spec", "workflowRef"); ref != "" {
		kinds = append(kinds, workflowGVK)
	}
	var defs []translator.Source
	for _, ns := range r.definitionNamespaces(obj.GetNamespace()) {
		for _, gvk := range kinds {
			found, err := r.list(ctx, gvk, ns)
			if err != nil {
				return nil, err
			}
			defs = append(defs, found...)
		}
	}
	run, err := translator.ObjectSource(obj.Object, "spec")
	if err != nil {
		return nil, err
	}
	res, err := translator.TranslateSources([]translator.Source{run}, defs)
	if err != nil {
		return nil, invalid{describe(err, run.Name)}
	}
	return res.Plans[0], nil
}

// definitionNamespaces are searched in this order; later ones win.
func (r *Reconciler) definitionNamespaces(ns string) []string {
	if ns == r.opts.SystemNamespace {
		return []string{ns}
	}
	return []string{r.opts.SystemNamespace, ns}
}

// list reads the objects of a kind in a namespace as translator sources;
// a kind the cluster does not have is none.
func (r *Reconciler) list(ctx context.Context, gvk schema.GroupVersionKind, ns string) ([]translator.Source, error) {
	l := &unstructured.UnstructuredList{}
	l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err := r.reader.List(ctx, l, client.InNamespace(ns)); err != nil {
		if meta.IsNoMatchError(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("list %ss in namespace %s: %w", gvk.Kind, ns, err)
	}
	var out []translator.Source
	for i := range l.Items {
		s, err := translator.ObjectSource(l.Items[i].Object, "spec", "mode", "steps", "concurrency")
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// invalid is a run the translator refused; its message goes to .status.
type invalid struct{ msg string }

func (e invalid) Error() string { return e.msg }

// describe lists the translator's problems by field path; a problem in
// another object (a definition) names that object.
func describe(err error, run string) string {
	es, ok := err.(translator.Errors)
	if !ok {
		return err.Error()
	}
	lines := make([]string, 0, len(es))
	for _, e := range es {
		var b strings.Builder
		if e.File != run {
			b.WriteString(e.File + ": ")
		}
		if e.Field != "" {
			b.WriteString(e.Field + ": ")
		}
		b.WriteString(e.Msg)
		lines = append(lines, b.String())
	}
	return strings.Join(lines, "; ")
}
