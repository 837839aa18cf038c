package testsuite

import (
	"crypto/tls"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tlsProxy terminates TLS in front of the dev server and requires a
// client certificate its CA signed, as a Temporal cluster run with mTLS
// does. It forwards the decrypted HTTP/2 to the server.
type tlsProxy struct {
	ln      net.Listener
	backend string
	wg      sync.WaitGroup
}

func startTLSProxy(t *testing.T, backend string, ca *certAuthority) *tlsProxy {
	cfg := ca.serverTLS()
	cfg.ClientAuth, cfg.ClientCAs, cfg.NextProtos = tls.RequireAndVerifyClientCert, ca.pool, []string{"h2"}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	require.NoError(t, err)
	p := &tlsProxy{ln: ln, backend: backend}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *tlsProxy) serve() {
	defer p.wg.Done()
	for {
		conn, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.forward(conn)
		}()
	}
}

func (p *tlsProxy) forward(conn net.Conn) {
	defer conn.Close()
	if err := conn.(*tls.Conn).Handshake(); err != nil {
		return // the client's certificate was refused
	}
	back, err := net.Dial("tcp", p.backend)
	if err != nil {
		return
	}
	defer back.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(back, conn); done <- struct{}{} }()
	go func() { _, _ = io.Copy(conn, back); done <- struct{}{} }()
	<-done
}

// The CLI reaches a server that requires mutual TLS with the certificate
// its CA signed, and a run started through it succeeds; without a client
// certificate, or with one another CA signed, it fails at once saying the
// TLS handshake failed.
func TestMutualTLSConnection(t *testing.T) {
	proxy := startTLSProxy(t, shared.address, testCA)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	writeBytes(t, caFile, testCA.certPEM)
	_, certPEM, keyPEM := testCA.issue("velaflow-cli", true)
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeBytes(t, cert, certPEM)
	writeBytes(t, key, keyPEM)
	other := mustNewCA()
	_, otherCert, otherKey := other.issue("intruder", true)
	wrongCert, wrongKey := filepath.Join(dir, "wrong-cert.pem"), filepath.Join(dir, "wrong-key.pem")
	writeBytes(t, wrongCert, otherCert)
	writeBytes(t, wrongKey, otherKey)
	otherCA := filepath.Join(dir, "other-ca.pem")
	writeBytes(t, otherCA, other.certPEM)

	run := writeFile(t, "mtls.yaml", `apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: over-mtls}
spec:
  workflowSpec:
    steps:
      - {name: hello, type: print-message-in-status, properties: {message: "over mTLS"}}
`)
	addr := proxy.ln.Addr().String()
	tlsArgs := []string{"--tls-ca-path", caFile, "--tls-cert-path", cert, "--tls-key-path", key}
	out, errOut, code, err := runCLI(time.Now().Add(2*time.Minute), addr, "", append(tlsArgs, "run", "-f", run, "--wait")...)
	require.NoError(t, err)
	require.Equal(t, 0, code, "run over mTLS: %s%s", out, errOut)
	out, errOut, code, err = runCLI(time.Now().Add(time.Minute), addr, "", append(tlsArgs, "status", "over-mtls", "-o", "wide")...)
	require.NoError(t, err)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "over mTLS")

	for name, args := range map[string][]string{
		"no client certificate":        {"--tls-ca-path", caFile},
		"a certificate of another CA":  {"--tls-ca-path", caFile, "--tls-cert-path", wrongCert, "--tls-key-path", wrongKey},
		"a server its CA did not sign": {"--tls-ca-path", otherCA, "--tls-cert-path", cert, "--tls-key-path", key},
	} {
		t.Run(name, func(t *testing.T) {
			_, errOut, code, err := runCLI(time.Now().Add(time.Minute), addr, "", append(args, "list")...)
			require.NoError(t, err, "the CLI must fail at once, not hang")
			t.Log(errOut)
			assert.NotEqual(t, 0, code)
			assert.Contains(t, errOut, "TLS handshake with Temporal at "+addr+" failed")
			assert.NotContains(t, errOut, "deadline exceeded")
		})
	}
}

func writeBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, b, 0o600))
}
