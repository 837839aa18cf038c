package codec

import (
	"crypto/subtle"
	"net/http"
	"slices"
	"strings"

	"go.temporal.io/sdk/converter"
)

// ServerOptions are who may call the codec server.
type ServerOptions struct {
	// Origins are the Web UI origins (scheme://host:port) whose pages may
	// call the server from the browser; "*" allows any.
	Origins []string
	// Token, when set, must come as "Authorization: Bearer TOKEN".
	Token string
}

// Handler serves Temporal's remote codec protocol (POST .../encode and
// .../decode with a JSON Payloads body, as `temporal --codec-endpoint` and
// the Web UI's codec endpoint call it), with CORS for the Web UI.
func Handler(keys *Keys, opts ServerOptions) http.Handler {
	codec := converter.NewPayloadCodecHTTPHandler(&Codec{Keys: keys})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" && opts.allows(origin) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Content-Type, X-Namespace, Authorization")
			h.Add("Vary", "Origin")
		}
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusOK) // a preflight: the headers above say it all
			return
		}
		if !opts.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="velaflow codec"`)
			http.Error(w, "a bearer token is required", http.StatusUnauthorized)
			return
		}
		codec.ServeHTTP(w, r)
	})
}

func (o ServerOptions) allows(origin string) bool {
	return slices.Contains(o.Origins, "*") || slices.Contains(o.Origins, strings.TrimSuffix(origin, "/"))
}

func (o ServerOptions) authorized(r *http.Request) bool {
	if o.Token == "" {
		return true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(o.Token)) == 1
}
