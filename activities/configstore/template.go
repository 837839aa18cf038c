package configstore

import (
	"context"
	"encoding/json"
	"fmt"

	"cuelang.org/go/cue"

	"github.com/velaflow/velaflow/cuedefs"
)

// template is a config template: CUE whose template.parameter takes the
// config's properties and whose template.output is the Secret to write
// (template.outputs: more objects; template.validation.$returns.message:
// why the properties are refused).
type template struct {
	name, namespace, script, scope string
	sensitive                      bool
}

func (s Store) loadTemplate(ctx context.Context, namespace, name string) (*template, error) {
	cm, found, err := s.Cluster.Read(ctx, map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": TemplateConfigMapPrefix + name, "namespace": namespace}})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("config template %s/%s (ConfigMap %s%s): %w", namespace, name, TemplateConfigMapPrefix, name, ErrTemplateNotFound)
	}
	data, _ := cm["data"].(map[string]any)
	script, _ := data["template"].(string)
	if script == "" {
		return nil, fmt.Errorf("config template %s/%s has no data.template", namespace, name)
	}
	md, _ := cm["metadata"].(map[string]any)
	labels, _ := md["labels"].(map[string]any)
	scope, _ := labels[LabelScope].(string)
	return &template{name: name, namespace: namespace, script: script, scope: scope,
		sensitive: annotation(cm, AnnotationSensitive) == "true"}, nil
}

type rendered struct {
	output  map[string]any
	outputs map[string]map[string]any
}

func (t *template) render(name, namespace string, properties map[string]any) (*rendered, error) {
	cctx := cuedefs.NewContext()
	file := fmt.Sprintf("config-template %s/%s", t.namespace, t.name)
	v, err := cuedefs.Compile(cctx, t.script, file, 0)
	if err != nil {
		return nil, fmt.Errorf("%s does not compile:\n%s", file, cuedefs.Describe(err))
	}
	for path, data := range map[string]any{"context": map[string]any{"name": name, "namespace": namespace}, "template.parameter": properties} {
		raw, err := json.Marshal(data)
		if err != nil {
			return nil, err
		}
		v = v.FillPath(cue.ParsePath(path), cctx.CompileBytes(raw))
	}
	if err := v.Validate(); err != nil {
		return nil, fmt.Errorf("config %s/%s through %s:\n%s", namespace, name, file, cuedefs.Describe(err))
	}
	if msg, _ := v.LookupPath(cue.ParsePath("template.validation.$returns.message")).String(); msg != "" {
		return nil, fmt.Errorf("failed to validate config: %s", msg)
	}
	r := &rendered{}
	if out := v.LookupPath(cue.ParsePath("template.output")); out.Exists() {
		if err := out.Decode(&r.output); err != nil {
			return nil, fmt.Errorf("%s: template.output: %s", file, cuedefs.Describe(err))
		}
	}
	if outs := v.LookupPath(cue.ParsePath("template.outputs")); outs.Exists() {
		if err := outs.Decode(&r.outputs); err != nil {
			return nil, fmt.Errorf("%s: template.outputs: %s", file, cuedefs.Describe(err))
		}
	}
	return r, nil
}
