package connection

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/velaflow/velaflow/codec"
	"go.temporal.io/sdk/client"
)

// env is an environment for the tests, instead of the process's.
type env map[string]string

func (e env) Environ() []string {
	var out []string
	for k, v := range e {
		out = append(out, k+"="+v)
	}
	return out
}

func (e env) LookupEnv(k string) (string, bool) { v, ok := e[k]; return v, ok }

func options(t *testing.T, e env, args ...string) (client.Options, error) {
	t.Helper()
	var f Flags
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	f.Register(fs)
	require.NoError(t, fs.Parse(args))
	if _, ok := e["TEMPORAL_CONFIG_FILE"]; !ok && f.ConfigFile == "" {
		e["TEMPORAL_CONFIG_FILE"] = filepath.Join(t.TempDir(), "none.toml") // not the user's own
	}
	return f.Options(e)
}

func TestDefaultsReachTheDevServerUncompressed(t *testing.T) {
	opts, err := options(t, env{})
	require.NoError(t, err)
	assert.Equal(t, DefaultAddress, opts.HostPort)
	assert.Equal(t, "default", opts.Namespace)
	assert.Nil(t, opts.ConnectionOptions.TLS)
	assert.IsType(t, &client.GrpcCompressionNone{}, opts.ConnectionOptions.GrpcCompression)
}

// The environment overrides the config file, and a flag given overrides
// both, as with the temporal CLI.
func TestFileThenEnvironmentThenFlags(t *testing.T) {
	file := filepath.Join(t.TempDir(), "temporal.toml")
	require.NoError(t, os.WriteFile(file, []byte(`
[profile.default]
address = "file.example.com:7233"
namespace = "from-file"

[profile.prod]
address = "prod.example.com:7233"
namespace = "prod"
api_key = "key-from-file"
`), 0o600))

	opts, err := options(t, env{"TEMPORAL_CONFIG_FILE": file})
	require.NoError(t, err)
	assert.Equal(t, "file.example.com:7233", opts.HostPort)
	assert.Equal(t, "from-file", opts.Namespace)
	assert.IsType(t, &client.GrpcCompressionGzip{}, opts.ConnectionOptions.GrpcCompression, "a remote server keeps gzip")

	opts, err = options(t, env{"TEMPORAL_CONFIG_FILE": file, "TEMPORAL_NAMESPACE": "from-env"})
	require.NoError(t, err)
	assert.Equal(t, "from-env", opts.Namespace)

	opts, err = options(t, env{"TEMPORAL_CONFIG_FILE": file, "TEMPORAL_NAMESPACE": "from-env"}, "--temporal-namespace", "from-flag", "--address", "flag.example.com:7233")
	require.NoError(t, err)
	assert.Equal(t, "from-flag", opts.Namespace)
	assert.Equal(t, "flag.example.com:7233", opts.HostPort)

	opts, err = options(t, env{"TEMPORAL_PROFILE": "prod"}, "--config-file", file)
	require.NoError(t, err)
	assert.Equal(t, "prod.example.com:7233", opts.HostPort)
	assert.NotNil(t, opts.Credentials, "the profile's API key")
	assert.NotNil(t, opts.ConnectionOptions.TLS, "an API key turns TLS on")

	_, err = options(t, env{}, "--config-file", file, "--profile", "staging")
	assert.ErrorContains(t, err, "unable to find profile staging")
}

func TestAPIKeyTurnsTLSOnAndTLSFalseTurnsItOff(t *testing.T) {
	opts, err := options(t, env{}, "--address", "ns.acct.tmprl.cloud:7233", "--api-key", "secret")
	require.NoError(t, err)
	require.NotNil(t, opts.ConnectionOptions.TLS)
	assert.NotNil(t, opts.Credentials)

	opts, err = options(t, env{"TEMPORAL_API_KEY": "secret"}, "--tls=false")
	require.NoError(t, err)
	assert.Nil(t, opts.ConnectionOptions.TLS)
	assert.NotNil(t, opts.Credentials, "the key is still sent")
}

func TestMutualTLSFromFlags(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, dir)
	opts, err := options(t, env{}, "--tls-cert-path", cert, "--tls-key-path", key, "--tls-ca-path", cert, "--tls-server-name", "temporal.internal")
	require.NoError(t, err)
	tc := opts.ConnectionOptions.TLS
	require.NotNil(t, tc)
	assert.Equal(t, "temporal.internal", tc.ServerName)
	assert.NotNil(t, tc.RootCAs)
	assert.True(t, tc.GetClientCertificate != nil || len(tc.Certificates) == 1, "the client certificate is presented")

	_, err = options(t, env{}, "--tls-cert-path", filepath.Join(dir, "missing.pem"), "--tls-key-path", key)
	assert.ErrorContains(t, err, "missing.pem")
}

func TestGRPCMetaNeedsKeyAndValue(t *testing.T) {
	opts, err := options(t, env{}, "--grpc-meta", "X-Team=platform")
	require.NoError(t, err)
	h, err := opts.HeadersProvider.GetHeaders(t.Context())
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"x-team": "platform"}, h)

	_, err = options(t, env{}, "--grpc-meta", "no-value")
	assert.ErrorContains(t, err, "KEY=VALUE")
}

func TestTLSFailuresAreToldApart(t *testing.T) {
	for _, msg := range []string{
		"failed reaching server: connection error: desc = \"transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority\"",
		"failed reaching server: connection error: desc = \"error reading server preface: remote error: tls: certificate required\"",
	} {
		assert.True(t, IsTLSFailure(errString(msg)), msg)
	}
	assert.False(t, IsTLSFailure(errString("failed reaching server: connection error: desc = \"transport: Error while dialing: dial tcp 127.0.0.1:1: connect: connection refused\"")))
}

type errString string

func (e errString) Error() string { return string(e) }

// writeCert writes a self-signed certificate and its key as PEM files.
func writeCert(t *testing.T, dir string) (certPath, keyPath string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600))
	return certPath, keyPath
}

// --codec-keys, or VELAFLOW_CODEC_KEYS, makes every payload encrypted;
// keys that cannot be read stop the command.
func TestCodecKeysEncryptPayloads(t *testing.T) {
	keys := filepath.Join(t.TempDir(), "keys")
	require.NoError(t, os.WriteFile(keys, []byte("k1="+base64.StdEncoding.EncodeToString(make([]byte, 32))+"\n"), 0o600))

	opts, err := options(t, env{})
	require.NoError(t, err)
	assert.Nil(t, opts.DataConverter, "no keys: the SDK's default")

	for name, o := range map[string]func() (client.Options, error){
		"flag": func() (client.Options, error) { return options(t, env{}, "--codec-keys", keys) },
		"env":  func() (client.Options, error) { return options(t, env{CodecKeysEnv: keys}) },
	} {
		opts, err := o()
		require.NoError(t, err, name)
		require.NotNil(t, opts.DataConverter, name)
		p, err := opts.DataConverter.ToPayload("secret value")
		require.NoError(t, err)
		assert.Equal(t, codec.Encoding, string(p.Metadata[codec.MetadataEncoding]), name)
		assert.NotNil(t, opts.FailureConverter, "%s: failures' messages are encrypted too", name)
	}

	_, err = options(t, env{}, "--codec-keys", filepath.Join(t.TempDir(), "missing"))
	assert.ErrorContains(t, err, "codec keys")
}
