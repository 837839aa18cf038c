package ops

import (
	"context"
	"crypto/x509"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/velaflow/velaflow/activities/kube"
	"go.temporal.io/sdk/activity"
)

// Clusters resolves a step's cluster name.
type Clusters interface {
	Get(ctx context.Context, name string) (*kube.Cluster, error)
}

// Env is what operations may use besides their arguments: the run they
// work for and the clusters the worker reaches.
type Env struct {
	Run kube.Run
	// Session is the step's ID in the run: the same in every execution of
	// the step, another in a restarted run.
	Session  string
	Clusters Clusters
	// Vars are the run's variables (#DoVar); Put changes them here and
	// records the change in the outcome.
	Vars *Vars
	// RootCAs are the certificate authorities TLS connections (HTTPS,
	// SMTP) trust; nil means the system's.
	RootCAs *x509.CertPool
	// LogLevel is the highest #Log level kept (0: DefaultLogLevel).
	LogLevel int
	// OpenAIBaseURL, when set, is where requests to the OpenAI API
	// (https://api.openai.com/v1/...) go: an OpenAI-compatible server.
	OpenAIBaseURL string
	// Seen is the object whose change woke the step, as the watch
	// delivered it: a read of it takes it instead of asking the cluster.
	Seen *Seen
	// Secrets collects what the execution read from Secrets, so that its
	// message, error and logs can be redacted; nil collects nothing.
	Secrets *Secrets
	// Reach is which namespaces besides its own the run may change
	// objects in and read Secrets from (nil: none).
	Reach *kube.Reach
}

// Seen is an object a watch delivered, read at most once.
type Seen struct {
	ref  ObjectRef
	obj  map[string]any
	used atomic.Bool
}

// NewSeen is obj, as a watch delivered it for ref.
func NewSeen(ref ObjectRef, obj map[string]any) *Seen { return &Seen{ref: ref, obj: obj} }

// take returns the object if value (a read's argument, on cluster) names
// it and it was not taken yet. A read without a namespace names the
// object in "default", or a cluster-scoped one, as the cluster reads it.
func (s *Seen) take(cluster string, value map[string]any) (map[string]any, bool) {
	if s == nil {
		return nil, false
	}
	md, _ := value["metadata"].(map[string]any)
	apiVersion, _ := value["apiVersion"].(string)
	kind, _ := value["kind"].(string)
	ns, _ := md["namespace"].(string)
	name, _ := md["name"].(string)
	r := s.ref
	sameNamespace := ns == r.Namespace || (ns == "" && (r.Namespace == "default" || r.Namespace == ""))
	if cluster != r.Cluster || apiVersion != r.APIVersion || kind != r.Kind || name != r.Name || !sameNamespace {
		return nil, false
	}
	if !s.used.CompareAndSwap(false, true) {
		return nil, false
	}
	return s.obj, true
}

func (e *Env) logLevel() int {
	if e == nil || e.LogLevel == 0 {
		return DefaultLogLevel
	}
	return e.LogLevel
}

func (e *Env) rootCAs() *x509.CertPool {
	if e == nil {
		return nil
	}
	return e.RootCAs
}

// kubeOps read and write Kubernetes objects.
func kubeOps() []Op {
	return []Op{
		{Provider: "kube", Do: "apply", Run: kubeApply, LegacySpread: "value"},
		{Provider: "kube", Do: "apply-in-parallel", Run: kubeApplyInParallel},
		{Provider: "kube", Do: "patch", Run: kubePatch},
		{Provider: "kube", Do: "read", Run: kubeRead},
		{Provider: "kube", Do: "list", Run: kubeList},
		{Provider: "kube", Do: "delete", Run: kubeDelete},
	}
}

// onCluster is the argument every kube operation has.
type onCluster struct {
	Cluster string `json:"cluster"`
}

func (o onCluster) clusterName() string { return o.Cluster }

// decodeOn decodes an operation's arguments and resolves their cluster.
func decodeOn[A interface{ clusterName() string }](ctx context.Context, c *Call, args *A) (*kube.Cluster, error) {
	if err := c.Decode(args); err != nil {
		return nil, err
	}
	return c.cluster(ctx, (*args).clusterName())
}

// cluster resolves the call's cluster.
func (c *Call) cluster(ctx context.Context, name string) (*kube.Cluster, error) {
	if c.Env == nil || c.Env.Clusters == nil {
		return nil, FinalError{fmt.Errorf("this worker has no Kubernetes access: start it with --kubeconfig or --clusters")}
	}
	cl, err := c.Env.Clusters.Get(ctx, name)
	return cl, kubeErr(err)
}

func (c *Call) run() kube.Run {
	if c.Env == nil {
		return kube.Run{}
	}
	return c.Env.Run
}

// mayChange checks that the run may apply, patch or delete obj (verb).
func (c *Call) mayChange(cl *kube.Cluster, verb string, obj map[string]any) error {
	ns, err := cl.Namespace(obj)
	if err != nil {
		return kubeErr(err)
	}
	place := " (cluster-scoped)"
	if ns != "" {
		place = " in namespace " + ns
	}
	name, _ := objectName(obj)
	return c.reachCheck(cl, ns, verb+" "+kindOf(obj)+" "+name+place)
}

// mayReadSecrets checks that the run may read Secrets in ns ("" for
// every namespace).
func (c *Call) mayReadSecrets(cl *kube.Cluster, ns string) error {
	if ns == "" {
		return c.reachCheck(cl, ns, "read Secrets in every namespace")
	}
	return c.reachCheck(cl, ns, "read Secrets in namespace "+ns)
}

// reachCheck checks the run may reach namespace ns ("": cluster-scoped
// objects or every namespace) of cl; what says what it tried.
func (c *Call) reachCheck(cl *kube.Cluster, ns, what string) error {
	return kubeErr(c.Env.Reach.Check(c.run().Namespace, ns, what+" of cluster "+cl.Name))
}

// isSecret tells a core Secret.
func isSecret(apiVersion, kind string) bool { return apiVersion == "v1" && kind == "Secret" }

// logChange logs a change made to a cluster, with the cluster as a field.
func logChange(ctx context.Context, verb, cluster string, obj map[string]any) {
	if !activity.IsActivity(ctx) {
		return
	}
	name, ns := objectName(obj)
	activity.GetLogger(ctx).Info(verb, "cluster", cluster, "kind", kindOf(obj), "name", name, "namespace", ns)
}

// kubeErr makes the errors retrying cannot cure final.
func kubeErr(err error) error {
	if err != nil && kube.IsFinal(err) {
		return FinalError{err}
	}
	return err
}

func kubeApply(ctx context.Context, c *Call) (any, error) {
	var args struct {
		onCluster
		Value map[string]any `json:"value"`
		Patch map[string]any `json:"patch"`
	}
	cl, err := decodeOn(ctx, c, &args)
	if err != nil {
		return nil, err
	}
	if err := c.mayChange(cl, "apply", args.Value); err != nil {
		return nil, err
	}
	out, err := cl.Apply(ctx, c.run(), args.Value, args.Patch)
	if err != nil {
		return nil, kubeErr(err)
	}
	logChange(ctx, "applied", cl.Name, out)
	c.Watch(args.Cluster, out) // a step waiting on what it applied wakes when it changes
	return map[string]any{"value": out}, nil
}

func kubeApplyInParallel(ctx context.Context, c *Call) (any, error) {
	var args struct {
		onCluster
		Value []map[string]any `json:"value"`
	}
	cl, err := decodeOn(ctx, c, &args)
	if err != nil {
		return nil, err
	}
	for _, obj := range args.Value {
		if err := c.mayChange(cl, "apply", obj); err != nil {
			return nil, err
		}
	}
	out := make([]any, len(args.Value))
	errs := make([]error, len(args.Value))
	var wg sync.WaitGroup
	for i, obj := range args.Value {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { // a panic here would take the worker down
				if p := recover(); p != nil {
					errs[i] = FinalError{fmt.Errorf("apply panicked: %v", p)}
				}
			}()
			out[i], errs[i] = cl.Apply(ctx, c.run(), obj, nil)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, kubeErr(err)
		}
	}
	return map[string]any{"value": out}, nil
}

func kubePatch(ctx context.Context, c *Call) (any, error) {
	var args struct {
		onCluster
		Value map[string]any `json:"value"`
		Patch map[string]any `json:"patch"`
	}
	cl, err := decodeOn(ctx, c, &args)
	if err != nil {
		return nil, err
	}
	if err := c.mayChange(cl, "patch", args.Value); err != nil {
		return nil, err
	}
	out, err := cl.Patch(ctx, args.Value, args.Patch)
	if err != nil {
		return nil, kubeErr(err)
	}
	logChange(ctx, "patched", cl.Name, out)
	return map[string]any{"value": out}, nil
}

func kubeRead(ctx context.Context, c *Call) (any, error) {
	var args struct {
		onCluster
		Value map[string]any `json:"value"`
	}
	cl, err := decodeOn(ctx, c, &args)
	if err != nil {
		return nil, err
	}
	if isSecret(apiVersionOf(args.Value), kindOf(args.Value)) {
		ns, err := cl.Namespace(args.Value)
		if err != nil {
			return nil, kubeErr(err)
		}
		if err := c.mayReadSecrets(cl, ns); err != nil {
			return nil, err
		}
	}
	if out, ok := c.Env.Seen.take(args.Cluster, args.Value); ok {
		c.Watch(args.Cluster, out)
		return map[string]any{"value": out}, nil
	}
	out, found, err := cl.Read(ctx, args.Value)
	if err != nil {
		return nil, kubeErr(err)
	}
	if found {
		c.Watch(args.Cluster, out)
		c.Env.Secrets.AddObject(out)
	} else {
		c.Watch(args.Cluster, args.Value)
	}
	if !found {
		return map[string]any{"value": args.Value, "err": fmt.Sprintf("%s %s not found in cluster %s", kindOf(args.Value), nameOf(args.Value), cl.Name)}, nil
	}
	return map[string]any{"value": out}, nil
}

func kubeList(ctx context.Context, c *Call) (any, error) {
	var args struct {
		onCluster
		Resource struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		} `json:"resource"`
		Filter kube.Filter `json:"filter"`
	}
	cl, err := decodeOn(ctx, c, &args)
	if err != nil {
		return nil, err
	}
	if isSecret(args.Resource.APIVersion, args.Resource.Kind) {
		if err := c.mayReadSecrets(cl, args.Filter.Namespace); err != nil {
			return nil, err
		}
	}
	list, err := cl.List(ctx, args.Resource.APIVersion, args.Resource.Kind, args.Filter)
	if err != nil {
		return nil, kubeErr(err)
	}
	if items, ok := list["items"].([]any); ok && isSecret(args.Resource.APIVersion, args.Resource.Kind) {
		for _, it := range items {
			if obj, ok := it.(map[string]any); ok {
				c.Env.Secrets.AddObject(obj)
			}
		}
	}
	return map[string]any{"list": list}, nil
}

func kubeDelete(ctx context.Context, c *Call) (any, error) {
	var args struct {
		onCluster
		Value             map[string]any `json:"value"`
		Filter            *kube.Filter   `json:"filter"`
		PropagationPolicy string         `json:"propagationPolicy"`
	}
	cl, err := decodeOn(ctx, c, &args)
	if err != nil {
		return nil, err
	}
	if err := c.mayDelete(cl, args.Value, args.Filter); err != nil {
		return nil, err
	}
	if err := cl.Delete(ctx, args.Value, args.Filter, args.PropagationPolicy); err != nil {
		return nil, kubeErr(err)
	}
	logChange(ctx, "deleted", cl.Name, args.Value)
	return map[string]any{}, nil
}

// mayDelete checks a delete of obj, or of the objects of its type that
// filter selects (in every namespace when neither names one).
func (c *Call) mayDelete(cl *kube.Cluster, obj map[string]any, f *kube.Filter) error {
	if f == nil {
		return c.mayChange(cl, "delete", obj)
	}
	ns := f.Namespace
	if ns == "" {
		_, ns = objectName(obj)
	}
	ns, err := cl.ListNamespace(apiVersionOf(obj), kindOf(obj), ns)
	if err != nil {
		return kubeErr(err)
	}
	what := "delete the " + kindOf(obj) + " objects a filter selects"
	if ns == "" {
		return c.reachCheck(cl, "", what+" in every namespace")
	}
	return c.reachCheck(cl, ns, what+" in namespace "+ns)
}

func apiVersionOf(obj map[string]any) string {
	v, _ := obj["apiVersion"].(string)
	return v
}

func kindOf(obj map[string]any) string {
	k, _ := obj["kind"].(string)
	return k
}

func nameOf(obj map[string]any) string {
	n, ns := objectName(obj)
	if ns != "" {
		return ns + "/" + n
	}
	return n
}

// objectName is obj's metadata.name and metadata.namespace.
func objectName(obj map[string]any) (name, namespace string) {
	md, _ := obj["metadata"].(map[string]any)
	name, _ = md["name"].(string)
	namespace, _ = md["namespace"].(string)
	return name, namespace
}
