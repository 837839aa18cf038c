// Package service is the examples' stand-in for an internal image build
// service. It builds nothing: a build reports "building" for a while, then
// "done" with an image name (or "failed", when told to fail). It also
// prepares "cache templates" of built images and serves their logs.
//
// Endpoints:
//
//	POST /builds                   {"app"} → {"id", "status": "building"}
//	GET  /builds/{id}              → {"id", "status": "building"|"done"|"failed", "image"}
//	POST /cache-templates          {"image"} → {"id"}
//	GET  /cache-templates/{id}/log → the template's log, plain text
//	POST /notify                   any JSON → {"ok": true}
//
// It counts the requests of each endpoint so tests can check that a side
// effect happened once.
package service

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"sync"
	"time"
)

// Options configure a Service.
type Options struct {
	// BuildTime is how long a build takes (0: done at the first poll).
	BuildTime time.Duration
	// FailBuilds makes every build end "failed" instead of "done".
	FailBuilds bool
	// Registry prefixes image names: <Registry>/<app>:<build id>.
	// Default "registry.local".
	Registry string
	// Logger reports what the service does; default slog.Default().
	Logger *slog.Logger
}

// Service is the build service, an http.Handler.
type Service struct {
	opts Options
	mux  *http.ServeMux

	mu            sync.Mutex
	hits          map[string]int
	builds        map[string]*build
	nbuilds       int
	templates     map[string]string // id → image
	notifications []map[string]any
}

type build struct {
	app     string
	started time.Time
}

// New returns a service with its endpoints registered.
func New(opts Options) *Service {
	if opts.Registry == "" {
		opts.Registry = "registry.local"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Service{
		opts:      opts,
		mux:       http.NewServeMux(),
		hits:      map[string]int{},
		builds:    map[string]*build{},
		templates: map[string]string{},
	}
	s.mux.HandleFunc("POST /builds", s.startBuild)
	s.mux.HandleFunc("GET /builds/{id}", s.getBuild)
	s.mux.HandleFunc("POST /cache-templates", s.createTemplate)
	s.mux.HandleFunc("GET /cache-templates/{id}/log", s.templateLog)
	s.mux.HandleFunc("POST /notify", s.notify)
	return s
}

// ServeHTTP serves the endpoints and counts requests by route pattern
// ("POST /builds", "GET /builds/{id}" ...).
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, pattern := s.mux.Handler(r)
	if pattern == "" {
		pattern = r.Method + " " + r.URL.Path // unknown: counted as requested
	}
	s.mu.Lock()
	s.hits[pattern]++
	s.mu.Unlock()
	s.mux.ServeHTTP(w, r)
}

// Count is how many requests a route pattern received, e.g. "POST /builds".
func (s *Service) Count(pattern string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[pattern]
}

// Counts are the requests received, by route pattern.
func (s *Service) Counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.hits)
}

// Notifications are the bodies POSTed to /notify, in order.
func (s *Service) Notifications() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.notifications...)
}

// TemplateLog is the log GET /cache-templates/{id}/log serves for an image.
func TemplateLog(image, id string) string {
	return fmt.Sprintf("resolving image %s\ncaching layers of %s\ntemplate %s ready\n", image, image, id)
}

func (s *Service) startBuild(w http.ResponseWriter, r *http.Request) {
	var req struct {
		App string `json:"app"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil && err != io.EOF {
		http.Error(w, "body: "+err.Error(), http.StatusBadRequest)
		return
	}
	if req.App == "" {
		req.App = "app"
	}
	s.mu.Lock()
	s.nbuilds++
	id := fmt.Sprintf("b%d", s.nbuilds)
	s.builds[id] = &build{app: req.App, started: time.Now()}
	s.mu.Unlock()
	s.opts.Logger.Info("build started", "id", id, "app", req.App)
	writeJSON(w, map[string]string{"id": id, "status": "building"})
}

func (s *Service) getBuild(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	b, ok := s.builds[id]
	s.mu.Unlock()
	if !ok {
		http.Error(w, "no such build", http.StatusNotFound)
		return
	}
	status := "building"
	if time.Since(b.started) >= s.opts.BuildTime {
		status = "done"
		if s.opts.FailBuilds {
			status = "failed"
		}
	}
	writeJSON(w, map[string]string{"id": id, "status": status, "image": s.opts.Registry + "/" + b.app + ":" + id})
}

func (s *Service) createTemplate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Image string `json:"image"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Image == "" {
		http.Error(w, `body: want {"image": "..."}`, http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	id := fmt.Sprintf("t%d", len(s.templates)+1)
	s.templates[id] = req.Image
	s.mu.Unlock()
	s.opts.Logger.Info("cache template created", "id", id, "image", req.Image)
	writeJSON(w, map[string]string{"id": id, "image": req.Image})
}

func (s *Service) templateLog(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	image, ok := s.templates[id]
	s.mu.Unlock()
	if !ok {
		http.Error(w, "no such cache template", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, TemplateLog(image, id))
}

func (s *Service) notify(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	s.mu.Lock()
	s.notifications = append(s.notifications, body)
	s.mu.Unlock()
	s.opts.Logger.Info("notification", "body", body)
	writeJSON(w, map[string]bool{"ok": true})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
