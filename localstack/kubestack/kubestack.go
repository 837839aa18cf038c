// Package kubestack starts real Kubernetes control planes for tests and
// local runs: one etcd and one kube-apiserver per cluster, built from Go
// modules into bin/ by `make kube` (see localstack/kubebin). There is no
// kubelet and no controller-manager: objects are stored, validated,
// admitted and authorized by the real apiserver, and a test plays the
// operator by patching status subresources.
//
// Each cluster listens on free ports of 127.0.0.1 and has two users,
// authenticated by static tokens: "admin" (group system:masters) and
// "limited" (no groups, so RBAC forbids it almost everything). Start writes
// a kubeconfig for each.
package kubestack

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Users of every cluster.
const (
	AdminUser   = "admin"   // group system:masters: allowed everything
	LimitedUser = "limited" // no groups: forbidden by RBAC unless bound
)

// Options for one cluster.
type Options struct {
	// Name of the cluster, also the kubeconfig's cluster and context name.
	// Empty is "kubestack".
	Name string
	// Dir holds the cluster's files: etcd's data, the apiserver's
	// self-signed serving certificate, keys, tokens, kubeconfigs and the
	// logs (etcd.log, kube-apiserver.log). Created if missing; Stop leaves
	// it in place. Empty makes a temporary directory that Stop removes.
	Dir string
	// BinDir holds kube-apiserver and etcd; empty finds bin/ with both in
	// the working directory or a parent (the repository's build output).
	BinDir string
	// StartTimeout bounds the wait for etcd and the apiserver to be ready
	// (the context still applies); 0 means 3 minutes.
	StartTimeout time.Duration
	// StopTimeout is how long Stop waits after SIGTERM before SIGKILL;
	// 0 means 15 seconds.
	StopTimeout time.Duration
	// ExtraAPIServerArgs and ExtraEtcdArgs are appended to the defaults
	// (a later flag overrides an earlier one).
	ExtraAPIServerArgs []string
	ExtraEtcdArgs      []string
}

// Cluster is a running etcd and kube-apiserver.
type Cluster struct {
	Name string
	Dir  string
	// Server is the apiserver's URL, https://127.0.0.1:<port>.
	Server string
	// CAFile is the apiserver's self-signed serving certificate chain
	// (in Dir/certs), which is also the CA clients verify it with.
	CAFile string
	// Kubeconfig is a kubeconfig file for the admin user (system:masters);
	// LimitedKubeconfig is one for the limited user.
	Kubeconfig        string
	LimitedKubeconfig string
	// AdminToken and LimitedToken are the users' bearer tokens.
	AdminToken   string
	LimitedToken string
	// EtcdEndpoint is etcd's client URL, http://127.0.0.1:<port>.
	EtcdEndpoint string

	caData      []byte
	removeDir   bool
	stopTimeout time.Duration
	apiserver   *process
	etcd        *process
	stopOnce    sync.Once
	stopErr     error
}

// Start starts etcd and kube-apiserver and returns when the apiserver's
// /readyz answers ok and the default namespace exists. On error nothing is
// left running.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	binDir, err := FindBinDir(opts.BinDir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Name: opts.Name, Dir: opts.Dir, stopTimeout: opts.StopTimeout}
	if c.Name == "" {
		c.Name = "kubestack"
	}
	if c.stopTimeout <= 0 {
		c.stopTimeout = 15 * time.Second
	}
	if c.Dir == "" {
		if c.Dir, err = os.MkdirTemp("", "kubestack-"+safeName(c.Name)+"-"); err != nil {
			return nil, err
		}
		c.removeDir = true
	} else if c.Dir, err = filepath.Abs(c.Dir); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = 3 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	for _, d := range []string{"etcd-data", "certs"} {
		if err := os.MkdirAll(filepath.Join(c.Dir, d), 0o700); err != nil {
			return nil, err
		}
	}
	// etcd, on free ports (picked again if one is taken meanwhile)
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(2)
		if err != nil {
			return nil, err
		}
		c.EtcdEndpoint = "http://127.0.0.1:" + strconv.Itoa(ports[0])
		peerURL := "http://127.0.0.1:" + strconv.Itoa(ports[1])
		etcdArgs := append([]string{
			"--name", "etcd",
			"--data-dir", filepath.Join(c.Dir, "etcd-data"),
			"--listen-client-urls", c.EtcdEndpoint,
			"--advertise-client-urls", c.EtcdEndpoint,
			"--listen-peer-urls", peerURL,
			"--initial-advertise-peer-urls", peerURL,
			"--initial-cluster", "etcd=" + peerURL,
			"--initial-cluster-state", "new",
			"--log-level", "warn",
			// A test bed's data is thrown away: do not pay for fsync.
			"--unsafe-no-fsync",
		}, opts.ExtraEtcdArgs...)
		if c.etcd, err = startProcess(filepath.Join(binDir, "etcd"), etcdArgs, c.EtcdLog()); err != nil {
			return nil, err
		}
		err = waitEtcd(ctx, c.etcd, c.EtcdEndpoint)
		if err == nil {
			break
		}
		if attempt == 3 || !c.etcd.portInUse() {
			return nil, err
		}
		// etcd exited before writing anything: start over on other ports.
		if err := os.RemoveAll(filepath.Join(c.Dir, "etcd-data")); err != nil {
			return nil, err
		}
	}

	// credentials
	c.AdminToken, c.LimitedToken = randomToken(), randomToken()
	tokens := filepath.Join(c.Dir, "tokens.csv")
	tokenCSV := fmt.Sprintf("%s,%s,%s,\"system:masters\"\n%s,%s,%s\n",
		c.AdminToken, AdminUser, AdminUser, c.LimitedToken, LimitedUser, LimitedUser)
	if err := os.WriteFile(tokens, []byte(tokenCSV), 0o600); err != nil {
		return nil, err
	}
	saKey := filepath.Join(c.Dir, "service-account.key")
	if err := writeRSAKey(saKey); err != nil {
		return nil, err
	}

	// kube-apiserver
	certDir := filepath.Join(c.Dir, "certs")
	c.CAFile = filepath.Join(certDir, "apiserver.crt")
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(1)
		if err != nil {
			return nil, err
		}
		c.Server = "https://127.0.0.1:" + strconv.Itoa(ports[0])
		apiArgs := append([]string{
			"--etcd-servers", c.EtcdEndpoint,
			"--bind-address", "127.0.0.1",
			"--advertise-address", "127.0.0.1",
			"--secure-port", strconv.Itoa(ports[0]),
			// No --tls-cert-file: the apiserver makes a CA and a serving
			// certificate for 127.0.0.1 and localhost in certs/apiserver.crt.
			"--cert-dir", certDir,
			"--service-account-issuer", "https://kubernetes.default.svc." + safeName(c.Name),
			"--service-account-key-file", saKey,
			"--service-account-signing-key-file", saKey,
			"--token-auth-file", tokens,
			"--authorization-mode", "RBAC",
			"--service-cluster-ip-range", "10.96.0.0/16",
			// Nothing reconciles the kubernetes service's endpoints to a
			// loopback address; there are no pods to mount tokens into.
			"--endpoint-reconciler-type", "none",
			"--disable-admission-plugins", "ServiceAccount",
			"--profiling=false",
		}, opts.ExtraAPIServerArgs...)
		if c.apiserver, err = startProcess(filepath.Join(binDir, "kube-apiserver"), apiArgs, c.APIServerLog()); err != nil {
			return nil, err
		}
		c.caData, err = waitCert(ctx, c.apiserver, c.CAFile)
		if err == nil {
			err = waitReady(ctx, c.apiserver, c.RESTConfig())
		}
		if err == nil {
			break
		}
		if attempt == 3 || !c.apiserver.portInUse() {
			return nil, err
		}
	}
	if err := ensureNamespace(ctx, c.RESTConfig(), "default"); err != nil {
		return nil, err
	}

	c.Kubeconfig = filepath.Join(c.Dir, "kubeconfig")
	c.LimitedKubeconfig = filepath.Join(c.Dir, "kubeconfig-limited")
	if err := c.writeKubeconfig(c.Kubeconfig, AdminUser, c.AdminToken); err != nil {
		return nil, err
	}
	if err := c.writeKubeconfig(c.LimitedKubeconfig, LimitedUser, c.LimitedToken); err != nil {
		return nil, err
	}
	return c, nil
}

// RESTConfig is a client configuration for the admin user.
func (c *Cluster) RESTConfig() *rest.Config { return c.restConfig(c.AdminToken) }

// LimitedRESTConfig is a client configuration for the limited user.
func (c *Cluster) LimitedRESTConfig() *rest.Config { return c.restConfig(c.LimitedToken) }

func (c *Cluster) restConfig(token string) *rest.Config {
	return &rest.Config{
		Host:            c.Server,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: append([]byte(nil), c.caData...)},
		QPS:             100,
		Burst:           200,
		Timeout:         30 * time.Second,
	}
}

func (c *Cluster) writeKubeconfig(path, user, token string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[c.Name] = &clientcmdapi.Cluster{Server: c.Server, CertificateAuthorityData: c.caData}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts[c.Name] = &clientcmdapi.Context{Cluster: c.Name, AuthInfo: user, Namespace: "default"}
	cfg.CurrentContext = c.Name
	return clientcmd.WriteToFile(*cfg, path)
}

// Stop stops the apiserver, then etcd: SIGTERM to each process group, and
// SIGKILL if it has not exited after the stop timeout. It removes Dir only
// if Start made it. Stop may be called more than once.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		var errs []error
		if c.apiserver != nil {
			errs = append(errs, c.apiserver.stop(c.stopTimeout))
		}
		if c.etcd != nil {
			errs = append(errs, c.etcd.stop(c.stopTimeout))
		}
		if c.removeDir {
			errs = append(errs, os.RemoveAll(c.Dir))
		}
		c.stopErr = errors.Join(errs...)
	})
	return c.stopErr
}

// APIServerLog and EtcdLog are the paths of the processes' logs.
func (c *Cluster) APIServerLog() string { return filepath.Join(c.Dir, "kube-apiserver.log") }
func (c *Cluster) EtcdLog() string      { return filepath.Join(c.Dir, "etcd.log") }

// FindBinDir locates the directory holding kube-apiserver and etcd: the
// given one, or bin/ in the working directory or any parent.
func FindBinDir(given string) (string, error) {
	has := func(dir string) error {
		for _, b := range []string{"kube-apiserver", "etcd"} {
			if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
				return err
			}
		}
		return nil
	}
	if given != "" {
		if err := has(given); err != nil {
			return "", fmt.Errorf("kube-apiserver and etcd are not both in %s (%v): run `make kube` in the velaflow repository", given, err)
		}
		return given, nil
	}
	if dir, err := os.Getwd(); err == nil {
		for {
			if p := filepath.Join(dir, "bin"); has(p) == nil {
				return p, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", fmt.Errorf("bin/kube-apiserver and bin/etcd were not found in the working directory or a parent: run `make kube` in the velaflow repository (about 10 minutes the first time)")
}

// ---- processes ----

type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, set before done is closed
}

func startProcess(path string, args []string, logPath string) (*process, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr()
	p := &process{name: filepath.Base(path), cmd: cmd, log: logPath, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// The parent-death signal (Linux) is sent when the thread that
		// started the child exits, not the process: keep this goroutine on
		// its own thread until the child has exited.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			logf.Close()
			started <- fmt.Errorf("start %s: %w", path, err)
			return
		}
		started <- nil
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

// portInUse tells whether a process that exited failed to bind a port (a
// free port picked by freePorts was taken before the process bound it).
func (p *process) portInUse() bool {
	select {
	case <-p.done:
		return strings.Contains(tail(p.log, 50), "address already in use")
	default:
		return false
	}
}

// exited returns an error with the log's tail if the process has exited.
func (p *process) exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited (%v); the end of %s:\n%s", p.name, p.err, p.log, tail(p.log, 30))
	default:
		return nil
	}
}

func (p *process) stop(timeout time.Duration) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(timeout):
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p.name, pgid)
	}
}

func tail(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	ls := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

// ---- readiness ----

// poll runs check every interval until it returns true or an error, the
// process exits, or ctx ends; last describes the latest failed check.
func poll(ctx context.Context, p *process, what string, check func() (bool, string)) error {
	last := ""
	for {
		if err := p.exited(); err != nil {
			return err
		}
		ok, why := check()
		if ok {
			return nil
		}
		last = why
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (last: %s); the end of %s:\n%s", what, ctx.Err(), last, p.log, tail(p.log, 30))
		case <-p.done:
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func waitEtcd(ctx context.Context, p *process, endpoint string) error {
	hc := &http.Client{Timeout: 2 * time.Second}
	return poll(ctx, p, "wait for etcd at "+endpoint, func() (bool, string) {
		resp, err := hc.Get(endpoint + "/health")
		if err != nil {
			return false, err.Error()
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK && bytes.Contains(body, []byte(`"true"`)), string(body)
	})
}

// waitCert waits for the apiserver to write its self-signed certificate.
func waitCert(ctx context.Context, p *process, path string) ([]byte, error) {
	var data []byte
	err := poll(ctx, p, "wait for the apiserver's certificate "+path, func() (bool, string) {
		b, err := os.ReadFile(path)
		if err != nil {
			return false, err.Error()
		}
		if x509.NewCertPool().AppendCertsFromPEM(b) && bytes.Count(b, []byte("END CERTIFICATE")) >= 2 {
			data = b
			return true, ""
		}
		return false, "incomplete certificate file"
	})
	return data, err
}

func waitReady(ctx context.Context, p *process, cfg *rest.Config) error {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return err
	}
	hc.Timeout = 5 * time.Second
	return poll(ctx, p, "wait for kube-apiserver /readyz at "+cfg.Host, func() (bool, string) {
		resp, err := hc.Get(cfg.Host + "/readyz")
		if err != nil {
			return false, err.Error()
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return true, ""
		}
		return false, fmt.Sprintf("%d %s", resp.StatusCode, bytes.TrimSpace(body))
	})
}

var namespaces = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

// ensureNamespace creates the namespace if missing. The apiserver's own
// bootstrap controller normally creates default, kube-system and
// kube-public; without a controller-manager nothing else would.
func ensureNamespace(ctx context.Context, cfg *rest.Config, name string) error {
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	if _, err := dc.Resource(namespaces).Get(ctx, name, metav1.GetOptions{}); err == nil {
		return nil
	} else if !apierrors.IsNotFound(err) {
		return fmt.Errorf("get namespace %s: %w", name, err)
	}
	ns := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name},
	}}
	if _, err := dc.Resource(namespaces).Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	return nil
}

// ---- helpers ----

// freePorts returns n distinct free TCP ports on 127.0.0.1. The listeners
// are held until all are chosen so the same port is not returned twice.
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b)
}

func writeRSAKey(path string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	return os.WriteFile(path, pemBytes, 0o600)
}

func safeName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	if b.Len() == 0 {
		return "kubestack"
	}
	return b.String()
}
