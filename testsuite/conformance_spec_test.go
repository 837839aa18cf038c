package testsuite

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"github.com/velaflow/velaflow/workflows"
)

// caseSpec is a conformance case's .want.yaml.
type caseSpec struct {
	// Timeout bounds the case (a Go duration; 40s when empty).
	Timeout string `json:"timeout,omitempty"`
	// RunArgs are more `velaflow run` flags; Defs more --definitions paths.
	RunArgs []string `json:"runArgs,omitempty"`
	Defs    []string `json:"defs,omitempty"`
	// Setup primes the service before the run starts; During acts while
	// it goes, in order. The suite then waits for the run to finish (again,
	// when During restarted it) and compares it with Want.
	Setup  []action  `json:"setup,omitempty"`
	During []action  `json:"during,omitempty"`
	Want   finalWant `json:"want"`
}

// action is one thing a case does; exactly one field is set.
type action struct {
	// Service: make /status/{id} ready, now or from its n-th request;
	// open /gate/{key}; hang up on the first n requests to /flaky/{key}.
	SetReady    string    `json:"setReady,omitempty"`
	ReadyAfter  *idCount  `json:"readyAfter,omitempty"`
	Open        string    `json:"open,omitempty"`
	HangUpFirst *keyCount `json:"hangUpFirst,omitempty"`
	// Must runs velaflow with these arguments and requires success; CLI
	// runs it and checks what it printed and its exit code.
	Must []string   `json:"must,omitempty"`
	CLI  *cliAction `json:"cli,omitempty"`
	// WaitFor polls the status until it matches; Expect asserts the
	// status now; WaitFinished waits for the run to end and requires the
	// match.
	WaitFor      *statusMatch `json:"waitFor,omitempty"`
	Expect       *statusMatch `json:"expect,omitempty"`
	WaitFinished *statusMatch `json:"waitFinished,omitempty"`
	// Idle waits until the run's history shows it held still since the
	// last signal it received: a timer fired after the signal and the
	// workflow task that followed it scheduled nothing. It stands for
	// "nothing happens while suspended".
	Idle bool `json:"idle,omitempty"`
	// Group asserts that the group's child workflow <run-id>/<group> runs,
	// with the run as its parent.
	GroupRunning string `json:"groupRunning,omitempty"`
	// Mark records the time, for Want.StartsAfterMark.
	Mark string `json:"mark,omitempty"`
}

type idCount struct {
	ID    string `json:"id"`
	After int    `json:"after"`
}

type keyCount struct {
	Key   string `json:"key"`
	Times int    `json:"times"`
}

type cliAction struct {
	Args []string `json:"args"`
	// Code is the exit code expected (0 when omitted).
	Code int `json:"code,omitempty"`
	// Stdout is the whole output expected, when set.
	Stdout *string `json:"stdout,omitempty"`
	// StdoutHas and StderrHas are substrings expected.
	StdoutHas []string `json:"stdoutHas,omitempty"`
	StderrHas []string `json:"stderrHas,omitempty"`
}

// statusMatch is a partial status: only what is set is compared.
type statusMatch struct {
	Phase   string               `json:"phase,omitempty"`
	Suspend *bool                `json:"suspend,omitempty"`
	Steps   map[string]stepMatch `json:"steps,omitempty"`
	// Hits are request counts by path at the service.
	Hits map[string]int `json:"hits,omitempty"`
}

// stepMatch is a step's expected phase, reason and a substring of its
// message. In the final status every field is compared ("" is no reason,
// any message); in a partial status an empty reason takes any.
type stepMatch struct {
	Phase   string `json:"phase"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// finalWant is the expected final status and what else to check then.
type finalWant struct {
	Phase string `json:"phase"`
	// Message is a substring of the run's message.
	Message    string `json:"message,omitempty"`
	Mode       string `json:"mode,omitempty"`
	Suspend    *bool  `json:"suspend,omitempty"`
	Terminated *bool  `json:"terminated,omitempty"`
	// Steps lists every step and sub-step by name (names are unique).
	Steps map[string]stepMatch `json:"steps"`
	// Outputs are the complete outputs of the steps named.
	Outputs map[string]map[string]any `json:"outputs,omitempty"`
	// Hits are exact request counts by path; HitsAtLeast lower bounds.
	Hits        map[string]int `json:"hits,omitempty"`
	HitsAtLeast map[string]int `json:"hitsAtLeast,omitempty"`
	// Order is every request path in arrival order; OrderFirst and
	// OrderLast only the first and the last.
	Order      []string `json:"order,omitempty"`
	OrderFirst string   `json:"orderFirst,omitempty"`
	OrderLast  string   `json:"orderLast,omitempty"`
	// MaxInFlight is the most /sleep requests in progress at once.
	MaxInFlight int `json:"maxInFlight,omitempty"`
	// StartsAfter: [b, a] means step b started no earlier than step a
	// ended; StartsBefore: [b, a] means b's first execution came before
	// a's.
	StartsAfter  [][2]string `json:"startsAfter,omitempty"`
	StartsBefore [][2]string `json:"startsBefore,omitempty"`
	// StartsAfterMark: step -> mark it started after.
	StartsAfterMark map[string]string `json:"startsAfterMark,omitempty"`
	// Gaps bound the time between two step times (step.first or
	// step.last: its first and last execution).
	Gaps []gap `json:"gaps,omitempty"`
	// GroupsClosed: the child workflows of these groups have closed.
	GroupsClosed []string `json:"groupsClosed,omitempty"`
}

type gap struct {
	From    string `json:"from"`
	To      string `json:"to"`
	AtLeast string `json:"atLeast,omitempty"`
	Below   string `json:"below,omitempty"`
}

func (c *caseRun) act(a action) {
	c.t.Helper()
	switch {
	case a.SetReady != "":
		c.Svc.SetReady(a.SetReady)
	case a.ReadyAfter != nil:
		c.Svc.ReadyAfter(a.ReadyAfter.ID, a.ReadyAfter.After)
	case a.Open != "":
		c.Svc.Open(a.Open)
	case a.HangUpFirst != nil:
		c.Svc.HangUpFirst(a.HangUpFirst.Key, a.HangUpFirst.Times)
	case a.Must != nil:
		c.Must(a.Must...)
	case a.CLI != nil:
		c.cli(*a.CLI)
	case a.WaitFor != nil:
		m := *a.WaitFor
		c.WaitFor(m.String(), func(st *workflows.Status) bool { return len(c.mismatches(st, m)) == 0 })
	case a.Expect != nil:
		assert.Empty(c.t, c.mismatches(c.Status(), *a.Expect), "the status now")
	case a.WaitFinished != nil:
		require.Empty(c.t, c.mismatches(c.WaitFinished(), *a.WaitFinished), "the finished run")
	case a.Idle:
		c.waitIdle()
	case a.GroupRunning != "":
		c.assertGroupRunning(a.GroupRunning)
	case a.Mark != "":
		c.marks[a.Mark] = time.Now()
	default:
		c.t.Fatalf("an action with nothing to do: %+v", a)
	}
}

func (c *caseRun) cli(a cliAction) {
	c.t.Helper()
	out, errOut, code := c.CLI(a.Args...)
	assert.Equal(c.t, a.Code, code, "velaflow %s:\n%s%s", strings.Join(a.Args, " "), out, errOut)
	if a.Stdout != nil {
		assert.Equal(c.t, *a.Stdout, out, "velaflow %s", strings.Join(a.Args, " "))
	}
	for _, s := range a.StdoutHas {
		assert.Contains(c.t, out, s, "velaflow %s", strings.Join(a.Args, " "))
	}
	for _, s := range a.StderrHas {
		assert.Contains(c.t, errOut, s, "velaflow %s", strings.Join(a.Args, " "))
	}
}

func (m statusMatch) String() string {
	b, _ := json.Marshal(m)
	return "the status matches " + string(b)
}

// mismatches lists how the status differs from m.
func (c *caseRun) mismatches(st *workflows.Status, m statusMatch) []string {
	var out []string
	if m.Phase != "" && st.Phase != m.Phase {
		out = append(out, fmt.Sprintf("run phase %s, want %s", st.Phase, m.Phase))
	}
	if m.Suspend != nil && st.Suspend != *m.Suspend {
		out = append(out, fmt.Sprintf("suspend %v, want %v", st.Suspend, *m.Suspend))
	}
	for name, want := range m.Steps {
		s := findStep(st, name)
		if s == nil {
			out = append(out, "no step "+name)
			continue
		}
		got := stepMatch{s.Phase, s.Reason, containedOr(s.Message, want.Message)}
		if want.Reason == "" {
			got.Reason = "" // a match without a reason takes any
		}
		if got != want {
			out = append(out, fmt.Sprintf("step %s is %+v, want %+v", name, got, want))
		}
	}
	for path, n := range m.Hits {
		if got := c.Svc.Hits(path); got != n {
			out = append(out, fmt.Sprintf("%s had %d requests, want %d", path, got, n))
		}
	}
	return out
}

// checkFinal compares the final status with w and runs w's checks.
func (c *caseRun) checkFinal(st *workflows.Status, w finalWant) {
	t := c.t
	t.Helper()
	c.compareStatus(st, w)
	if w.Mode != "" {
		assert.Equal(t, w.Mode, st.Mode)
	}
	if w.Suspend != nil {
		assert.Equal(t, *w.Suspend, st.Suspend, "suspend")
	}
	if w.Terminated != nil {
		assert.Equal(t, *w.Terminated, st.Terminated, "terminated")
	}
	if w.Hits != nil {
		assertHits(t, c.Svc, w.Hits)
	}
	for path, n := range w.HitsAtLeast {
		assert.GreaterOrEqual(t, c.Svc.Hits(path), n, "requests to %s", path)
	}
	order := c.Svc.Order()
	if w.Order != nil {
		assert.Equal(t, w.Order, order, "requests in order")
	}
	if w.OrderFirst != "" && assert.NotEmpty(t, order) {
		assert.Equal(t, w.OrderFirst, order[0], "the first request; all: %v", order)
	}
	if w.OrderLast != "" && assert.NotEmpty(t, order) {
		assert.Equal(t, w.OrderLast, order[len(order)-1], "the last request; all: %v", order)
	}
	if w.MaxInFlight != 0 {
		assert.Equal(t, w.MaxInFlight, c.Svc.MaxInFlight(), "requests in progress at once")
	}
	for _, p := range w.StartsAfter {
		assertStartsAfter(t, st, p[0], p[1])
	}
	for _, p := range w.StartsBefore {
		b, _ := stepTimes(t, st, p[0])
		a, _ := stepTimes(t, st, p[1])
		assert.True(t, b.Before(a), "step %s started at %s, not before step %s at %s", p[0], b, p[1], a)
	}
	for step, mark := range w.StartsAfterMark {
		first, _ := stepTimes(t, st, step)
		assert.False(t, first.Before(c.marks[mark]), "step %s started at %s, before %s at %s", step, first, mark, c.marks[mark])
	}
	for _, g := range w.Gaps {
		c.checkGap(st, g)
	}
	for _, g := range w.GroupsClosed {
		c.waitGroupClosed(g)
	}
}

// compareStatus compares the run's phase and message, every step's phase,
// reason and message, and the outputs named (runCase has logged the whole
// status).
func (c *caseRun) compareStatus(st *workflows.Status, w finalWant) {
	type view struct {
		Phase   string
		Message string
		Steps   map[string]stepMatch
		Outputs map[string]map[string]any
	}
	got := view{Phase: st.Phase, Message: containedOr(st.Message, w.Message), Steps: map[string]stepMatch{}}
	var walk func([]workflows.StepStatus)
	walk = func(steps []workflows.StepStatus) {
		for _, s := range steps {
			got.Steps[s.Name] = stepMatch{Phase: s.Phase, Reason: s.Reason, Message: containedOr(s.Message, w.Steps[s.Name].Message)}
			walk(s.SubSteps)
		}
	}
	walk(st.Steps)
	if w.Outputs != nil {
		got.Outputs = map[string]map[string]any{}
		for name := range w.Outputs {
			var outs map[string]any
			if s := findStep(st, name); s != nil {
				outs = s.Outputs
			}
			got.Outputs[name] = outs
		}
	}
	want := view{Phase: w.Phase, Message: w.Message, Steps: w.Steps, Outputs: w.Outputs}
	assert.Equal(c.t, asJSONValue(c.t, want), asJSONValue(c.t, got), "the final status differs from the expected one")
}

// containedOr is want when it is a substring of got, else got: a match
// compares equal, a mismatch shows the whole message.
func containedOr(got, want string) string {
	if want == "" {
		return ""
	}
	if strings.Contains(got, want) {
		return want
	}
	return got
}

// asJSONValue makes values compare as JSON does (numbers are float64).
func asJSONValue(t require.TestingT, v any) any {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var out any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

func (c *caseRun) checkGap(st *workflows.Status, g gap) {
	at := func(ref string) time.Time {
		step, which, _ := strings.Cut(ref, ".")
		first, last := stepTimes(c.t, st, step)
		if which == "last" {
			return last
		}
		return first
	}
	d := at(g.To).Sub(at(g.From))
	if g.AtLeast != "" {
		min, err := time.ParseDuration(g.AtLeast)
		require.NoError(c.t, err)
		assert.GreaterOrEqual(c.t, d, min, "from %s to %s", g.From, g.To)
	}
	if g.Below != "" {
		max, err := time.ParseDuration(g.Below)
		require.NoError(c.t, err)
		assert.Less(c.t, d, max, "from %s to %s", g.From, g.To)
	}
}

func (c *caseRun) workflowID() string { return "default/" + c.Name }

// waitIdle waits until the run's history shows a timer that fired after
// the last signal, and the workflow task after it completed, and then
// requires that no activity was scheduled since that signal.
func (c *caseRun) waitIdle() {
	c.t.Helper()
	for {
		events := c.history()
		signal := -1
		for i, e := range events {
			if e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED {
				signal = i
			}
		}
		require.GreaterOrEqual(c.t, signal, 0, "idle: the run has received no signal")
		fired, settled := false, false
		for _, e := range events[signal+1:] {
			switch e.GetEventType() {
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
				c.t.Fatalf("run %s scheduled activity %s after its last signal", c.Name, e.GetActivityTaskScheduledEventAttributes().GetActivityId())
			case enumspb.EVENT_TYPE_TIMER_FIRED:
				fired = true
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
				settled = fired
			}
		}
		if settled {
			return
		}
		if time.Now().After(c.deadline) {
			c.fatalf("timed out waiting for a timer to fire after the last signal")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (c *caseRun) history() []*historypb.HistoryEvent {
	ctx, cancel := context.WithDeadline(context.Background(), c.deadline)
	defer cancel()
	iter := shared.client.GetWorkflowHistory(ctx, c.workflowID(), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []*historypb.HistoryEvent
	for iter.HasNext() {
		e, err := iter.Next()
		require.NoError(c.t, err)
		events = append(events, e)
	}
	return events
}

func (c *caseRun) assertGroupRunning(group string) {
	c.t.Helper()
	desc, err := shared.client.DescribeWorkflowExecution(context.Background(), c.workflowID()+"/"+group, "")
	require.NoError(c.t, err, "the group runs as child workflow <run-id>/<group>")
	assert.Equal(c.t, workflows.GroupWorkflowName, desc.WorkflowExecutionInfo.Type.Name)
	assert.Equal(c.t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, desc.WorkflowExecutionInfo.Status)
	assert.Equal(c.t, c.workflowID(), desc.WorkflowExecutionInfo.ParentExecution.GetWorkflowId())
}

// waitGroupClosed waits until the group's child workflow has closed.
func (c *caseRun) waitGroupClosed(group string) {
	c.t.Helper()
	c.WaitFor("the child workflow of group "+group+" has closed", func(*workflows.Status) bool {
		d, err := shared.client.DescribeWorkflowExecution(context.Background(), c.workflowID()+"/"+group, "")
		return err == nil && d.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	})
}
