// Package kube is velaflow's access to Kubernetes: the registry of named
// clusters a worker can reach, and the object operations (apply, patch,
// read, list, delete) on any type, CRDs included, through the dynamic
// client and discovery.
package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// Labels every applied object carries, as KubeVela sets them.
const (
	LabelRunName      = "workflowrun.oam.dev/name"
	LabelRunNamespace = "workflowrun.oam.dev/namespace"
	// FieldManager owns the fields velaflow applies.
	FieldManager = "velaflow"
)

// Cluster is one reachable cluster.
type Cluster struct {
	Name   string
	Config *rest.Config
	dyn    dynamic.Interface
	typed  kubernetes.Interface // for what the dynamic client lacks (Pod logs)
	mapper *restmapper.DeferredDiscoveryRESTMapper
	disco  discovery.CachedDiscoveryInterface
	mu     sync.Mutex
}

// NewCluster builds the clients of a cluster; nothing is contacted yet.
func NewCluster(name string, cfg *rest.Config) (*Cluster, error) {
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 50, 100
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	typed, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	cached := memory.NewMemCacheClient(dc)
	return &Cluster{Name: name, Config: cfg, dyn: dyn, typed: typed, disco: cached, mapper: restmapper.NewDeferredDiscoveryRESTMapper(cached)}, nil
}

// Version is the cluster's Kubernetes version; it tells the cluster answers.
func (c *Cluster) Version(timeout time.Duration) (string, error) {
	cfg := rest.CopyConfig(c.Config)
	cfg.Timeout = timeout
	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return "", err
	}
	v, err := disco.ServerVersion()
	if err != nil {
		return "", err
	}
	return v.GitVersion, nil
}

// notServed is the error about a kind the cluster does not serve (its
// CRD is not installed).
type notServed string

func (e notServed) Error() string { return string(e) }

// IsNotServed tells an error says the cluster does not serve a kind.
func IsNotServed(err error) bool {
	var ns notServed
	return errors.As(err, &ns)
}

// resource finds the REST resource of apiVersion/kind. Discovery is cached;
// an unknown kind refreshes it once, so a CRD installed after the worker
// started is found.
func (c *Cluster) resource(apiVersion, kind string) (*meta.RESTMapping, error) {
	if apiVersion == "" || kind == "" {
		return nil, Final(fmt.Errorf("the object needs apiVersion and kind"))
	}
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return nil, Final(fmt.Errorf("apiVersion %q: %w", apiVersion, err))
	}
	gk := schema.GroupKind{Group: gv.Group, Kind: kind}
	m, err := c.mapper.RESTMapping(gk, gv.Version)
	if meta.IsNoMatchError(err) {
		c.mu.Lock()
		c.mapper.Reset()
		c.mu.Unlock()
		m, err = c.mapper.RESTMapping(gk, gv.Version)
	}
	if meta.IsNoMatchError(err) {
		return nil, notServed(fmt.Sprintf("cluster %s does not serve %s %s (yet)", c.Name, apiVersion, kind))
	}
	if err != nil {
		return nil, fmt.Errorf("cluster %s: discovery of %s %s: %w", c.Name, apiVersion, kind, err)
	}
	return m, nil
}

// client is the dynamic client of obj's type, in obj's namespace (defaulted
// to "default" for namespaced types; cleared for cluster-scoped ones).
func (c *Cluster) client(obj *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	m, err := c.resource(obj.GetAPIVersion(), obj.GetKind())
	if err != nil {
		return nil, err
	}
	if m.Scope.Name() == meta.RESTScopeNameRoot {
		obj.SetNamespace("")
		return c.dyn.Resource(m.Resource), nil
	}
	if obj.GetNamespace() == "" {
		obj.SetNamespace("default")
	}
	return c.dyn.Resource(m.Resource).Namespace(obj.GetNamespace()), nil
}

// Namespace is the namespace an operation on obj acts in: obj's, or
// "default" when a namespaced object names none; "" for a cluster-scoped
// type.
func (c *Cluster) Namespace(obj map[string]any) (string, error) {
	u := &unstructured.Unstructured{Object: obj}
	m, err := c.resource(u.GetAPIVersion(), u.GetKind())
	if err != nil {
		return "", err
	}
	if m.Scope.Name() == meta.RESTScopeNameRoot {
		return "", nil
	}
	if ns := u.GetNamespace(); ns != "" {
		return ns, nil
	}
	return "default", nil
}

// ListNamespace is the namespace a list of apiVersion/kind filtered to
// namespace reads: "" when it reads every namespace or the type is
// cluster-scoped.
func (c *Cluster) ListNamespace(apiVersion, kind, namespace string) (string, error) {
	m, err := c.resource(apiVersion, kind)
	if err != nil {
		return "", err
	}
	if m.Scope.Name() == meta.RESTScopeNameRoot {
		return "", nil
	}
	return namespace, nil
}

// Run names the WorkflowRun an operation works for; applied objects are
// labelled with it.
type Run struct{ Name, Namespace string }

// Apply merges patch into obj, labels it with the run, and server-side
// applies it; it returns the object as the cluster holds it.
func (c *Cluster) Apply(ctx context.Context, run Run, obj, patch map[string]any) (map[string]any, error) {
	u := &unstructured.Unstructured{Object: deepCopy(obj)}
	if patch != nil {
		u.Object = mergePatch(u.Object, patch).(map[string]any)
	}
	if u.GetName() == "" {
		return nil, Final(fmt.Errorf("%s %s: metadata.name is missing", u.GetAPIVersion(), u.GetKind()))
	}
	if run.Name != "" {
		labels := u.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[LabelRunName], labels[LabelRunNamespace] = run.Name, run.Namespace
		u.SetLabels(labels)
	}
	ri, err := c.client(u)
	if err != nil {
		return nil, err
	}
	out, err := ri.Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	if err != nil {
		return nil, c.wrap("apply", u, err)
	}
	return out.Object, nil
}

// Patch merges patch (a JSON merge patch) into the existing object obj names.
func (c *Cluster) Patch(ctx context.Context, obj, patch map[string]any) (map[string]any, error) {
	u := &unstructured.Unstructured{Object: deepCopy(obj)}
	ri, err := c.client(u)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(patch)
	if err != nil {
		return nil, Final(err)
	}
	out, err := ri.Patch(ctx, u.GetName(), types.MergePatchType, body, metav1.PatchOptions{FieldManager: FieldManager})
	if err != nil {
		return nil, c.wrap("patch", u, err)
	}
	return out.Object, nil
}

// Read returns the object obj names; found is false when it does not exist.
func (c *Cluster) Read(ctx context.Context, obj map[string]any) (out map[string]any, found bool, err error) {
	u := &unstructured.Unstructured{Object: deepCopy(obj)}
	ri, err := c.client(u)
	if err != nil {
		return nil, false, err
	}
	got, err := ri.Get(ctx, u.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, c.wrap("read", u, err)
	}
	return got.Object, true, nil
}

// Filter selects objects of one type.
type Filter struct {
	Namespace      string            `json:"namespace"`
	MatchingLabels map[string]string `json:"matchingLabels"`
}

func (f Filter) selector() string {
	var parts []string
	for k, v := range f.MatchingLabels {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ",")
}

// List lists the objects of apiVersion/kind that match the filter (all
// namespaces when it names none).
func (c *Cluster) List(ctx context.Context, apiVersion, kind string, f Filter) (map[string]any, error) {
	m, err := c.resource(apiVersion, kind)
	if err != nil {
		return nil, err
	}
	var ri dynamic.ResourceInterface = c.dyn.Resource(m.Resource)
	if m.Scope.Name() != meta.RESTScopeNameRoot && f.Namespace != "" {
		ri = c.dyn.Resource(m.Resource).Namespace(f.Namespace)
	}
	list, err := listPaged(ctx, ri, f.selector())
	if err != nil {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion(apiVersion)
		u.SetKind(kind)
		u.SetNamespace(f.Namespace)
		return nil, c.wrap("list", u, err)
	}
	return list.UnstructuredContent(), nil
}

// MaxListBytes caps what one list reads (the objects as JSON): a step
// holds them in memory while its template is evaluated.
const MaxListBytes = 8 << 20

// listPaged reads a list page by page, so a list above MaxListBytes fails
// before all of it is in memory.
func listPaged(ctx context.Context, ri dynamic.ResourceInterface, selector string) (*unstructured.UnstructuredList, error) {
	opts := metav1.ListOptions{LabelSelector: selector, Limit: 500}
	var all *unstructured.UnstructuredList
	size := 0
	for {
		page, err := ri.List(ctx, opts)
		if err != nil {
			return nil, err
		}
		for _, item := range page.Items {
			b, _ := item.MarshalJSON()
			size += len(b)
		}
		if size > MaxListBytes {
			return nil, Final(fmt.Errorf("the objects listed are larger than the limit of %d MiB: narrow the list with a namespace or matchingLabels", MaxListBytes>>20))
		}
		if all == nil {
			all = page
		} else {
			all.Items = append(all.Items, page.Items...)
		}
		if opts.Continue = page.GetContinue(); opts.Continue == "" {
			all.SetContinue("")
			return all, nil
		}
	}
}

// Delete deletes the object obj names, or with a filter every object of
// obj's type matching it. Missing objects are not an error. propagation is
// Background, Foreground, Orphan, or "" for the type's default.
func (c *Cluster) Delete(ctx context.Context, obj map[string]any, f *Filter, propagation string) error {
	u := &unstructured.Unstructured{Object: deepCopy(obj)}
	opts := metav1.DeleteOptions{}
	if propagation != "" {
		p := metav1.DeletionPropagation(propagation)
		opts.PropagationPolicy = &p
	}
	if f == nil {
		ri, err := c.client(u)
		if err != nil {
			return err
		}
		if err := ri.Delete(ctx, u.GetName(), opts); err != nil && !apierrors.IsNotFound(err) {
			return c.wrap("delete", u, err)
		}
		return nil
	}
	if f.Namespace == "" {
		f.Namespace = u.GetNamespace()
	}
	list, err := c.List(ctx, u.GetAPIVersion(), u.GetKind(), *f)
	if err != nil {
		return err
	}
	items, _ := list["items"].([]any)
	for _, it := range items {
		item, ok := it.(map[string]any)
		if !ok {
			continue
		}
		if err := c.Delete(ctx, item, nil, propagation); err != nil {
			return err
		}
	}
	return nil
}

// wrap names the object and cluster in an API error, and makes errors that
// retrying cannot cure (forbidden, invalid) final.
func (c *Cluster) wrap(verb string, u *unstructured.Unstructured, err error) error {
	what := u.GetKind()
	if u.GetName() != "" {
		what += " " + u.GetName()
	}
	if ns := u.GetNamespace(); ns != "" {
		what += " in namespace " + ns
	}
	werr := fmt.Errorf("%s %s in cluster %s: %w", verb, what, c.Name, err)
	switch {
	case IsFinal(err):
		return Final(werr)
	case apierrors.IsForbidden(err), apierrors.IsUnauthorized(err), apierrors.IsInvalid(err), apierrors.IsBadRequest(err), apierrors.IsMethodNotSupported(err):
		return Final(werr)
	}
	return werr
}

// FinalError is an error retrying cannot cure: the step fails at once.
type FinalError struct{ Err error }

func (e FinalError) Error() string { return e.Err.Error() }
func (e FinalError) Unwrap() error { return e.Err }

// Final marks err as final.
func Final(err error) error { return FinalError{err} }

// IsFinal tells whether err is final.
func IsFinal(err error) bool {
	var f FinalError
	return errors.As(err, &f)
}

// mergePatch applies a JSON merge patch (RFC 7386): objects merge, null
// deletes, anything else replaces.
func mergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
			continue
		}
		t[k] = mergePatch(t[k], v)
	}
	return t
}

// deepCopy copies an object through JSON, so the caller's maps stay as
// they were; nil becomes an empty object.
func deepCopy(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	raw, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return out
}
