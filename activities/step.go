package activities

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/velaflow/velaflow/activities/evaluate"
	"github.com/velaflow/velaflow/activities/kube"
	"github.com/velaflow/velaflow/activities/ops"
	"github.com/velaflow/velaflow/cuedefs"
	"github.com/velaflow/velaflow/metrics"
	"github.com/velaflow/velaflow/stepio"
	"github.com/velaflow/velaflow/translator"
)

// Activities carries what the worker knows: the definitions it can fall
// back to when a plan does not pin one (plans from plain Temporal clients).
type Activities struct {
	Definitions map[string]cuedefs.Definition
	// Registry holds the Kubernetes clusters the worker reaches; nil for
	// none.
	Registry *kube.Registry
	// Reach is which namespaces besides their own runs may change objects
	// in and read Secrets from; nil for none.
	Reach *kube.Reach
	// Metrics records each step execution; nil records nothing.
	Metrics *metrics.Metrics
	// Watcher wakes a waiting step when an object it read changes; nil
	// leaves waiting to the durable backoff alone.
	Watcher *kube.Watcher
	// RootCAs are the certificate authorities operations' TLS connections
	// trust; nil means the system's.
	RootCAs *x509.CertPool
	// LogLevel is the highest #Log level steps keep (0: the default, 3).
	LogLevel int
	// OpenAIBaseURL redirects requests to the OpenAI API ("": none).
	OpenAIBaseURL string
	// Heartbeats sends executions' heartbeats at once; nil leaves them to
	// the SDK, which batches them.
	Heartbeats HeartbeatSender
	// PlanDefinitions reads a run's pinned definitions when an execution
	// names a template neither the catalogue nor the cache holds.
	PlanDefinitions PlanDefinitions
	cache           definitionCache
	templates       cuedefs.Templates
}

// ExecuteStep evaluates the step's template and runs its operations.
func (a *Activities) ExecuteStep(ctx context.Context, in stepio.Input) (result *stepio.Result, err error) {
	began := time.Now()
	defer func() {
		phase := "failed"
		if err == nil {
			phase = result.Phase
		}
		took := time.Since(began)
		a.Metrics.StepExecuted(in.Step.Type, phase, took)
		if err != nil && activity.IsActivity(ctx) {
			// Successes are in the run's status and the metrics; a line
			// each would cost more than a step does.
			activity.GetLogger(ctx).Warn("step execution failed", "run", in.RunNamespace+"/"+in.RunName, "step", in.Step.Name,
				"type", in.Step.Type, "took", took.String(), "error", err.Error())
		}
	}()
	def, err := a.definition(ctx, in)
	if err != nil {
		return nil, err
	}
	params, err := parameters(in)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), stepio.ReasonInput, nil)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	hb := startHeartbeat(ctx, in.Memo, a.Heartbeats, cancel)
	defer hb.stop()
	env := a.env(in)
	env.Seen = a.seen(ctx, in.SessionID)
	env.Secrets = &ops.Secrets{}
	res, err := evaluate.Run(ctx, evaluate.Request{
		Definition: def,
		Parameter:  params,
		Context:    stepContext(in),
		Outputs:    in.Step.Outputs,
		Memo:       hb.memo,
		Resumed:    in.Resumed,
		OnOnce:     hb.record,
		Env:        env,
		Templates:  &a.templates,
		Debug:      in.Debug,
	})
	if err != nil {
		var e *evaluate.Error
		if errors.As(err, &e) {
			// Every error goes back to the workflow, which retries provider
			// errors itself; the memo travels along so a retry does not
			// repeat what this execution already did.
			msg, cut := excerpt(env.Secrets.Redact(e.Error()))
			dbg := withMessage(e.Debug, e.Error(), cut)
			var details []any
			if len(e.Memo) > 0 || dbg != nil {
				details = append(details, e.Memo)
			}
			if dbg != nil {
				details = append(details, redactDebug(env.Secrets, dbg))
			}
			typ := e.Reason
			if typ == stepio.ReasonExecute && !e.Retryable {
				typ = stepio.ReasonExecuteFinal
			}
			return nil, temporal.NewNonRetryableApplicationError(msg, typ, nil, details...)
		}
		if msg := env.Secrets.Redact(err.Error()); msg != err.Error() {
			return nil, temporal.NewApplicationError(msg, stepio.ReasonExecute)
		}
		return nil, err
	}
	env.Secrets.RedactAll(res.Logs)
	msg, cut := excerpt(env.Secrets.Redact(res.Message))
	out := &stepio.Result{Phase: string(res.Phase), Message: msg, Duration: res.Duration, Outputs: res.Outputs, Memo: res.Memo, Logs: res.Logs, Reads: res.Reads, Vars: env.Vars.Puts(),
		Debug: redactDebug(env.Secrets, withMessage(res.Debug, res.Message, cut))}
	if err := checkSizes(in, out); err != nil {
		return nil, err
	}
	a.watch(ctx, in.SessionID, res)
	return out, nil
}

// parameters are the step's properties with each input set at its
// parameterKey. The properties are copied only to set inputs: a local
// activity's input is the workflow's own value, not a decoded copy, and
// evaluation only reads it.
func parameters(in stepio.Input) (map[string]any, error) {
	if !slices.ContainsFunc(in.Step.Inputs, func(i translator.Input) bool { return i.ParameterKey != "" }) {
		return in.Step.Properties, nil
	}
	params := deepCopy(in.Step.Properties)
	for _, input := range in.Step.Inputs {
		if input.ParameterKey == "" {
			continue
		}
		v, ok := in.Inputs[input.From]
		if !ok {
			return nil, fmt.Errorf("input %q is not available", input.From)
		}
		if err := setPath(params, input.ParameterKey, v); err != nil {
			return nil, fmt.Errorf("input %q into parameter %q: %w", input.From, input.ParameterKey, err)
		}
	}
	return params, nil
}

// setPath sets a dotted or bracketed path (a.b, a["b"]) in m.
func setPath(m map[string]any, key string, v any) error {
	parts := translator.SplitParameterKey(key)
	if len(parts) == 0 {
		return fmt.Errorf("empty key")
	}
	cur := m
	for _, p := range parts[:len(parts)-1] {
		next, ok := cur[p].(map[string]any)
		if !ok {
			if _, exists := cur[p]; exists {
				return fmt.Errorf("%q is not an object", p)
			}
			next = map[string]any{}
			cur[p] = next
		}
		cur = next
	}
	cur[parts[len(parts)-1]] = v
	return nil
}

// stepContext is the template's `context`.
func stepContext(in stepio.Input) map[string]any {
	return translator.StepContext(in.RunName, in.RunNamespace, in.Step.Name, in.SessionID, in.GroupName, in.Context)
}

func deepCopy(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	raw, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return out
}

func (a *Activities) env(in stepio.Input) *ops.Env {
	env := &ops.Env{Run: kube.Run{Name: in.RunName, Namespace: in.RunNamespace}, Session: in.SessionID, Vars: ops.NewVars(in.Vars), RootCAs: a.RootCAs, LogLevel: a.LogLevel, OpenAIBaseURL: a.OpenAIBaseURL, Reach: a.Reach}
	if a.Registry != nil {
		env.Clusters = a.Registry
	}
	return env
}

// seen is the object whose change woke the step, as its watch delivered
// it moments ago (nil if none).
func (a *Activities) seen(ctx context.Context, step string) *ops.Seen {
	if a.Watcher == nil || !activity.IsActivity(ctx) {
		return nil
	}
	ref, obj, at, ok := a.Watcher.TakeSeen(activity.GetInfo(ctx).WorkflowExecution.ID, step)
	if !ok {
		return nil
	}
	a.Metrics.Woken(time.Since(at))
	return ops.NewSeen(ops.ObjectRef{Cluster: ref.Cluster, APIVersion: ref.APIVersion, Kind: ref.Kind, Namespace: ref.Namespace, Name: ref.Name}, obj)
}

// watch registers what a waiting execution read, so a change wakes the
// step; an execution that no longer waits ends the step's registration.
// The step is named by its ID, which differs between runs of the same
// name, so a wake never reaches a later run's step.
func (a *Activities) watch(ctx context.Context, step string, res *evaluate.Result) {
	if a.Watcher == nil || !activity.IsActivity(ctx) {
		return
	}
	id := activity.GetInfo(ctx).WorkflowExecution.ID
	if res.Phase != evaluate.Waiting || len(res.Reads) == 0 {
		a.Watcher.Forget(id, step)
		return
	}
	refs := make([]kube.Ref, len(res.Reads))
	for i, r := range res.Reads {
		refs[i] = kube.Ref{Cluster: r.Cluster, APIVersion: r.APIVersion, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name, ResourceVersion: r.ResourceVersion}
	}
	a.Watcher.Watch(id, step, refs)
}

// redactDebug hides the secrets an execution read in its debug record.
func redactDebug(s *ops.Secrets, d *stepio.StepDebug) *stepio.StepDebug {
	if d == nil {
		return nil
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil
	}
	var out stepio.StepDebug
	if json.Unmarshal([]byte(s.Redact(string(b))), &out) != nil {
		return nil
	}
	return &out
}

// withMessage keeps the whole message in the debug record when the
// status shows an excerpt.
func withMessage(d *stepio.StepDebug, msg string, cut bool) *stepio.StepDebug {
	if !cut {
		return d
	}
	if d == nil {
		d = &stepio.StepDebug{}
	}
	cp := *d
	cp.Message = msg
	return &cp
}
