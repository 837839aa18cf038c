package ops

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"cuelang.org/go/cue"
)

// httpOps send HTTP requests through net/http.
func httpOps() []Op {
	return []Op{{
		Provider:     "http",
		Do:           "do",
		Run:          httpDo,
		Once:         func(args cue.Value) bool { return !safeMethod(stringAt(args, "method")) },
		LegacyResult: "response",
	}}
}

// safeMethod: requests that only read are re-sent on every execution, so
// a step can poll an endpoint; all others are sent once per step.
func safeMethod(m string) bool {
	switch strings.ToUpper(m) {
	case "", "GET", "HEAD", "OPTIONS":
		return true
	}
	return false
}

type httpArgs struct {
	Method        string `json:"method"`
	URL           string `json:"url"`
	URLFromSecret *struct {
		Name string `json:"name"`
		Key  string `json:"key"`
	} `json:"urlFromSecret"`
	Request struct {
		Timeout string         `json:"timeout"`
		Body    string         `json:"body"`
		Header  map[string]any `json:"header"`
		Trailer map[string]any `json:"trailer"`
		// HeadersFromSecret take header values from Secrets of the run's
		// namespace in the default cluster.
		HeadersFromSecret []struct {
			Header string `json:"header"`
			Secret string `json:"secret"`
			Key    string `json:"key"`
		} `json:"headersFromSecret"`
		RateLimiter *struct {
			Limit  int    `json:"limit"`
			Period string `json:"period"`
		} `json:"ratelimiter"`
	} `json:"request"`
	TLSConfig *tlsConfigArgs `json:"tls_config"`
}

// HTTPResult is what #HTTPDo returns.
type HTTPResult struct {
	Body       string              `json:"body"`
	StatusCode int                 `json:"statusCode"`
	Header     map[string][]string `json:"header,omitempty"`
	Trailer    map[string][]string `json:"trailer,omitempty"`
}

var httpClient = &http.Client{}

// OpenAIAPI is the base URL of the OpenAI API, as templates write it.
const OpenAIAPI = "https://api.openai.com/v1"

// redirectOpenAI sends requests to the OpenAI API to the worker's
// OpenAI-compatible server, when it has one, so templates that name the
// API (KubeVela's chat-gpt) work with it unchanged.
func (e *Env) redirectOpenAI(url string) string {
	if e == nil || e.OpenAIBaseURL == "" || !strings.HasPrefix(url, OpenAIAPI) {
		return url
	}
	return strings.TrimSuffix(e.OpenAIBaseURL, "/") + strings.TrimPrefix(url, OpenAIAPI)
}

// httpClient is the client for one request: the shared one, or one with
// the worker's CAs or the tls_config Secret's CA and client certificate.
func (c *Call) httpClient(ctx context.Context, tc *tlsConfigArgs) (*http.Client, error) {
	roots := c.Env.rootCAs()
	if tc == nil {
		return clientFor(roots), nil
	}
	cfg := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	if err := c.loadTLSConfig(ctx, tc, cfg); err != nil {
		return nil, err
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, Proxy: http.ProxyFromEnvironment}}, nil
}

// rootClients are the clients that trust a worker's CAs, kept so that
// requests reuse their connections.
var rootClients sync.Map // *x509.CertPool → *http.Client

func clientFor(roots *x509.CertPool) *http.Client {
	if roots == nil {
		return httpClient
	}
	if cl, ok := rootClients.Load(roots); ok {
		return cl.(*http.Client)
	}
	cfg := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	cl, _ := rootClients.LoadOrStore(roots, &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, Proxy: http.ProxyFromEnvironment}})
	return cl.(*http.Client)
}

func httpDo(ctx context.Context, c *Call) (any, error) {
	var args httpArgs
	if err := c.Decode(&args); err != nil {
		return nil, err
	}
	if args.Method == "" {
		args.Method = http.MethodGet
	}
	if args.URL == "" && args.URLFromSecret != nil {
		u, err := c.secretValue(ctx, args.URLFromSecret.Name, args.URLFromSecret.Key)
		if err != nil {
			return nil, err
		}
		args.URL = strings.TrimSpace(u)
	}
	if args.URL == "" {
		return nil, RenderingError{fmt.Errorf("url is missing")}
	}
	args.URL = c.Env.redirectOpenAI(args.URL)
	if args.Request.Timeout != "" {
		d, err := time.ParseDuration(args.Request.Timeout)
		if err != nil {
			return nil, RenderingError{fmt.Errorf("request.timeout %q: %w", args.Request.Timeout, err)}
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	var body io.Reader
	if args.Request.Body != "" {
		body = strings.NewReader(args.Request.Body)
	}
	req, err := http.NewRequestWithContext(ctx, strings.ToUpper(args.Method), args.URL, body)
	if err != nil {
		return nil, RenderingError{fmt.Errorf("%s %s: %w", args.Method, args.URL, err)}
	}
	setHeaders(req.Header, args.Request.Header)
	if len(args.Request.Header) == 0 {
		req.Header.Set("Content-Type", "application/json") // as KubeVela sends it
	}
	if !safeMethod(req.Method) && req.Header.Get(IdempotencyHeader) == "" {
		req.Header.Set(IdempotencyHeader, c.idempotencyKey())
	}
	for _, h := range args.Request.HeadersFromSecret {
		v, err := c.secretValue(ctx, h.Secret, h.Key)
		if err != nil {
			return nil, err
		}
		req.Header.Set(h.Header, v)
	}
	if len(args.Request.Trailer) > 0 {
		req.Trailer = http.Header{}
		setHeaders(req.Trailer, args.Request.Trailer)
	}
	if rl := args.Request.RateLimiter; rl != nil {
		if err := allowRequest(req.Method, args.URL, rl.Limit, rl.Period); err != nil {
			return nil, err
		}
	}
	client, err := c.httpClient(ctx, args.TLSConfig)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, args.URL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxBodyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the response: %w", req.Method, args.URL, err)
	}
	if len(data) > MaxBodyBytes {
		return nil, FinalError{fmt.Errorf("%s %s: the response body is larger than the limit of %s", req.Method, args.URL, Size(MaxBodyBytes))}
	}
	return HTTPResult{Body: string(data), StatusCode: resp.StatusCode, Header: resp.Header, Trailer: resp.Trailer}, nil
}

func setHeaders(h http.Header, from map[string]any) {
	for k, v := range from {
		switch x := v.(type) {
		case string:
			h.Add(k, x)
		case []any:
			for _, e := range x {
				h.Add(k, fmt.Sprint(e))
			}
		}
	}
}

func stringAt(v cue.Value, path string) string {
	s, _ := v.LookupPath(cue.ParsePath(path)).String()
	return s
}

// secretValue reads one key of a Secret of the run's namespace in the
// default cluster.
func (c *Call) secretValue(ctx context.Context, name, key string) (string, error) {
	data, err := c.secretData(ctx, "", name)
	if err != nil {
		return "", err
	}
	v, ok := data[key]
	if !ok {
		return "", FinalError{fmt.Errorf("secret %s has no key %q", name, key)}
	}
	return string(v), nil
}

// secretData reads a Secret of namespace (the run's when "") in the
// default cluster, its values decoded.
func (c *Call) secretData(ctx context.Context, ns, name string) (map[string][]byte, error) {
	cl, err := c.cluster(ctx, "")
	if err != nil {
		return nil, err
	}
	if ns == "" {
		ns = c.run().Namespace
	}
	if ns == "" {
		ns = "default"
	}
	if err := c.mayReadSecrets(cl, ns); err != nil {
		return nil, err
	}
	obj, found, err := cl.Read(ctx, map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": name, "namespace": ns}})
	if err != nil {
		return nil, kubeErr(err)
	}
	if !found {
		return nil, FinalError{fmt.Errorf("secret %s/%s not found in the default cluster", ns, name)}
	}
	raw, _ := obj["data"].(map[string]any)
	out := make(map[string][]byte, len(raw))
	for k, v := range raw {
		enc, _ := v.(string)
		b, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			return nil, FinalError{fmt.Errorf("secret %s/%s key %q: %w", ns, name, k, err)}
		}
		out[k] = b
	}
	c.Env.Secrets.AddData(out)
	return out, nil
}

// IdempotencyHeader carries, on a request that changes something, a key
// that is the same each time the step sends it again (a retry after its
// worker died before the response was recorded) and differs between
// runs: a server that honours it applies the request once.
const IdempotencyHeader = "Idempotency-Key"

func (c *Call) idempotencyKey() string {
	var run, session string
	if c.Env != nil {
		run, session = c.Env.Run.Namespace+"/"+c.Env.Run.Name, c.Env.Session
	}
	sum := sha256.Sum256([]byte(run + "\x00" + session + "\x00" + c.Path))
	return hex.EncodeToString(sum[:16])
}
