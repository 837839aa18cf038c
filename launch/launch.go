// Package launch builds the WorkflowRun a trigger starts from a stored
// Workflow template: `velaflow run --ref`, a schedule, a webhook. The run
// is an ordinary WorkflowRun with spec.workflowRef and spec.context, so it
// is validated and planned like any other.
package launch

import (
	"crypto/rand"
	"fmt"
	"os"

	"helm.sh/helm/v3/pkg/strvals"
	"sigs.k8s.io/yaml"

	"github.com/velaflow/velaflow/translator"
)

// Request is a run of a template.
type Request struct {
	Namespace string
	Template  string
	// Name is the run's name; when empty, GenerateName and a random suffix.
	Name         string
	GenerateName string
	Context      map[string]any
}

// Source is the run as the WorkflowRun document a user would have written,
// named for the errors as the command that asked for it.
func (r Request) Source() (translator.Source, error) {
	doc := map[string]any{
		"apiVersion": translator.GroupV1alpha1,
		"kind":       translator.KindWorkflowRun,
		"metadata":   map[string]any{"name": r.Name, "namespace": r.Namespace},
		"spec":       map[string]any{"workflowRef": r.Template},
	}
	if len(r.Context) > 0 {
		doc["spec"].(map[string]any)["context"] = r.Context
	}
	data, err := yaml.Marshal(doc)
	if err != nil {
		return translator.Source{}, err
	}
	return translator.Source{Name: fmt.Sprintf("run of template %s/%s", r.Namespace, r.Template), Data: data}, nil
}

// WithName gives the request a name: its own, or GenerateName (the
// template's name and a dash when that is empty too) and five random
// characters, as Kubernetes generates names.
func (r Request) WithName() Request {
	if r.Name != "" {
		return r
	}
	prefix := r.GenerateName
	if prefix == "" {
		prefix = r.Template + "-"
	}
	r.Name = prefix + suffix(5)
	return r
}

const alphabet = "bcdfghjklmnpqrstvwxz2456789" // as Kubernetes: no vowels, no look-alikes

func suffix(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// Context builds spec.context from a file (YAML or JSON) and then
// --set key=value (typed: 3 is a number, true a boolean, {a,b} a list,
// a.b=c nests) and --set-string key=value (always a string), later ones
// winning, as Helm reads its values.
func Context(contextFile string, sets, setStrings []string) (map[string]any, error) {
	ctx := map[string]any{}
	if contextFile != "" {
		data, err := os.ReadFile(contextFile)
		if err != nil {
			return nil, fmt.Errorf("--context-file: %w", err)
		}
		if err := yaml.Unmarshal(data, &ctx); err != nil {
			return nil, fmt.Errorf("--context-file %s: %w", contextFile, err)
		}
		if ctx == nil {
			ctx = map[string]any{}
		}
	}
	for _, s := range sets {
		if err := strvals.ParseInto(s, ctx); err != nil {
			return nil, fmt.Errorf("--set %s: %w", s, err)
		}
	}
	for _, s := range setStrings {
		if err := strvals.ParseIntoString(s, ctx); err != nil {
			return nil, fmt.Errorf("--set-string %s: %w", s, err)
		}
	}
	return ctx, nil
}
