// Package runs is the Go API for starting and inspecting velaflow runs on a
// Temporal cluster: everything the CLI does, as functions. It only talks to
// Temporal; it does not execute steps.
package runs

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/velaflow/velaflow/translator"
	"github.com/velaflow/velaflow/workflows"
)

// Client starts and inspects runs.
type Client struct {
	Temporal  client.Client
	TaskQueue string
	// DataConverter is the one Temporal was dialled with, for payloads
	// read from history (nil: the SDK's default).
	DataConverter converter.DataConverter
	// Namespace is the Temporal namespace the client was dialled with
	// ("": "default"), for the calls that name it.
	Namespace string
}

func (c *Client) converter() converter.DataConverter {
	if c.DataConverter == nil {
		return converter.GetDefaultDataConverter()
	}
	return c.DataConverter
}

// New wraps a Temporal client.
func New(c client.Client, taskQueue string) *Client {
	if taskQueue == "" {
		taskQueue = workflows.DefaultTaskQueue
	}
	return &Client{Temporal: c, TaskQueue: taskQueue}
}

// Object is a run as a WorkflowRun object, the shape `status -o json` prints.
type Object struct {
	APIVersion string                `json:"apiVersion"`
	Kind       string                `json:"kind"`
	Metadata   translator.ObjectMeta `json:"metadata"`
	Status     *workflows.Status     `json:"status"`
}

// Start starts a planned run under workflow ID "<namespace>/<name>". A run
// of that name that is still going is an error; a finished one is replaced.
func (c *Client) Start(ctx context.Context, plan *translator.Plan) (client.WorkflowRun, error) {
	return c.start(ctx, plan.ID(), workflows.RunInput{Plan: *plan, RecordEngine: true}, enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL)
}

// Replace starts a run, terminating a run of the same name that is still
// going, with its groups.
func (c *Client) Replace(ctx context.Context, plan *translator.Plan) (client.WorkflowRun, error) {
	id := plan.ID()
	desc, err := c.Temporal.DescribeWorkflowExecution(ctx, id, "")
	if err == nil && desc.WorkflowExecutionInfo.Status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		prev, err := c.input(ctx, id, desc.WorkflowExecutionInfo.Execution.RunId)
		if err != nil {
			return nil, fmt.Errorf("replace run %s: %w", id, err)
		}
		if err := c.terminate(ctx, id, &prev.Plan); err != nil {
			return nil, err
		}
	}
	// A run started meanwhile by someone else is replaced too.
	return c.start(ctx, id, workflows.RunInput{Plan: *plan, RecordEngine: true}, enumspb.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING)
}

// StartOnce starts a planned run unless a run of that name was ever
// started (and is still in Temporal's retention): started is false then,
// and nothing is started. A trigger that names its runs after a delivery
// ID starts one run per delivery, however often it is redelivered.
func (c *Client) StartOnce(ctx context.Context, plan *translator.Plan) (started bool, err error) {
	opts := c.startOptions(plan.ID(), plan, enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL)
	opts.WorkflowIDReusePolicy = enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
	_, err = c.Temporal.ExecuteWorkflow(ctx, opts, workflows.WorkflowName, workflows.RunInput{Plan: *plan, RecordEngine: true})
	var exists *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &exists) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("start run %s: %w", plan.ID(), err)
	}
	return true, nil
}

// ErrAlreadyRunning is Start's answer when a run of that name still runs.
var ErrAlreadyRunning = errors.New("is still running")

// ErrNotFound is matched (errors.Is) by the answer about a run that does
// not exist.
var ErrNotFound = errors.New("not found")

// notFound says which run does not exist.
type notFound struct{ msg string }

func (e notFound) Error() string        { return e.msg }
func (e notFound) Is(target error) bool { return target == ErrNotFound }

func noRun(format string, args ...any) error { return notFound{fmt.Sprintf(format, args...)} }

func (c *Client) start(ctx context.Context, id string, in workflows.RunInput, conflict enumspb.WorkflowIdConflictPolicy) (client.WorkflowRun, error) {
	opts := c.startOptions(id, &in.Plan, conflict)
	run, err := c.Temporal.ExecuteWorkflow(ctx, opts, workflows.WorkflowName, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil, fmt.Errorf("run %s %w: it was not started again (velaflow run --replace terminates it and starts this one; velaflow restart runs it again)", id, ErrAlreadyRunning)
	}
	if err != nil {
		return nil, fmt.Errorf("start run %s: %w", id, err)
	}
	return run, nil
}

func (c *Client) startOptions(id string, plan *translator.Plan, conflict enumspb.WorkflowIdConflictPolicy) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                    id,
		TaskQueue:             c.TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		// Without this the SDK answers with the running run's handle and
		// drops the new input silently.
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		WorkflowIDConflictPolicy:                 conflict,
		StaticSummary:                            fmt.Sprintf("WorkflowRun %s", plan.ID()),
		StaticDetails:                            staticDetails(plan),
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.AttrName.ValueSet(plan.Name),
			workflows.AttrNamespace.ValueSet(plan.Namespace),
			workflows.AttrPhase.ValueSet(workflows.RunExecuting),
		),
	}
}

// Exists tells whether a run with this workflow ID was ever started (and
// is still in Temporal's retention).
func (c *Client) Exists(ctx context.Context, id string) (bool, error) {
	_, err := c.Temporal.DescribeWorkflowExecution(ctx, id, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return false, nil
	}
	return err == nil, err
}

// Status returns the run's current status (the latest run of that name).
func (c *Client) Status(ctx context.Context, namespace, name string) (*Object, error) {
	st, err := c.StatusID(ctx, c.ID(ctx, namespace, name))
	if err != nil {
		return nil, err
	}
	return &Object{
		APIVersion: translator.GroupV1alpha1,
		Kind:       translator.KindWorkflowRun,
		Metadata:   translator.ObjectMeta{Name: name, Namespace: namespace},
		Status:     st,
	}, nil
}

// StatusID is the current status of the run with workflow ID id.
func (c *Client) StatusID(ctx context.Context, id string) (*workflows.Status, error) {
	v, err := c.Temporal.QueryWorkflow(ctx, id, "", workflows.QueryStatus)
	var st workflows.Status
	if err == nil {
		err = v.Get(&st)
	}
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return nil, noRun("no run %s", id)
		}
		// A finished run answers from its result when no worker can replay it.
		if fin, ferr := c.finalStatus(ctx, id); ferr == nil {
			st, err = *fin, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("status of run %s: %w", id, err)
	}
	c.liveGroups(ctx, id, &st)
	return &st, nil
}

// liveGroups shows a running group's sub-steps as the group's own child
// workflow has them: the run's copy, from coalesced reports, may lag in
// messages. A group that cannot answer keeps the run's copy.
func (c *Client) liveGroups(ctx context.Context, id string, st *workflows.Status) {
	for i := range st.Steps {
		g := &st.Steps[i]
		if len(g.SubSteps) == 0 || g.Phase == workflows.StepPending || g.Finished() {
			continue
		}
		var sub workflows.Status
		if err := c.queryOpen(ctx, id+"/"+g.Name, workflows.QueryStatus, &sub); err == nil && len(sub.Steps) == len(g.SubSteps) {
			st.ShowLiveGroup(i, sub.Steps)
		}
	}
}

// finalStatus reads a closed run's result, or the status in its failure.
func (c *Client) finalStatus(ctx context.Context, id string) (*workflows.Status, error) {
	desc, err := c.Temporal.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return nil, err
	}
	if desc.WorkflowExecutionInfo.Status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return nil, fmt.Errorf("still running")
	}
	return FinalStatus(ctx, c.Temporal.GetWorkflow(ctx, id, ""))
}

// FinalStatus waits for a run to finish and returns its final status, for
// runs that succeeded and for runs that failed or were terminated alike.
func FinalStatus(ctx context.Context, run client.WorkflowRun) (*workflows.Status, error) {
	var st workflows.Status
	err := run.Get(ctx, &st)
	if err == nil {
		return &st, nil
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.Type() == workflows.FailureType {
		if derr := app.Details(&st); derr == nil {
			return &st, nil
		}
	}
	return nil, err
}

// Watch polls the run's status until it finishes, calling onChange with
// each new status (at least once), and returns the final one.
func (c *Client) Watch(ctx context.Context, namespace, name string, every time.Duration, onChange func(*workflows.Status)) (*workflows.Status, error) {
	var last string
	for {
		obj, err := c.Status(ctx, namespace, name)
		if err != nil {
			return nil, err
		}
		if key := fingerprint(obj.Status); key != last {
			last = key
			onChange(obj.Status)
		}
		if obj.Status.Finished {
			return obj.Status, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(every):
		}
	}
}

func fingerprint(st *workflows.Status) string {
	s := st.Phase
	var add func([]workflows.StepStatus)
	add = func(steps []workflows.StepStatus) {
		for _, x := range steps {
			s += "|" + x.Name + ":" + x.Phase + ":" + x.Reason + ":" + x.Message
			add(x.SubSteps)
		}
	}
	add(st.Steps)
	return s
}

// Signal sends suspend, resume or terminate to a run.
func (c *Client) Signal(ctx context.Context, namespace, name, signal string) error {
	return c.SignalID(ctx, c.ID(ctx, namespace, name), signal)
}

// SignalID sends suspend, resume or terminate to the run with workflow ID
// id.
func (c *Client) SignalID(ctx context.Context, id, signal string) error {
	if err := c.Temporal.SignalWorkflow(ctx, id, "", signal, nil); err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return noRun("no running run %s", id)
		}
		return fmt.Errorf("%s run %s: %w", signal, id, err)
	}
	return nil
}

// Summary is one line of `velaflow list`.
type Summary struct {
	Name      string     `json:"name"`
	Namespace string     `json:"namespace"`
	Phase     string     `json:"phase"`
	Start     time.Time  `json:"startTime"`
	End       *time.Time `json:"endTime,omitempty"`
	// WorkflowID is `<namespace>/<name>` for a run the CLI started,
	// `<namespace>/<name>/<uid>` for a WorkflowRun object's.
	WorkflowID string `json:"workflowID"`
}

// ListOptions filter List: by namespace ("": all) and phase ("": any).
type ListOptions struct {
	Namespace, Phase string
	// Schedule, when set, keeps the runs that schedule (of Namespace)
	// started.
	Schedule string
}

// List lists runs, newest first; an empty namespace lists all.
func (c *Client) List(ctx context.Context, namespace string) ([]Summary, error) {
	return c.ListRuns(ctx, ListOptions{Namespace: namespace})
}

// ListRuns lists the runs opts select, newest first.
func (c *Client) ListRuns(ctx context.Context, opts ListOptions) ([]Summary, error) {
	// A run that continued as new, or was restarted, has older executions
	// under the same ID; only the newest counts.
	query := fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus != 'ContinuedAsNew'", workflows.WorkflowName)
	if opts.Namespace != "" {
		query += fmt.Sprintf(" AND %s = '%s'", workflows.AttrNamespace.GetName(), opts.Namespace)
	}
	if opts.Phase != "" {
		query += fmt.Sprintf(" AND %s = '%s'", workflows.AttrPhase.GetName(), opts.Phase)
	}
	if opts.Schedule != "" {
		query += fmt.Sprintf(" AND TemporalScheduledById = '%s'", ScheduleID(opts.Namespace, opts.Schedule))
	}
	var out []Summary
	var token []byte
	seen := map[string]bool{}
	for {
		resp, err := c.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, NextPageToken: token})
		if err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		for _, e := range resp.Executions {
			if seen[e.Execution.GetWorkflowId()] {
				continue
			}
			seen[e.Execution.GetWorkflowId()] = true
			s := Summary{Start: e.StartTime.AsTime(), WorkflowID: e.Execution.GetWorkflowId()}
			sa := e.SearchAttributes
			s.Name = keyword(sa, workflows.AttrName.GetName())
			s.Namespace = keyword(sa, workflows.AttrNamespace.GetName())
			s.Phase = keyword(sa, workflows.AttrPhase.GetName())
			if e.CloseTime != nil {
				t := e.CloseTime.AsTime()
				s.End = &t
			}
			out = append(out, s)
		}
		token = resp.NextPageToken
		if len(token) == 0 {
			return out, nil
		}
	}
}

// Logs returns what each step logged in its latest execution (#Log), by
// step name; the sub-steps of a group still running are read from the
// group's child workflow.
func (c *Client) Logs(ctx context.Context, namespace, name string) (map[string][]string, error) {
	return queryByStep[[]string](ctx, c, c.ID(ctx, namespace, name), workflows.QueryLogs, "logs of")
}

// queryByStep asks a run a query answered by step name, and its groups'
// child workflows for their sub-steps (the run's answer wins). what names
// the question in errors.
func queryByStep[T any](ctx context.Context, c *Client, id, query, what string) (map[string]T, error) {
	out := map[string]T{}
	if err := c.queryInto(ctx, id, query, &out); err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return nil, noRun("no run %s", id)
		}
		return nil, fmt.Errorf("%s run %s: %w", what, id, err)
	}
	status, err := c.StatusID(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, st := range status.Steps {
		if len(st.SubSteps) == 0 || st.Phase == workflows.StepPending || st.Phase == workflows.StepSkipped {
			continue
		}
		var sub map[string]T
		if err := c.queryInto(ctx, id+"/"+st.Name, query, &sub); err == nil {
			for k, v := range sub {
				if _, ok := out[k]; !ok {
					out[k] = v
				}
			}
		}
	}
	return out, nil
}

// queryOpen is queryInto for a workflow that still runs: a closed one
// (the group of an earlier run of the same name) is not asked.
func (c *Client) queryOpen(ctx context.Context, id, query string, into any) error {
	resp, err := c.Temporal.QueryWorkflowWithOptions(ctx, &client.QueryWorkflowWithOptionsRequest{
		WorkflowID: id, QueryType: query, QueryRejectCondition: enumspb.QUERY_REJECT_CONDITION_NOT_OPEN,
	})
	if err != nil {
		return err
	}
	if resp.QueryRejected != nil {
		return fmt.Errorf("workflow %s is %s", id, resp.QueryRejected.GetStatus())
	}
	return resp.QueryResult.Get(into)
}

func (c *Client) queryInto(ctx context.Context, id, query string, into any) error {
	v, err := c.Temporal.QueryWorkflow(ctx, id, "", query)
	if err != nil {
		return err
	}
	return v.Get(into)
}

// Debug returns each step's latest execution, by step name; the
// sub-steps of groups are read from the groups' child workflows.
func (c *Client) Debug(ctx context.Context, namespace, name string) (map[string]*workflows.StepExecution, error) {
	return queryByStep[*workflows.StepExecution](ctx, c, c.ID(ctx, namespace, name), workflows.QueryDebug, "debug")
}

// staticDetails describe a run on its page in the Web UI: its name, its
// steps, and the digest of its plan (two runs with the same digest ran
// the same steps with the same templates).
func staticDetails(plan *translator.Plan) string {
	n := 0
	var count func([]translator.Step)
	count = func(steps []translator.Step) {
		for _, s := range steps {
			n++
			count(s.SubSteps)
		}
	}
	count(plan.Steps)
	sum := sha256.New()
	_ = json.NewEncoder(sum).Encode(struct {
		Steps   []translator.Step
		Mode    translator.Mode
		Digests map[string]string
	}{plan.Steps, plan.Mode, definitionDigests(plan)})
	return fmt.Sprintf("WorkflowRun **%s/%s**: %d steps (%s), plan `sha256:%x`", plan.Namespace, plan.Name, n, plan.Mode.Steps, sum.Sum(nil)[:8])
}

func definitionDigests(plan *translator.Plan) map[string]string {
	out := map[string]string{}
	for k, d := range plan.Definitions {
		out[k] = d.Digest
	}
	return out
}
