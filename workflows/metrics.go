package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"
)

// The metrics a run records through the SDK's handler, which records
// nothing while a history is replayed; named as KubeVela Workflow names
// them where it has them (the metrics package serves them).
const (
	MetricRunsInitialized = "workflowrun_initialized_num"       // counter: runs started (or restarted)
	MetricRunsFinished    = "workflowrun_finished_time_seconds" // timer {phase}: from the run's start to its end
	MetricStepRetries     = "velaflow_step_retries"             // counter {step_type}: executions retried after an error
)

func recordInitialized(ctx workflow.Context) {
	workflow.GetMetricsHandler(ctx).Counter(MetricRunsInitialized).Inc(1)
}

func recordFinished(ctx workflow.Context, st *Status) {
	if st.StartTime.IsZero() {
		return
	}
	took := workflow.Now(ctx).Sub(st.StartTime)
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"phase": st.Phase}).Timer(MetricRunsFinished).Record(max(took, time.Duration(0)))
}

func recordRetry(ctx workflow.Context, stepType string) {
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"step_type": stepType}).Counter(MetricStepRetries).Inc(1)
}
