package ops

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"time"
)

// tlsConfigArgs name a Secret holding ca.crt (the CA to trust), and
// client.crt with client.key (a client certificate), as KubeVela's
// tls_config does.
type tlsConfigArgs struct {
	Secret    string `json:"secret"`
	Namespace string `json:"namespace"`
}

// loadTLSConfig fills cfg from the Secret ("name", or "namespace/name";
// the run's namespace by default) in the default cluster.
func (c *Call) loadTLSConfig(ctx context.Context, tc *tlsConfigArgs, cfg *tls.Config) error {
	ns, name := tc.Namespace, tc.Secret
	if before, after, ok := strings.Cut(name, "/"); ok {
		ns, name = before, after
	}
	data, err := c.secretData(ctx, ns, name)
	if err != nil {
		return fmt.Errorf("tls_config: %w", err)
	}
	if ca, ok := data["ca.crt"]; ok {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemOf(ca)) {
			return FinalError{fmt.Errorf("tls_config: secret %s: ca.crt holds no PEM certificate", name)}
		}
		cfg.RootCAs = pool
	}
	crt, hasCrt := data["client.crt"]
	key, hasKey := data["client.key"]
	if hasCrt != hasKey {
		return FinalError{fmt.Errorf("tls_config: secret %s needs both client.crt and client.key", name)}
	}
	if hasCrt {
		pair, err := tls.X509KeyPair(pemOf(crt), pemOf(key))
		if err != nil {
			return FinalError{fmt.Errorf("tls_config: secret %s: client certificate: %w", name, err)}
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return nil
}

// pemOf accepts PEM, or PEM encoded once more in base64 (KubeVela reads
// the keys that way).
func pemOf(b []byte) []byte {
	if bytes.Contains(b, []byte("-----BEGIN")) {
		return b
	}
	if dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b))); err == nil {
		return dec
	}
	return b
}

// limiters are the rate limits of this worker, by method, URL (without
// its query), limit and period: the times of the requests sent in the
// last period.
var limiters = struct {
	sync.Mutex
	sent map[string][]time.Time
}{sent: map[string][]time.Time{}}

// allowRequest applies request.ratelimiter: at most limit requests to the
// URL in any period, from this worker. A request over the limit is not
// sent; the step is retried with backoff.
func allowRequest(method, url string, limit int, period string) error {
	d, err := time.ParseDuration(period)
	if err != nil || d <= 0 || limit <= 0 {
		return RenderingError{fmt.Errorf("ratelimiter: want a positive limit and period, got %d per %q", limit, period)}
	}
	key := fmt.Sprintf("%s %s %d/%s", method, strings.SplitN(url, "?", 2)[0], limit, d)
	now := time.Now()
	limiters.Lock()
	defer limiters.Unlock()
	recent := limiters.sent[key][:0]
	for _, t := range limiters.sent[key] {
		if now.Sub(t) < d {
			recent = append(recent, t)
		}
	}
	if len(recent) >= limit {
		limiters.sent[key] = recent
		return fmt.Errorf("%s %s: over the rate limit of %d per %s; retrying later", method, url, limit, d)
	}
	limiters.sent[key] = append(recent, now)
	return nil
}
