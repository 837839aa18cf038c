// Package triggers serves webhooks that start runs of Workflow templates:
// POST /v1/namespaces/{ns}/templates/{name}/runs with a JSON body that
// becomes the run's context, authenticated with a bearer token or an
// HMAC signature of the body (GitHub's X-Hub-Signature-256). A request
// redelivered with the same delivery ID starts nothing new.
package triggers

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/velaflow/velaflow/launch"
	"github.com/velaflow/velaflow/runs"
	"github.com/velaflow/velaflow/translator"
)

// maxBody is the largest request body read: a context, not a payload.
const maxBody = 1 << 20

// Server answers trigger requests.
type Server struct {
	Runs *runs.Client
	// Templates and Definitions are folders (or files) read on every
	// request, so a changed template applies to the next run.
	Templates, Definitions []string
	// AskWorkers adds the workers' templates (worker --templates).
	AskWorkers bool
	// Tokens are the bearer tokens accepted; Secrets the HMAC keys.
	Tokens, Secrets []string
	// WebUI is the Temporal Web UI's address, for the link to a run;
	// TemporalNamespace the Temporal namespace runs start in.
	WebUI, TemporalNamespace string
	Log                      *slog.Logger
}

// Handler routes the trigger endpoint and a health check.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/namespaces/{ns}/templates/{name}/runs", s.trigger)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	return mux
}

// Answer is the response body of a trigger.
type Answer struct {
	Name       string   `json:"name,omitempty"`
	Namespace  string   `json:"namespace,omitempty"`
	WorkflowID string   `json:"workflowID,omitempty"`
	URL        string   `json:"url,omitempty"`
	Existing   bool     `json:"existing,omitempty"`
	Error      string   `json:"error,omitempty"`
	Errors     []string `json:"errors,omitempty"`
}

func (s *Server) trigger(w http.ResponseWriter, r *http.Request) {
	ns, name := r.PathValue("ns"), r.PathValue("name")
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		reply(w, http.StatusBadRequest, Answer{Error: "read the body: " + err.Error()})
		return
	}
	if len(body) > maxBody {
		reply(w, http.StatusRequestEntityTooLarge, Answer{Error: fmt.Sprintf("the body is over %d bytes", maxBody)})
		return
	}
	if !s.authorized(r, body) {
		s.log().Warn("trigger refused: bad credentials", "namespace", ns, "template", name, "remote", r.RemoteAddr)
		reply(w, http.StatusUnauthorized, Answer{Error: "missing or wrong bearer token or X-Hub-Signature-256"})
		return
	}
	values := map[string]any{}
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := json.Unmarshal(body, &values); err != nil || values == nil {
			reply(w, http.StatusBadRequest, Answer{Error: "the body must be a JSON object (the run's context): " + errText(err)})
			return
		}
	}
	req := launch.Request{Namespace: ns, Template: name, Context: values}
	delivery := deliveryID(r)
	if delivery != "" {
		// The same delivery gets the same run: a redelivery starts nothing.
		sum := sha256.Sum256([]byte(ns + "/" + name + "/" + delivery))
		req.Name = name + "-" + hex.EncodeToString(sum[:])[:10]
	} else {
		req = req.WithName()
	}
	plan, errs := s.plan(r.Context(), req)
	if errs != nil {
		reply(w, http.StatusBadRequest, Answer{Error: "invalid run of template " + ns + "/" + name, Errors: errs})
		return
	}
	started, err := s.Runs.StartOnce(r.Context(), plan)
	if err != nil {
		s.log().Error("trigger: start failed", "namespace", ns, "template", name, "error", err)
		reply(w, http.StatusInternalServerError, Answer{Error: err.Error()})
		return
	}
	a := Answer{Name: plan.Name, Namespace: ns, WorkflowID: plan.ID(), URL: s.link(plan.ID()), Existing: !started}
	code := http.StatusCreated
	if !started {
		code = http.StatusOK
	}
	s.log().Info("trigger", "namespace", ns, "template", name, "run", plan.Name, "new", started, "delivery", delivery)
	reply(w, code, a)
}

// plan validates the run as `velaflow run --ref` does.
func (s *Server) plan(ctx context.Context, req launch.Request) (*translator.Plan, []string) {
	src, err := req.Source()
	if err != nil {
		return nil, []string{err.Error()}
	}
	opts := translator.Options{Runs: []translator.Source{src}, DefinitionPaths: append(append([]string{}, s.Templates...), s.Definitions...)}
	if s.AskWorkers {
		if known, err := s.Runs.WorkerTemplates(ctx, req.Namespace); err == nil {
			opts.KnownTemplates = known
		}
	}
	res, err := translator.TranslateAll(opts)
	if err != nil {
		var es translator.Errors
		if errors.As(err, &es) {
			var out []string
			for _, e := range es {
				out = append(out, e.Error())
			}
			return nil, out
		}
		return nil, []string{err.Error()}
	}
	return res.Plans[0], nil
}

// authorized checks the bearer token or the body's HMAC signature.
func (s *Server) authorized(r *http.Request, body []byte) bool {
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		for _, want := range s.Tokens {
			if subtle.ConstantTimeCompare([]byte(tok), []byte(want)) == 1 {
				return true
			}
		}
	}
	if sig, ok := strings.CutPrefix(r.Header.Get("X-Hub-Signature-256"), "sha256="); ok {
		got, err := hex.DecodeString(sig)
		if err != nil {
			return false
		}
		for _, key := range s.Secrets {
			mac := hmac.New(sha256.New, []byte(key))
			mac.Write(body)
			if hmac.Equal(got, mac.Sum(nil)) {
				return true
			}
		}
	}
	return false
}

// deliveryID is the sender's ID of this delivery, the same when it sends
// the request again.
func deliveryID(r *http.Request) string {
	for _, h := range []string{"X-GitHub-Delivery", "X-Delivery-ID", "Idempotency-Key"} {
		if v := strings.TrimSpace(r.Header.Get(h)); v != "" {
			return v
		}
	}
	return ""
}

func (s *Server) link(workflowID string) string {
	if s.WebUI == "" {
		return ""
	}
	ns := s.TemporalNamespace
	if ns == "" {
		ns = "default"
	}
	return strings.TrimRight(s.WebUI, "/") + "/namespaces/" + url.PathEscape(ns) + "/workflows/" + url.PathEscape(workflowID)
}

func (s *Server) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

func reply(w http.ResponseWriter, code int, a Answer) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(a)
}

func errText(err error) string {
	if err == nil {
		return "null"
	}
	return err.Error()
}
