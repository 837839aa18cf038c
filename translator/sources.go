package translator

import (
	"fmt"

	"sigs.k8s.io/yaml"
)

// Source is an input given as data rather than read from a file: an
// object read from a cluster. Name stands for the file in errors.
type Source struct {
	Name string
	Data []byte
}

// TranslateSources is TranslateAll for inputs given as data: the
// WorkflowRuns in runs, with the Workflows and WorkflowStepDefinitions in
// definitions (later ones replace earlier ones of the same name) and the
// built-ins.
func TranslateSources(runs, definitions []Source) (*Result, error) {
	in := newInputs()
	var errs Errors
	for _, s := range definitions {
		errs = append(errs, in.readData(s.Name, s.Data, false)...)
	}
	for _, s := range runs {
		errs = append(errs, in.readData(s.Name, s.Data, true)...)
	}
	return in.translate(errs, sourceNames(runs))
}

func sourceNames(ss []Source) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Name
	}
	return out
}

// ObjectSource is a Kubernetes object (as unstructured JSON) as the
// translator reads it: the fields users write (metadata's name,
// namespace, labels and annotations, and the top-level fields given),
// without what the API server adds. It is named "<Kind> <ns>/<name>" in
// errors.
func ObjectSource(obj map[string]any, fields ...string) (Source, error) {
	meta, _ := obj["metadata"].(map[string]any)
	md := map[string]any{"name": meta["name"], "namespace": meta["namespace"]}
	for _, k := range []string{"labels", "annotations"} {
		if v, ok := meta[k].(map[string]any); ok && len(v) > 0 {
			md[k] = v
		}
	}
	m := map[string]any{"apiVersion": obj["apiVersion"], "kind": obj["kind"], "metadata": md}
	for _, f := range fields {
		if v, ok := obj[f]; ok {
			m[f] = v
		}
	}
	data, err := yaml.Marshal(m)
	return Source{Name: fmt.Sprintf("%v %v/%v", obj["kind"], meta["namespace"], meta["name"]), Data: data}, err
}
