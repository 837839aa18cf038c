// Package metrics is what a velaflow worker tells Prometheus: the
// Temporal SDK's metrics, and velaflow's own, named after KubeVela
// Workflow's (workflowrun_*) so its dashboards carry over. Step metrics
// are observed where steps execute (activities); run metrics come from
// the workflow through the SDK's replay-safe handler, and the number of
// runs in each phase from Temporal's visibility.
package metrics

import (
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
)

// Controller is the controller label KubeVela's step metrics carry.
const Controller = "velaflow"

// The names of the metrics the workflow records through the SDK.
const (
	RunsInitialized = "workflowrun_initialized_num"       // counter: runs started
	RunsFinished    = "workflowrun_finished_time_seconds" // timer {phase}: run duration at its end
	StepRetries     = "velaflow_step_retries"             // counter {step_type}: executions retried after an error
)

// buckets are KubeVela Workflow's histogram buckets (seconds).
var buckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0,
	1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60, 120, 300, 600, 1800, 3600}

// msBuckets are the step duration's buckets in milliseconds.
var msBuckets = []float64{1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000}

// Metrics are one worker's metrics.
type Metrics struct {
	Registry *prometheus.Registry
	// Handler is the SDK's metrics handler (client.Options.MetricsHandler).
	Handler client.MetricsHandler

	stepDuration *prometheus.HistogramVec
	stepPhases   *prometheus.CounterVec
	wakeLatency  prometheus.Histogram
	runPhases    *prometheus.GaugeVec
	scope        io.Closer
}

// New makes the metrics, registered in a registry of their own with the
// Go and process collectors.
func New(logger *slog.Logger) (*Metrics, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{
		Registry: reg,
		stepDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "workflowrun_step_duration_ms", Help: "Step execution duration in milliseconds, by step type and the phase it ended in.", Buckets: msBuckets,
		}, []string{"controller", "step_type", "phase"}),
		stepPhases: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "velaflow_step_executions_total", Help: "Step executions, by step type and the phase they ended in (KubeVela's workflowrun_step_phase_number counts steps standing in a phase; rate() of this is its velaflow counterpart).",
		}, []string{"step_type", "phase"}),
		wakeLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "velaflow_wakeup_latency_seconds", Help: "From a watched object's change, as the watch saw it, to the waiting step's execution with it.", Buckets: buckets,
		}),
		runPhases: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "workflowrun_phase_number", Help: "WorkflowRuns in each phase, from Temporal's visibility.",
		}, []string{"phase"}),
	}
	reg.MustRegister(m.stepDuration, m.stepPhases, m.wakeLatency, m.runPhases)

	objectives := make([]tallyprom.HistogramObjective, len(buckets))
	for i, b := range buckets {
		objectives[i] = tallyprom.HistogramObjective{Upper: b}
	}
	reporter, err := tallyprom.Configuration{TimerType: "histogram", DefaultHistogramBuckets: objectives}.NewReporter(
		tallyprom.ConfigurationOptions{Registry: reg, OnError: func(err error) {
			if logger != nil {
				logger.Warn("metric not registered", "error", err)
			}
		}})
	if err != nil {
		return nil, err
	}
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:  reporter,
		Separator:       tallyprom.DefaultSeparator,
		SanitizeOptions: &sdktally.PrometheusSanitizeOptions,
	}, time.Second)
	m.Handler = sdktally.NewMetricsHandler(scope)
	m.scope = closer
	return m, nil
}

// Close flushes the SDK's metrics.
func (m *Metrics) Close() error { return m.scope.Close() }

// StepExecuted records one step execution.
func (m *Metrics) StepExecuted(stepType, phase string, took time.Duration) {
	if m == nil {
		return
	}
	m.stepDuration.WithLabelValues(Controller, stepType, phase).Observe(float64(took) / float64(time.Millisecond))
	m.stepPhases.WithLabelValues(stepType, phase).Inc()
}

// Woken records a waiting step's execution after the change that woke it.
func (m *Metrics) Woken(latency time.Duration) {
	if m == nil {
		return
	}
	m.wakeLatency.Observe(latency.Seconds())
}
