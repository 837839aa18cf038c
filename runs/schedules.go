package runs

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/velaflow/velaflow/translator"
	"github.com/velaflow/velaflow/workflows"
)

// Schedule is when a run is started again and again, on Temporal's
// Schedules: they survive restarts and show in the Web UI.
type Schedule struct {
	Name, Namespace string
	// Cron are cron expressions ("0 2 * * *"); Every are fixed intervals.
	Cron  []string
	Every []time.Duration
	// TimeZone is an IANA name ("Europe/Berlin"); empty is UTC.
	TimeZone string
	// Overlap is what happens when a run is due while the last still runs:
	// one of OverlapPolicies.
	Overlap string
	// CatchupWindow is how late a missed run (the server was down) may
	// still start; zero is Temporal's default, a year.
	CatchupWindow time.Duration
	Paused        bool
	Note          string
}

// OverlapPolicies name Temporal's overlap policies as the CLI takes them.
var OverlapPolicies = map[string]enumspb.ScheduleOverlapPolicy{
	"skip":               enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
	"buffer-one":         enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE,
	"buffer-all":         enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL,
	"cancel-previous":    enumspb.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER,
	"terminate-previous": enumspb.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER,
	"allow-all":          enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL,
}

// OverlapNames lists OverlapPolicies' names.
func OverlapNames() []string {
	var out []string
	for k := range OverlapPolicies {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func overlapName(p enumspb.ScheduleOverlapPolicy) string {
	for k, v := range OverlapPolicies {
		if v == p {
			return k
		}
	}
	return "skip" // unspecified is Temporal's default
}

// ScheduleID is the Temporal schedule ID of a velaflow schedule; each run
// it starts has the workflow ID "<ns>/<name>-<time it fired>", and
// carries this ID in the TemporalScheduledById search attribute.
func ScheduleID(namespace, name string) string { return namespace + "/" + name }

// ErrScheduleExists is CreateSchedule's answer for a name in use.
var ErrScheduleExists = errors.New("already exists")

// CreateSchedule creates a schedule of the planned run. The plan, with
// its definitions, is fixed now: create the schedule again to change it.
func (c *Client) CreateSchedule(ctx context.Context, s Schedule, plan *translator.Plan) error {
	overlap, ok := OverlapPolicies[s.Overlap]
	if s.Overlap != "" && !ok {
		return fmt.Errorf("overlap policy %q: want one of %s", s.Overlap, strings.Join(OverlapNames(), ", "))
	}
	spec := client.ScheduleSpec{CronExpressions: s.Cron, TimeZoneName: s.TimeZone}
	for _, d := range s.Every {
		spec.Intervals = append(spec.Intervals, client.ScheduleIntervalSpec{Every: d})
	}
	p := *plan
	p.Name, p.Namespace = s.Name, s.Namespace
	id := ScheduleID(s.Namespace, s.Name)
	_, err := c.Temporal.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:            id,
		Spec:          spec,
		Overlap:       overlap,
		CatchupWindow: s.CatchupWindow,
		Paused:        s.Paused,
		Note:          s.Note,
		Action: &client.ScheduleWorkflowAction{
			ID:        p.ID(),
			Workflow:  workflows.WorkflowName,
			Args:      []any{workflows.RunInput{Plan: p, RecordEngine: true, NameFromID: true}},
			TaskQueue: c.TaskQueue,
			TypedSearchAttributes: temporal.NewSearchAttributes(
				workflows.AttrName.ValueSet(p.Name),
				workflows.AttrNamespace.ValueSet(p.Namespace),
				workflows.AttrPhase.ValueSet(workflows.RunExecuting),
			),
			StaticSummary: fmt.Sprintf("WorkflowRun %s/%s, started by schedule %s", p.Namespace, p.Name, id),
			StaticDetails: staticDetails(&p),
		},
		// The server turns cron expressions into calendars and keeps no
		// text: the memo keeps them as they were written.
		Memo: map[string]any{"source": plan.Source, memoCron: s.Cron},
	})
	if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return fmt.Errorf("schedule %s %w (velaflow schedule delete %s -n %s, then create it again)", id, ErrScheduleExists, s.Name, s.Namespace)
	}
	var exists *serviceerror.AlreadyExists
	if errors.As(err, &exists) {
		return fmt.Errorf("schedule %s %w", id, ErrScheduleExists)
	}
	return err
}

const memoCron = "cron"

// cronOf is the schedule's cron expressions as written, if its memo has
// them.
func (c *Client) cronOf(memo *commonpb.Memo) ([]string, bool) {
	p, ok := memo.GetFields()[memoCron]
	if !ok {
		return nil, false
	}
	var cron []string
	return cron, c.converter().FromPayload(p, &cron) == nil
}

// ScheduleSummary is a schedule as `schedule list` and `describe` show it.
type ScheduleSummary struct {
	Name          string      `json:"name"`
	Namespace     string      `json:"namespace"`
	Cron          []string    `json:"cron,omitempty"`
	Every         []string    `json:"every,omitempty"`
	TimeZone      string      `json:"timeZone,omitempty"`
	Overlap       string      `json:"overlap"`
	CatchupWindow string      `json:"catchupWindow,omitempty"`
	Paused        bool        `json:"paused"`
	Note          string      `json:"note,omitempty"`
	Next          []time.Time `json:"next,omitempty"`
	Recent        []Fired     `json:"recent,omitempty"`
	Running       []string    `json:"running,omitempty"`
	Actions       int         `json:"actions"`
	Skipped       int         `json:"skippedOverlap"`
	Missed        int         `json:"missedCatchupWindow"`
}

// Fired is one run a schedule started.
type Fired struct {
	Scheduled time.Time `json:"scheduled"`
	Started   time.Time `json:"started"`
	Run       string    `json:"run"`
}

// ListSchedules lists the schedules of a namespace ("": all).
func (c *Client) ListSchedules(ctx context.Context, namespace string) ([]ScheduleSummary, error) {
	it, err := c.Temporal.ScheduleClient().List(ctx, client.ScheduleListOptions{PageSize: 100})
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	var out []ScheduleSummary
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("list schedules: %w", err)
		}
		ns, name, ok := strings.Cut(e.ID, "/")
		if !ok || (namespace != "" && ns != namespace) || e.WorkflowType.Name != workflows.WorkflowName {
			continue
		}
		s := ScheduleSummary{Name: name, Namespace: ns, Paused: e.Paused, Note: e.Note, Next: e.NextActionTimes}
		s.Cron, s.Every, s.TimeZone = specStrings(e.Spec)
		if cron, ok := c.cronOf(e.Memo); ok {
			s.Cron = cron
		}
		for _, a := range e.RecentActions {
			s.Recent = append(s.Recent, fired(ns, a))
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Namespace+"/"+out[i].Name < out[j].Namespace+"/"+out[j].Name
	})
	return out, nil
}

// DescribeSchedule reads one schedule.
func (c *Client) DescribeSchedule(ctx context.Context, namespace, name string) (*ScheduleSummary, error) {
	d, err := c.Temporal.ScheduleClient().GetHandle(ctx, ScheduleID(namespace, name)).Describe(ctx)
	if err != nil {
		return nil, c.scheduleErr(err, namespace, name)
	}
	s := &ScheduleSummary{Name: name, Namespace: namespace, Next: d.Info.NextActionTimes,
		Actions: d.Info.NumActions, Skipped: d.Info.NumActionsSkippedOverlap, Missed: d.Info.NumActionsMissedCatchupWindow}
	s.Cron, s.Every, s.TimeZone = specStrings(d.Schedule.Spec)
	if cron, ok := c.cronOf(d.Memo); ok {
		s.Cron = cron
	}
	if pol := d.Schedule.Policy; pol != nil {
		s.Overlap = overlapName(pol.Overlap)
		s.CatchupWindow = pol.CatchupWindow.String()
	}
	if st := d.Schedule.State; st != nil {
		s.Paused, s.Note = st.Paused, st.Note
	}
	for _, a := range d.Info.RecentActions {
		s.Recent = append(s.Recent, fired(namespace, a))
	}
	for _, w := range d.Info.RunningWorkflows {
		s.Running = append(s.Running, strings.TrimPrefix(w.WorkflowID, namespace+"/"))
	}
	return s, nil
}

func specStrings(spec *client.ScheduleSpec) (cron, every []string, tz string) {
	if spec == nil {
		return nil, nil, ""
	}
	// The server turns cron expressions into calendars; it keeps no text.
	for _, cal := range spec.Calendars {
		cron = append(cron, calendarString(cal))
	}
	cron = append(cron, spec.CronExpressions...)
	for _, iv := range spec.Intervals {
		every = append(every, iv.Every.String())
	}
	return cron, every, spec.TimeZoneName
}

func calendarString(c client.ScheduleCalendarSpec) string {
	rng := func(rs []client.ScheduleRange, lo, hi int) string {
		if len(rs) == 1 && rs[0].Start == lo && rs[0].End == hi && rs[0].Step <= 1 {
			return "*"
		}
		var parts []string
		for _, r := range rs {
			p := fmt.Sprint(r.Start)
			if r.End > r.Start {
				p += fmt.Sprintf("-%d", r.End)
			}
			if r.Step > 1 {
				p += fmt.Sprintf("/%d", r.Step)
			}
			parts = append(parts, p)
		}
		if len(parts) == 0 {
			return "*"
		}
		return strings.Join(parts, ",")
	}
	return strings.Join([]string{rng(c.Minute, 0, 59), rng(c.Hour, 0, 23), rng(c.DayOfMonth, 1, 31), rng(c.Month, 1, 12), rng(c.DayOfWeek, 0, 6)}, " ")
}

func fired(namespace string, a client.ScheduleActionResult) Fired {
	f := Fired{Scheduled: a.ScheduleTime, Started: a.ActualTime}
	if a.StartWorkflowResult != nil {
		f.Run = strings.TrimPrefix(a.StartWorkflowResult.WorkflowID, namespace+"/")
	}
	return f
}

// TriggerSchedule starts the schedule's run now, under its overlap policy.
func (c *Client) TriggerSchedule(ctx context.Context, namespace, name string) error {
	h := c.Temporal.ScheduleClient().GetHandle(ctx, ScheduleID(namespace, name))
	return c.scheduleErr(h.Trigger(ctx, client.ScheduleTriggerOptions{}), namespace, name)
}

// PauseSchedule pauses (or, with pause false, unpauses) a schedule.
func (c *Client) PauseSchedule(ctx context.Context, namespace, name string, pause bool, note string) error {
	h := c.Temporal.ScheduleClient().GetHandle(ctx, ScheduleID(namespace, name))
	var err error
	if pause {
		err = h.Pause(ctx, client.SchedulePauseOptions{Note: note})
	} else {
		err = h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: note})
	}
	return c.scheduleErr(err, namespace, name)
}

// DeleteSchedule deletes a schedule; the runs it started are left alone.
func (c *Client) DeleteSchedule(ctx context.Context, namespace, name string) error {
	h := c.Temporal.ScheduleClient().GetHandle(ctx, ScheduleID(namespace, name))
	return c.scheduleErr(h.Delete(ctx), namespace, name)
}

func (c *Client) scheduleErr(err error, namespace, name string) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return noRun("no schedule %s in namespace %s", name, namespace)
	}
	if err != nil {
		return fmt.Errorf("schedule %s/%s: %w", namespace, name, err)
	}
	return nil
}
