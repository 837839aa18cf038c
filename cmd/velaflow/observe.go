package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"

	"github.com/velaflow/velaflow/metrics"
	"github.com/velaflow/velaflow/workflows"
)

// observeFlags are the logging and metrics flags of `worker` and `dev`.
type observeFlags struct {
	logFormat     string
	metricsListen string
}

func (o *observeFlags) register(cmd *cobra.Command, metricsDefault string) {
	cmd.Flags().StringVar(&o.logFormat, "log-format", "text", "the worker's log lines: text or json (the run, step and cluster are fields)")
	cmd.Flags().StringVar(&o.metricsListen, "metrics-listen", metricsDefault, "host:port serving /metrics (Prometheus), /healthz and /readyz (\"\": none)")
}

// observer is a worker's logger and metrics, set up before it dials.
type observer struct {
	logger  *slog.Logger
	metrics *metrics.Metrics
	server  *metrics.Server
	stop    context.CancelFunc
}

func (o *observeFlags) start() (*observer, error) {
	logger, err := workerLogger(os.Stderr, o.logFormat)
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	ob := &observer{logger: logger, stop: func() {}}
	if o.metricsListen != "" {
		if ob.metrics, err = metrics.New(logger); err != nil {
			return nil, err
		}
	}
	return ob, nil
}

// configure makes the client log through the worker's logger and report
// the SDK's metrics.
func (ob *observer) configure(opts *client.Options) {
	opts.Logger = log.NewStructuredLogger(ob.logger)
	if ob.metrics != nil {
		opts.MetricsHandler = ob.metrics.Handler
	}
}

// serve starts the metrics server (when an address is given) and the
// count of runs by phase; ready answers /readyz.
func (ob *observer) serve(addr string, c client.Client, ready func(context.Context) error) error {
	if ob.metrics == nil {
		return nil
	}
	srv, err := ob.metrics.Serve(addr, ready)
	if err != nil {
		return err
	}
	ob.server = srv
	ctx, cancel := context.WithCancel(context.Background())
	ob.stop = cancel
	go ob.metrics.PollPhases(ctx, c, workflows.WorkflowName, workflows.AttrPhase.GetName(), workflows.RunPhases, 15*time.Second, ob.logger)
	fmt.Fprintf(os.Stderr, "metrics on http://%s/metrics (health: /healthz, /readyz)\n", srv.Addr())
	return nil
}

func (ob *observer) close() {
	ob.stop()
	if ob.server != nil {
		_ = ob.server.Close()
	}
	if ob.metrics != nil {
		_ = ob.metrics.Close()
	}
}
