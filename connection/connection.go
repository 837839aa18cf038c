// Package connection is how velaflow's commands connect to Temporal: the
// flags, environment variables and config-file profiles of the `temporal`
// CLI (through the SDK's envconfig package), turned into client options,
// and errors that say what went wrong when the connection fails.
package connection

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"

	"github.com/velaflow/velaflow/codec"
)

// DefaultAddress is the frontend a command connects to when no flag,
// environment variable or profile names one: `velaflow dev`'s.
const DefaultAddress = "127.0.0.1:7233"

// Flags are the connection flags, named as the `temporal` CLI names them
// (except the namespace: -n is the Kubernetes namespace in velaflow).
type Flags struct {
	Address, Namespace, APIKey string
	TLS                        bool
	TLSCertPath, TLSKeyPath    string
	TLSCAPath, TLSServerName   string
	TLSDisableHostVerification bool
	GRPCMeta                   []string
	ConfigFile, Profile        string
	DisableConfigFile          bool
	DisableConfigEnv           bool
	// CodecKeys is where the payload codec's keys are (codec.Load); ""
	// leaves payloads unencrypted.
	CodecKeys string

	set *pflag.FlagSet // tells which flags were given
}

// Register adds the flags to fs.
func (f *Flags) Register(fs *pflag.FlagSet) {
	f.set = fs
	fs.StringVar(&f.Address, "address", DefaultAddress, "Temporal frontend host:port (env TEMPORAL_ADDRESS)")
	fs.StringVar(&f.Namespace, "temporal-namespace", "default", "Temporal namespace (env TEMPORAL_NAMESPACE)")
	fs.StringVar(&f.APIKey, "api-key", "", "API key sent with every request; turns TLS on (env TEMPORAL_API_KEY)")
	fs.BoolVar(&f.TLS, "tls", false, "connect with TLS, trusting the system's roots; on when an API key or another --tls-* flag is given, --tls=false turns it off (env TEMPORAL_TLS)")
	fs.StringVar(&f.TLSCertPath, "tls-cert-path", "", "client certificate (PEM) for mTLS (env TEMPORAL_TLS_CLIENT_CERT_PATH)")
	fs.StringVar(&f.TLSKeyPath, "tls-key-path", "", "client private key (PEM) for mTLS (env TEMPORAL_TLS_CLIENT_KEY_PATH)")
	fs.StringVar(&f.TLSCAPath, "tls-ca-path", "", "certificate authorities (PEM) that sign the server's certificate, instead of the system's (env TEMPORAL_TLS_SERVER_CA_CERT_PATH)")
	fs.StringVar(&f.TLSServerName, "tls-server-name", "", "server name to verify the certificate against, when it differs from the address (env TEMPORAL_TLS_SERVER_NAME)")
	fs.BoolVar(&f.TLSDisableHostVerification, "tls-disable-host-verification", false, "do not verify the server's certificate (testing only) (env TEMPORAL_TLS_DISABLE_HOST_VERIFICATION)")
	fs.StringArrayVar(&f.GRPCMeta, "grpc-meta", nil, "KEY=VALUE header sent with every request; repeatable (env TEMPORAL_GRPC_META_KEY)")
	fs.StringVar(&f.ConfigFile, "config-file", "", "TOML file of connection profiles (default $TEMPORAL_CONFIG_FILE, then the temporal CLI's ~/.config/temporalio/temporal.toml)")
	fs.StringVar(&f.Profile, "profile", "", "profile of the config file to use (default $TEMPORAL_PROFILE, then \"default\")")
	fs.BoolVar(&f.DisableConfigFile, "disable-config-file", false, "read no config file")
	fs.BoolVar(&f.DisableConfigEnv, "disable-config-env", false, "read no TEMPORAL_* connection variables")
	fs.StringVar(&f.CodecKeys, "codec-keys", "", "encrypt every payload (AES-256-GCM) with these keys: a file of current=ID and ID=base64 lines, a mounted Secret's folder, or secret:NAMESPACE/NAME (env VELAFLOW_CODEC_KEYS)")
}

func (f *Flags) changed(name string) bool { return f.set != nil && f.set.Changed(name) }

// profile is the connection the flags describe: the config file's profile,
// then the environment, then the flags given, each overriding the one
// before, as the `temporal` CLI does.
func (f *Flags) profile(env envconfig.EnvLookup) (envconfig.ClientConfigProfile, error) {
	var p envconfig.ClientConfigProfile
	if !f.DisableConfigFile || !f.DisableConfigEnv {
		var err error
		p, err = envconfig.LoadClientConfigProfile(envconfig.LoadClientConfigProfileOptions{
			ConfigFilePath: f.ConfigFile, ConfigFileProfile: f.Profile,
			DisableFile: f.DisableConfigFile, DisableEnv: f.DisableConfigEnv, EnvLookup: env,
		})
		if err != nil {
			return p, fmt.Errorf("load the connection profile: %w", err)
		}
	}
	if f.changed("address") || p.Address == "" {
		p.Address = f.Address
	}
	if f.changed("temporal-namespace") || p.Namespace == "" {
		p.Namespace = f.Namespace
	}
	if f.APIKey != "" {
		p.APIKey = f.APIKey
	}
	if err := f.applyMeta(&p); err != nil {
		return p, err
	}
	f.applyTLS(&p)
	return p, nil
}

func (f *Flags) applyMeta(p *envconfig.ClientConfigProfile) error {
	for _, kv := range f.GRPCMeta {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("--grpc-meta %q: want KEY=VALUE", kv)
		}
		if p.GRPCMeta == nil {
			p.GRPCMeta = map[string]string{}
		}
		p.GRPCMeta[envconfig.NormalizeGRPCMetaKey(k)] = v
	}
	return nil
}

// applyTLS turns TLS on when any TLS flag is given, and off with
// --tls=false.
func (f *Flags) applyTLS(p *envconfig.ClientConfigProfile) {
	if f.TLS || f.TLSCertPath != "" || f.TLSKeyPath != "" || f.TLSCAPath != "" || f.TLSServerName != "" || f.TLSDisableHostVerification {
		if p.TLS == nil {
			p.TLS = &envconfig.ClientConfigTLS{}
		}
		set := func(dst *string, v string) {
			if v != "" {
				*dst = v
			}
		}
		set(&p.TLS.ClientCertPath, f.TLSCertPath)
		set(&p.TLS.ClientKeyPath, f.TLSKeyPath)
		set(&p.TLS.ServerCACertPath, f.TLSCAPath)
		set(&p.TLS.ServerName, f.TLSServerName)
		p.TLS.DisableHostVerification = p.TLS.DisableHostVerification || f.TLSDisableHostVerification
		p.TLS.Disabled = false
	}
	if f.changed("tls") && !f.TLS {
		p.TLS = &envconfig.ClientConfigTLS{Disabled: true}
	}
}

// Options are the client options for the connection; env nil reads the
// process environment. Requests to a server on this machine go
// uncompressed (Compression).
func (f *Flags) Options(env envconfig.EnvLookup) (client.Options, error) {
	p, err := f.profile(env)
	if err != nil {
		return client.Options{}, err
	}
	opts, err := p.ToClientOptions(envconfig.ToClientOptionsRequest{})
	if err != nil {
		return client.Options{}, fmt.Errorf("connection to %s: %w", p.Address, err)
	}
	opts.ConnectionOptions.GrpcCompression = Compression(opts.HostPort)
	if err := f.applyCodec(&opts, env); err != nil {
		return client.Options{}, err
	}
	return opts, nil
}

// applyCodec encrypts payloads when --codec-keys or VELAFLOW_CODEC_KEYS
// names keys.
func (f *Flags) applyCodec(opts *client.Options, env envconfig.EnvLookup) error {
	keys, err := f.Keys(env)
	if keys != nil {
		codec.Apply(opts, keys)
	}
	return err
}

// Keys are the payload codec's keys that --codec-keys or
// VELAFLOW_CODEC_KEYS name; nil when neither does.
func (f *Flags) Keys(env envconfig.EnvLookup) (*codec.Keys, error) {
	src := f.CodecKeys
	if src == "" && !f.DisableConfigEnv {
		if env == nil {
			env = envconfig.EnvLookupOS
		}
		src, _ = env.LookupEnv(CodecKeysEnv)
	}
	if src == "" {
		return nil, nil
	}
	return codec.Load(context.Background(), src)
}

// CodecKeysEnv names the codec's keys when --codec-keys does not.
const CodecKeysEnv = "VELAFLOW_CODEC_KEYS"

// Dial connects with opts and checks the server answers. A failed TLS
// handshake says so, naming the address.
func Dial(ctx context.Context, opts client.Options) (client.Client, error) {
	c, err := client.DialContext(ctx, opts)
	if err == nil {
		return c, nil
	}
	if !IsTLSFailure(err) && opts.ConnectionOptions.TLS != nil {
		// With TLS 1.3 a server refuses the client's certificate after
		// the client's side of the handshake is done, and gRPC reports
		// only a broken connection: a handshake of our own tells.
		if perr := probeTLS(ctx, opts.HostPort, opts.ConnectionOptions.TLS); perr != nil {
			err = perr
		}
	}
	if IsTLSFailure(err) {
		return nil, fmt.Errorf("TLS handshake with Temporal at %s failed: %w", opts.HostPort, err)
	}
	return nil, fmt.Errorf("connect to Temporal at %s: %w", opts.HostPort, err)
}

// probeTLS shakes hands with address as gRPC would and reads the server's
// first bytes: a refused certificate comes back as an alert. It returns
// nil when the server answered or could not be asked.
func probeTLS(ctx context.Context, address string, cfg *tls.Config) error {
	cfg = cfg.Clone()
	cfg.NextProtos = []string{"h2"}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := (&tls.Dialer{Config: cfg}).DialContext(ctx, "tcp", address)
	if err != nil {
		if IsTLSFailure(err) {
			return err
		}
		return nil
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err != nil && IsTLSFailure(err) {
		return err
	}
	return nil
}

// IsTLSFailure tells a refused certificate (either side's) or a TLS
// protocol error from other connection failures; gRPC reports them only
// as text.
func IsTLSFailure(err error) bool {
	msg := err.Error()
	for _, s := range []string{"authentication handshake failed", "tls: ", "x509: ", "first record does not look like a TLS handshake"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// Compression is the gRPC compression for a connection to address: none
// to a server on this machine, where gzip only costs CPU at both ends
// (measured with make bench: a worker's CPU per 5-step run fell from
// 8.3-10.3 to 6.7-7.9 ms); the SDK's default, gzip, anywhere else.
func Compression(address string) client.GrpcCompression {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		host = address
	}
	if host == "" || host == "localhost" {
		return &client.GrpcCompressionNone{}
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return &client.GrpcCompressionNone{}
	}
	return &client.GrpcCompressionGzip{}
}
