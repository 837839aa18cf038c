package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// Server serves /metrics, /healthz (the process answers) and /readyz (the
// worker runs and Temporal answers it).
type Server struct {
	srv  *http.Server
	addr net.Addr
}

// Serve listens on addr. ready says whether the worker can take work.
func (m *Metrics) Serve(addr string, ready func(context.Context) error) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if err := ready(ctx); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	s := &Server{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, addr: ln.Addr()}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Addr is where the server listens.
func (s *Server) Addr() string { return s.addr.String() }

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// TemporalReady is a readiness check: Temporal's frontend answers.
func TemporalReady(c client.Client) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	}
}

// PollPhases sets workflowrun_phase_number from Temporal's visibility
// every interval until ctx ends: the runs of workflowType whose search
// attribute attr holds each of phases.
func (m *Metrics) PollPhases(ctx context.Context, c client.Client, workflowType, attr string, phases []string, every time.Duration, logger *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		for _, p := range phases {
			q := fmt.Sprintf("WorkflowType = '%s' AND %s = '%s'", workflowType, attr, p)
			resp, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: q})
			if err != nil {
				if ctx.Err() == nil && logger != nil {
					logger.Warn("count runs by phase", "phase", p, "error", err)
				}
				continue
			}
			m.runPhases.WithLabelValues(p).Set(float64(resp.Count))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
