package kube

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"
)

// DefaultName is how a step names the worker's default cluster; "" means
// it too.
const DefaultName = "local"

// Secrets in the default cluster that register clusters carry this label
// (the value is the credential type); the format is KubeVela's, so
// clusters KubeVela users joined are found as they are.
const (
	LabelCredentialType    = "cluster.core.oam.dev/cluster-credential-type"
	DefaultSecretNamespace = "vela-system"
)

// Options say where the clusters come from.
type Options struct {
	// Kubeconfig is the default cluster; empty falls back to $KUBECONFIG,
	// then the in-cluster config. No default cluster is not an error: steps
	// that use it fail with a clear message.
	Kubeconfig string
	// ClustersFile lists named clusters:
	//   clusters: [{name: shanghai, kubeconfig: /path, context: optional}]
	ClustersFile string
	// SecretNamespace is where cluster Secrets are read from in the default
	// cluster (vela-system); "-" reads none.
	SecretNamespace string
}

// ClustersFile is the format of Options.ClustersFile.
type ClustersFile struct {
	Clusters []struct {
		Name       string `json:"name"`
		Kubeconfig string `json:"kubeconfig"`
		Context    string `json:"context,omitempty"`
	} `json:"clusters"`
}

// Registry resolves cluster names to clusters: the default one, those of
// the clusters file, and those registered as Secrets in the default
// cluster (re-read whenever a name is not known, so clusters can be added
// while the worker runs; an unknown name fails its step at once, so this
// costs one list per such failure).
type Registry struct {
	opts       Options
	defaultErr error
	mu         sync.Mutex
	fixed      map[string]*Cluster // default and file clusters
	secrets    map[string]*Cluster // from Secrets
	secretsErr error
}

// NewRegistry loads the default cluster and the clusters file.
func NewRegistry(opts Options) (*Registry, error) {
	if opts.SecretNamespace == "" {
		opts.SecretNamespace = DefaultSecretNamespace
	}
	r := &Registry{opts: opts, fixed: map[string]*Cluster{}, secrets: map[string]*Cluster{}}
	cfg, err := defaultConfig(opts.Kubeconfig)
	switch {
	case err != nil:
		return nil, err
	case cfg == nil:
		r.defaultErr = fmt.Errorf("the worker has no default cluster: start it with --kubeconfig, or set KUBECONFIG")
	default:
		c, err := NewCluster(DefaultName, cfg)
		if err != nil {
			return nil, err
		}
		r.fixed[DefaultName] = c
	}
	if opts.ClustersFile != "" {
		raw, err := os.ReadFile(opts.ClustersFile)
		if err != nil {
			return nil, fmt.Errorf("clusters file: %w", err)
		}
		var f ClustersFile
		if err := yaml.UnmarshalStrict(raw, &f); err != nil {
			return nil, fmt.Errorf("clusters file %s: %w", opts.ClustersFile, err)
		}
		for i, e := range f.Clusters {
			if e.Name == "" || e.Kubeconfig == "" {
				return nil, fmt.Errorf("clusters file %s: clusters[%d] needs name and kubeconfig", opts.ClustersFile, i)
			}
			if e.Name == DefaultName {
				return nil, fmt.Errorf("clusters file %s: %q names the default cluster; use --kubeconfig for it", opts.ClustersFile, DefaultName)
			}
			cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
				&clientcmd.ClientConfigLoadingRules{ExplicitPath: e.Kubeconfig},
				&clientcmd.ConfigOverrides{CurrentContext: e.Context}).ClientConfig()
			if err != nil {
				return nil, fmt.Errorf("clusters file %s: cluster %s: %w", opts.ClustersFile, e.Name, err)
			}
			c, err := NewCluster(e.Name, cfg)
			if err != nil {
				return nil, err
			}
			r.fixed[e.Name] = c
		}
	}
	return r, nil
}

func defaultConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		kubeconfig = os.Getenv("KUBECONFIG")
	}
	if kubeconfig != "" {
		cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
			&clientcmd.ClientConfigLoadingRules{Precedence: strings.Split(kubeconfig, string(os.PathListSeparator))},
			&clientcmd.ConfigOverrides{}).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
		}
		return cfg, nil
	}
	if cfg, err := rest.InClusterConfig(); err == nil {
		return cfg, nil
	}
	return nil, nil
}

// Get returns the cluster of that name ("" and "local" are the default).
// An unknown name is a final error naming the clusters known.
func (r *Registry) Get(ctx context.Context, name string) (*Cluster, error) {
	if name == "" {
		name = DefaultName
	}
	r.mu.Lock()
	c, ok := r.fixed[name]
	if !ok {
		c, ok = r.secrets[name]
	}
	r.mu.Unlock()
	if ok {
		return c, nil
	}
	if name == DefaultName {
		return nil, Final(r.defaultErr)
	}
	r.refreshSecrets(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.secrets[name]; ok {
		return c, nil
	}
	known := strings.Join(r.namesLocked(), ", ")
	if known == "" {
		known = "(none)"
	}
	msg := fmt.Sprintf("unknown cluster %q; the clusters known are: %s", name, known)
	if r.secretsErr != nil {
		msg += fmt.Sprintf(" (cluster Secrets could not be read: %v)", r.secretsErr)
	}
	return nil, Final(fmt.Errorf("%s", msg))
}

// Names lists the clusters known now, Secrets re-read.
func (r *Registry) Names(ctx context.Context) []string {
	r.refreshSecrets(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.namesLocked()
}

func (r *Registry) namesLocked() []string {
	var names []string
	for n := range r.fixed {
		names = append(names, n)
	}
	for n := range r.secrets {
		if _, dup := r.fixed[n]; !dup {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// refreshSecrets re-reads the cluster Secrets of the default cluster.
func (r *Registry) refreshSecrets(ctx context.Context) {
	r.mu.Lock()
	def := r.fixed[DefaultName]
	r.mu.Unlock()
	if def == nil || r.opts.SecretNamespace == "-" {
		return
	}
	found, err := readClusterSecrets(ctx, def.Config, r.opts.SecretNamespace)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secretsErr = err
	if err != nil {
		return
	}
	next := map[string]*Cluster{}
	for name, cfg := range found {
		if old, ok := r.secrets[name]; ok && sameConfig(old.Config, cfg) {
			next[name] = old
			continue
		}
		if c, err := NewCluster(name, cfg); err == nil {
			next[name] = c
		}
	}
	r.secrets = next
}

func sameConfig(a, b *rest.Config) bool {
	return a.Host == b.Host && a.BearerToken == b.BearerToken && slices.Equal(a.CertData, b.CertData) && slices.Equal(a.CAData, b.CAData)
}

// readClusterSecrets turns the cluster Secrets into configs. A Secret is
// named after its cluster and holds either `kubeconfig`, or `endpoint`
// with `ca.crt` (optional) and `token`, or `tls.crt` and `tls.key`.
// Without `ca.crt` the server's certificate is verified against the
// system's roots; only `insecure: "true"` turns verification off (KubeVela
// turns it off silently when `ca.crt` is missing).
func readClusterSecrets(ctx context.Context, cfg *rest.Config, namespace string) (map[string]*rest.Config, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	list, err := cs.CoreV1().Secrets(namespace).List(ctx, metav1.ListOptions{LabelSelector: LabelCredentialType})
	if err != nil {
		return nil, err
	}
	out := map[string]*rest.Config{}
	for _, s := range list.Items {
		if c, err := secretConfig(&s); err == nil {
			out[s.Name] = c
		}
	}
	return out, nil
}

func secretConfig(s *corev1.Secret) (*rest.Config, error) {
	if kc, ok := s.Data["kubeconfig"]; ok {
		return clientcmd.RESTConfigFromKubeConfig(kc)
	}
	endpoint := string(s.Data["endpoint"])
	if endpoint == "" {
		return nil, fmt.Errorf("secret %s: no endpoint", s.Name)
	}
	cfg := &rest.Config{Host: endpoint}
	cfg.CAData = s.Data["ca.crt"]
	switch v := string(s.Data["insecure"]); v {
	case "", "false":
	case "true":
		if len(cfg.CAData) > 0 {
			return nil, fmt.Errorf("secret %s: insecure: \"true\" with a ca.crt; keep one", s.Name)
		}
		cfg.Insecure = true
	default:
		return nil, fmt.Errorf("secret %s: insecure: %q; want \"true\" or \"false\"", s.Name, v)
	}
	switch {
	case len(s.Data["token"]) > 0:
		cfg.BearerToken = string(s.Data["token"])
	case len(s.Data["tls.crt"]) > 0:
		cfg.CertData, cfg.KeyData = s.Data["tls.crt"], s.Data["tls.key"]
	default:
		return nil, fmt.Errorf("secret %s: no token or tls.crt", s.Name)
	}
	return cfg, nil
}
