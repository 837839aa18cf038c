// Package configstore keeps configs as KubeVela's config tooling does: a
// config is a Secret labelled config.oam.dev/catalog=velacore-config and
// config.oam.dev/type=<template>, its properties JSON under the data key
// input-properties, its alias, description, sensitivity and template
// namespace in annotations. A config written here is read by `vela config`
// and the other way round. Templates are ConfigMaps named
// config-template-<name> holding CUE under data.template.
package configstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/velaflow/velaflow/activities/kube"
)

// The labels, annotations and keys of the layout.
const (
	LabelCatalog             = "config.oam.dev/catalog"
	LabelType                = "config.oam.dev/type"
	LabelScope               = "config.oam.dev/scope"
	CatalogValue             = "velacore-config"
	AnnotationSensitive      = "config.oam.dev/sensitive"
	AnnotationAlias          = "config.oam.dev/alias"
	AnnotationDescription    = "config.oam.dev/description"
	AnnotationTemplateNS     = "config.oam.dev/template-namespace"
	KeyProperties            = "input-properties"
	KeyObjectReferences      = "objects-reference"
	TemplateConfigMapPrefix  = "config-template-"
	DefaultTemplateNamespace = "vela-system"
)

// Errors a caller may want to tell apart.
var (
	ErrSensitive        = errors.New("the config is sensitive")
	ErrChangeTemplate   = errors.New("the template of the config can not be changed")
	ErrTemplateNotFound = errors.New("the template does not exist")
	ErrNotFound         = errors.New("the config does not exist")
)

// Store reads and writes configs in one cluster.
type Store struct {
	Cluster *kube.Cluster
}

// Config is one config as #ListConfig returns it.
type Config struct {
	Name        string         `json:"name"`
	Alias       string         `json:"alias"`
	Description string         `json:"description"`
	Config      map[string]any `json:"config"`
}

// Create writes (or updates) the config name in namespace from properties,
// rendered through template ("name" or "namespace/name") when given.
func (s Store) Create(ctx context.Context, name, namespace, template string, properties map[string]any) error {
	if properties == nil {
		properties = map[string]any{}
	}
	secret := map[string]any{}
	labels := map[string]any{LabelCatalog: CatalogValue, LabelType: ""}
	annotations := map[string]any{}
	var outputs map[string]map[string]any
	if template != "" {
		tns, tname := splitTemplate(template)
		t, err := s.loadTemplate(ctx, tns, tname)
		if err != nil {
			return err
		}
		rendered, err := t.render(name, namespace, properties)
		if err != nil {
			return err
		}
		if rendered.output != nil {
			secret = rendered.output
		}
		outputs = rendered.outputs
		if _, ok := secret["type"]; !ok {
			secret["type"] = "/" + tname
		}
		labels[LabelType], labels[LabelScope] = tname, t.scope
		annotations[AnnotationSensitive] = fmt.Sprint(t.sensitive)
		annotations[AnnotationTemplateNS] = tns
	}
	if err := s.checkTemplateUnchanged(ctx, name, namespace, labels[LabelType].(string)); err != nil {
		return err
	}
	md := mapAt(secret, "metadata")
	md["name"], md["namespace"] = name, namespace
	mergeStrings(mapAt(md, "labels"), labels)
	ann := mapAt(md, "annotations")
	mergeStrings(ann, annotations)
	ann[AnnotationAlias], ann[AnnotationDescription] = "", ""
	secret["apiVersion"], secret["kind"] = "v1", "Secret"
	props, err := json.Marshal(properties)
	if err != nil {
		return err
	}
	data := mapAt(secret, "data")
	data[KeyProperties] = base64.StdEncoding.EncodeToString(props)
	if len(outputs) > 0 {
		refs, err := s.applyOutputs(ctx, outputs)
		if err != nil {
			return err
		}
		data[KeyObjectReferences] = base64.StdEncoding.EncodeToString(refs)
	}
	_, err = s.Cluster.Apply(ctx, kube.Run{}, secret, nil)
	return err
}

// Read returns the properties of the config name in namespace.
func (s Store) Read(ctx context.Context, name, namespace string) (map[string]any, error) {
	secret, found, err := s.Cluster.Read(ctx, secretRef(name, namespace))
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("config %s/%s: %w", namespace, name, ErrNotFound)
	}
	if annotation(secret, AnnotationSensitive) == "true" {
		return nil, fmt.Errorf("config %s/%s: %w", namespace, name, ErrSensitive)
	}
	return properties(secret)
}

// List returns the configs of a template ("" for every config) in
// namespace, by name.
func (s Store) List(ctx context.Context, namespace, template string) ([]Config, error) {
	match := map[string]string{LabelCatalog: CatalogValue}
	if template != "" {
		_, match[LabelType] = splitTemplate(template)
	}
	list, err := s.Cluster.List(ctx, "v1", "Secret", kube.Filter{Namespace: namespace, MatchingLabels: match})
	if err != nil {
		return nil, err
	}
	items, _ := list["items"].([]any)
	out := []Config{}
	for _, it := range items {
		secret, _ := it.(map[string]any)
		props, err := properties(secret)
		if err != nil {
			continue // not a config this layout can read
		}
		md, _ := secret["metadata"].(map[string]any)
		name, _ := md["name"].(string)
		out = append(out, Config{Name: name, Alias: annotation(secret, AnnotationAlias), Description: annotation(secret, AnnotationDescription), Config: props})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Delete removes the config and the objects its template rendered.
func (s Store) Delete(ctx context.Context, name, namespace string) error {
	secret, found, err := s.Cluster.Read(ctx, secretRef(name, namespace))
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("config %s/%s: %w", namespace, name, ErrNotFound)
	}
	md, _ := secret["metadata"].(map[string]any)
	labels, _ := md["labels"].(map[string]any)
	if labels[LabelCatalog] != CatalogValue {
		return fmt.Errorf("secret %s/%s is not a config (no %s=%s label)", namespace, name, LabelCatalog, CatalogValue)
	}
	if raw := dataValue(secret, KeyObjectReferences); raw != nil {
		var refs []map[string]any
		if err := json.Unmarshal(raw, &refs); err != nil {
			return fmt.Errorf("config %s/%s: %s: %w", namespace, name, KeyObjectReferences, err)
		}
		for _, r := range refs {
			obj := map[string]any{"apiVersion": r["apiVersion"], "kind": r["kind"], "metadata": map[string]any{"name": r["name"], "namespace": r["namespace"]}}
			if err := s.Cluster.Delete(ctx, obj, nil, ""); err != nil {
				return err
			}
		}
	}
	return s.Cluster.Delete(ctx, secretRef(name, namespace), nil, "")
}

func (s Store) checkTemplateUnchanged(ctx context.Context, name, namespace, template string) error {
	existing, found, err := s.Cluster.Read(ctx, secretRef(name, namespace))
	if err != nil || !found {
		return err
	}
	md, _ := existing["metadata"].(map[string]any)
	labels, _ := md["labels"].(map[string]any)
	if was, _ := labels[LabelType].(string); was != "" && was != template {
		return fmt.Errorf("config %s/%s has template %q: %w", namespace, name, was, ErrChangeTemplate)
	}
	return nil
}

func (s Store) applyOutputs(ctx context.Context, outputs map[string]map[string]any) ([]byte, error) {
	keys := make([]string, 0, len(outputs))
	for k := range outputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	refs := []map[string]any{}
	for _, k := range keys {
		out, err := s.Cluster.Apply(ctx, kube.Run{}, outputs[k], nil)
		if err != nil {
			return nil, fmt.Errorf("template output %s: %w", k, err)
		}
		md, _ := out["metadata"].(map[string]any)
		refs = append(refs, map[string]any{"apiVersion": out["apiVersion"], "kind": out["kind"], "name": md["name"], "namespace": md["namespace"]})
	}
	return json.Marshal(refs)
}

func splitTemplate(t string) (namespace, name string) {
	if ns, n, ok := strings.Cut(t, "/"); ok {
		return ns, n
	}
	return DefaultTemplateNamespace, t
}

func secretRef(name, namespace string) map[string]any {
	return map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": name, "namespace": namespace}}
}

func properties(secret map[string]any) (map[string]any, error) {
	raw := dataValue(secret, KeyProperties)
	if raw == nil {
		return nil, fmt.Errorf("no %s", KeyProperties)
	}
	var props map[string]any
	if err := json.Unmarshal(raw, &props); err != nil {
		return nil, fmt.Errorf("%s: %w", KeyProperties, err)
	}
	return props, nil
}

// dataValue decodes one key of a Secret's data.
func dataValue(secret map[string]any, key string) []byte {
	data, _ := secret["data"].(map[string]any)
	s, ok := data[key].(string)
	if !ok {
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil
	}
	return b
}

func annotation(obj map[string]any, key string) string {
	md, _ := obj["metadata"].(map[string]any)
	ann, _ := md["annotations"].(map[string]any)
	s, _ := ann[key].(string)
	return s
}

func mapAt(m map[string]any, key string) map[string]any {
	if v, ok := m[key].(map[string]any); ok {
		return v
	}
	v := map[string]any{}
	m[key] = v
	return v
}

func mergeStrings(dst, src map[string]any) {
	for k, v := range src {
		dst[k] = v
	}
}
