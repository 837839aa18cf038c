package testsuite

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/velaflow/velaflow/activities/kube"
	"github.com/velaflow/velaflow/codec"
	"github.com/velaflow/velaflow/localstack/devstack"
	"github.com/velaflow/velaflow/worker"
)

// codecStack is a dev server whose Web UI decodes payloads through a
// codec server, and a worker that encrypts them, reading Secrets of the
// test bed's shanghai cluster.
type codecStack struct {
	address, uiURL, codecURL, keysFile string
	client                             client.Client
}

func startCodecStack(t *testing.T, b *kubeBed) *codecStack {
	t.Helper()
	root, err := repoRoot()
	require.NoError(t, err)
	keysFile := filepath.Join(t.TempDir(), "codec-keys")
	key := make([]byte, 32)
	_, err = rand.Read(key)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(keysFile, []byte("current=e2e-1\ne2e-1="+base64.StdEncoding.EncodeToString(key)+"\n"), 0o600))
	keys, err := codec.Load(context.Background(), keysFile)
	require.NoError(t, err)

	uiPort := freePort(t)
	uiURL := "http://127.0.0.1:" + strconv.Itoa(uiPort)
	codecSrv := httptest.NewServer(codec.Handler(keys, codec.ServerOptions{Origins: []string{uiURL}}))
	t.Cleanup(codecSrv.Close)

	co := &client.Options{}
	codec.Apply(co, keys)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := devstack.Start(ctx, devstack.Options{
		TemporalPath: filepath.Join(root, "bin", "temporal"), UIPort: uiPort, ClientOptions: co,
		ExtraArgs: []string{"--ui-codec-endpoint", codecSrv.URL},
	})
	require.NoError(t, err, "start a dev server with the Web UI")
	t.Cleanup(func() { _ = srv.Stop() })

	reg, err := kube.NewRegistry(kube.Options{Kubeconfig: b.clusters["shanghai"].Kubeconfig, SecretNamespace: "-"})
	require.NoError(t, err)
	w := worker.New(srv.Client(), worker.Options{Engine: harnessEngine(), Clusters: reg, DataConverter: co.DataConverter})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	return &codecStack{address: srv.FrontendHostPort(), uiURL: uiURL, codecURL: codecSrv.URL, keysFile: keysFile, client: srv.Client()}
}

// orderService answers a login (checking the API key header) with a
// session, and an order (checking the session) with a receipt.
type orderService struct {
	*httptest.Server
	apiKey, session, receipt string
	mu                       sync.Mutex
	refused                  []string
}

func startOrderService(t *testing.T) *orderService {
	s := &orderService{apiKey: "key-" + randHex(t), session: "sess-" + randHex(t), receipt: "rcpt-" + randHex(t)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/login" && r.Header.Get("X-Api-Key") == s.apiKey:
			fmt.Fprintf(w, `{"session": %q}`, s.session)
		case r.Method == http.MethodPost && r.URL.Path == "/orders" && r.Header.Get("Authorization") == "Bearer "+s.session:
			fmt.Fprintf(w, `{"receipt": %q}`, s.receipt)
		default:
			s.mu.Lock()
			s.refused = append(s.refused, r.Method+" "+r.URL.Path)
			s.mu.Unlock()
			http.Error(w, "refused", http.StatusForbidden)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func randHex(t *testing.T) string {
	b := make([]byte, 8)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

const codecRunYAML = `apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: place-order, namespace: %[1]s}
spec:
  workflowSpec:
    steps:
      - name: login
        type: api-login
        properties: {url: %[2]q, secret: order-api}
        outputs: [{name: session, valueFrom: session}]
      - name: order
        type: api-order
        inputs: [{from: session, parameterKey: session}]
        properties: {url: %[2]q}
---
apiVersion: core.oam.dev/v1beta1
kind: WorkflowStepDefinition
metadata: {name: api-login}
spec:
  schematic:
    cue:
      template: |
        import ("vela/http", "encoding/json")
        parameter: {url: string, secret: string}
        login: http.#HTTPPost & {$params: {url: parameter.url + "/login", request: {
          body: "{}"
          headersFromSecret: [{header: "X-Api-Key", secret: parameter.secret, key: "key"}]
        }}}
        session: json.Unmarshal(login.$returns.body).session
---
apiVersion: core.oam.dev/v1beta1
kind: WorkflowStepDefinition
metadata: {name: api-order}
spec:
  schematic:
    cue:
      template: |
        import ("vela/http", "vela/builtin", "encoding/json")
        parameter: {url: string, session: string}
        order: http.#HTTPPost & {$params: {url: parameter.url + "/orders", request: {
          body: json.Marshal({item: "espresso"})
          header: {Authorization: "Bearer " + parameter.session}
        }}}
        receipt: json.Unmarshal(order.$returns.body).receipt
        done: builtin.#Message & {$params: message: "order placed: " + receipt}
`

// Secrets stay secret: a run that logs in with an API key from a Secret
// and places an order with the session it got leaves history in which
// neither the key, the session nor the receipt can be read without the
// keys; the CLI, `temporal --codec-endpoint` and the Web UI, through the
// codec server, show them.
func TestCodecKeepsSecretsOutOfHistory(t *testing.T) {
	t.Parallel()
	b := theKubeBed(t)
	const ns = "codec-e2e"
	b.ksNamespace(t, ns, "shanghai")
	svc := startOrderService(t)
	_, err := b.ksClient(t, "shanghai").CoreV1().Secrets(ns).Create(context.Background(),
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "order-api", Namespace: ns}, Data: map[string][]byte{"key": []byte(svc.apiKey)}},
		metav1.CreateOptions{})
	require.NoError(t, err)
	cs := startCodecStack(t, b)

	file := writeFile(t, "place-order.yaml", fmt.Sprintf(codecRunYAML, ns, svc.URL))
	out, errOut, code, err := runCLI(time.Now().Add(2*time.Minute), cs.address, "", "--codec-keys", cs.keysFile, "run", "-f", file, "--wait")
	require.NoError(t, err)
	require.Equal(t, 0, code, "velaflow run --wait:\n%s\n%s", out, errOut)
	assert.Contains(t, out, "order placed: "+svc.receipt, "the CLI decodes the status")
	assert.Empty(t, svc.refused)

	root, err := repoRoot()
	require.NoError(t, err)
	temporalBin := filepath.Join(root, "bin", "temporal")
	show := func(extra ...string) string {
		args := append([]string{"workflow", "show", "--address", cs.address, "-w", ns + "/place-order", "-o", "json"}, extra...)
		raw, err := exec.Command(temporalBin, args...).CombinedOutput()
		require.NoError(t, err, "temporal %v: %s", args, raw)
		return string(raw)
	}
	raw := show()
	for what, v := range map[string]string{"the API key": svc.apiKey, "the session": svc.session, "the receipt": svc.receipt} {
		assert.NotContains(t, raw, v, "%s in plaintext in history", what)
		assert.NotContains(t, raw, base64.StdEncoding.EncodeToString([]byte(v))[:12], "%s in base64 in history", what)
	}
	assert.Contains(t, raw, base64.StdEncoding.EncodeToString([]byte(codec.Encoding)), "payloads are marked encrypted")

	decoded := show("--codec-endpoint", cs.codecURL)
	assert.Contains(t, decodedText(t, decoded), svc.receipt, "temporal --codec-endpoint shows the receipt")
	assert.Contains(t, decodedText(t, decoded), svc.session, "and the session given to the order step")

	desc, err := cs.client.DescribeWorkflowExecution(context.Background(), ns+"/place-order", "")
	require.NoError(t, err)
	page := webUIText(t, cs.uiURL+"/namespaces/default/workflows/"+url.PathEscape(ns+"/place-order")+"/"+desc.WorkflowExecutionInfo.Execution.RunId+"/history", svc.receipt)
	assert.Contains(t, page, "order placed: "+svc.receipt, "the Web UI shows the decoded result")
}

// decodedText is the history with every payload's data decoded from
// base64, so values inside JSON payloads can be searched for.
func decodedText(t *testing.T, history string) string {
	t.Helper()
	var doc any
	require.NoError(t, json.Unmarshal([]byte(history), &doc))
	var out []byte
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && k == "data" {
					if b, err := base64.StdEncoding.DecodeString(s); err == nil {
						out = append(append(out, b...), '\n')
					}
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(doc)
	return string(out)
}
