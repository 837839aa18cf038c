package testsuite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/velaflow/velaflow/runs"
	"github.com/velaflow/velaflow/workflows"
)

// The conformance suite runs WorkflowRuns through the CLI against the
// shared dev server and compares each final status with the one
// VELA-COMPAT.md and docs/semantics.md call for. A case is one entry of
// conformanceCases; the step types it may use are the built-ins and those
// in conformanceDefs.
//
// To add a case: write the run's spec (a text/template: {{.Name}} is the
// run's name, {{.URL}} its fake service), the final status you expect, and,
// when the case needs it,
//   - setup, to prime the service before the run starts;
//   - during, to act while the run is going (the CLI, the service and the
//     run's name are on caseRun). during may also wait for the run to
//     finish (c.WaitFinished) and act on the finished run, e.g. restart it:
//     afterwards the suite waits for the run to finish again and compares;
//   - check, for assertions want cannot express (request counts, timing);
//   - timeout, when the case needs more than defaultCaseTimeout;
//   - runArgs, for more `velaflow run` flags.

// conformanceDefs holds the user step types of the cases (vela def form).
const conformanceDefs = "testdata/conformance/defs"

// defaultCaseTimeout bounds one case, from start to final status.
const defaultCaseTimeout = 40 * time.Second

type conformanceCase struct {
	name string
	// yaml is the WorkflowRun's spec (from `spec:` on); the suite adds
	// apiVersion, kind and metadata.name. It is a text/template over
	// caseRun: {{.Name}} and {{.URL}}.
	yaml string
	// defs are more --definitions paths, besides conformanceDefs.
	defs    []string
	runArgs []string
	setup   func(svc *service)
	during  func(t *testing.T, c *caseRun)
	want    caseWant
	check   func(t *testing.T, final *workflows.Status, svc *service)
	timeout time.Duration
}

// caseWant is the expected final status.
type caseWant struct {
	Phase string
	// Message is a substring of the run's message ("" checks nothing).
	Message string
	// Steps lists every step and sub-step by name (names are unique in a run).
	Steps map[string]stepWant
	// Outputs are the complete outputs of the steps named.
	Outputs map[string]map[string]any
}

type stepWant struct {
	Phase  string
	Reason string
	// Message is a substring of the step's message ("" checks nothing).
	Message string
}

func stepOK() stepWant { return stepWant{Phase: workflows.StepSucceeded} }
func stepSkipped(msg string) stepWant {
	return stepWant{workflows.StepSkipped, workflows.ReasonSkip, msg}
}
func stepFailed(reason, msg string) stepWant { return stepWant{workflows.StepFailed, reason, msg} }
func stepPending() stepWant                  { return stepWant{Phase: workflows.StepPending} }

func TestConformance(t *testing.T) {
	seen := map[string]bool{}
	for _, tc := range conformanceCases() {
		require.False(t, seen[tc.name], "duplicate case %s", tc.name)
		seen[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runCase(t, tc)
		})
	}
}

// caseRun is one case in progress; during hooks act through it.
type caseRun struct {
	t *testing.T
	// Name is the run's name; URL is the base URL of Svc.
	Name, URL string
	Svc       *service
	// File is the WorkflowRun file that was started.
	File     string
	timeout  time.Duration
	deadline time.Time
}

func runCase(t *testing.T, tc conformanceCase) {
	timeout := tc.timeout
	if timeout == 0 {
		timeout = defaultCaseTimeout
	}
	svc := newService(t)
	c := &caseRun{t: t, Name: runName(tc.name), Svc: svc, URL: svc.URL, timeout: timeout, deadline: time.Now().Add(timeout)}
	if tc.setup != nil {
		tc.setup(svc)
	}
	c.File = writeFile(t, "run.yaml", c.render(tc.yaml))
	args := []string{"run", "-f", c.File, "--definitions", conformanceDefs}
	for _, d := range tc.defs {
		args = append(args, "--definitions", d)
	}
	c.Must(append(args, tc.runArgs...)...)
	if tc.during != nil {
		tc.during(t, c)
	}
	final := c.WaitFinished()
	// Logged, so a failing comparison or check shows the whole status.
	t.Logf("final status:\n%s", statusJSON(final))
	compareStatus(t, final, tc.want)
	if tc.check != nil {
		tc.check(t, final, svc)
	}
}

var nonName = regexp.MustCompile(`[^a-z0-9]+`)

func runName(caseName string) string {
	return "conf-" + strings.Trim(nonName.ReplaceAllString(strings.ToLower(caseName), "-"), "-")
}

func (c *caseRun) render(spec string) string {
	tmpl := template.Must(template.New(c.Name).Option("missingkey=error").Parse(
		"apiVersion: core.oam.dev/v1alpha1\nkind: WorkflowRun\nmetadata:\n  name: {{.Name}}\n" + strings.TrimLeft(spec, "\n")))
	var b strings.Builder
	require.NoError(c.t, tmpl.Execute(&b, c))
	return b.String()
}

// CLI runs velaflow against the shared server, bounded by the case's
// deadline; it returns stdout, stderr and the exit code.
func (c *caseRun) CLI(args ...string) (string, string, int) {
	c.t.Helper()
	out, errOut, code, err := runCLI(c.deadline, shared.address, "", args...)
	if errors.Is(err, context.DeadlineExceeded) {
		c.fatalf("velaflow %s: the case's time (%s) is up", strings.Join(args, " "), c.timeout)
	} else if err != nil {
		c.t.Fatalf("velaflow %s: %v", strings.Join(args, " "), err)
	}
	return out, errOut, code
}

// Must runs velaflow and requires exit code 0; it returns stdout.
func (c *caseRun) Must(args ...string) string {
	c.t.Helper()
	out, errOut, code := c.CLI(args...)
	require.Equal(c.t, 0, code, "velaflow %s:\n%s%s", strings.Join(args, " "), out, errOut)
	return out
}

// Status reads the run's status.
func (c *caseRun) Status() *workflows.Status {
	c.t.Helper()
	st, err := c.status()
	require.NoError(c.t, err)
	return st
}

func (c *caseRun) status() (*workflows.Status, error) {
	return statusUntil(c.deadline, c.Name)
}

func statusUntil(deadline time.Time, name string) (*workflows.Status, error) {
	out, errOut, code, err := runCLI(deadline, shared.address, "", "status", name, "-o", "json")
	if err != nil {
		return nil, fmt.Errorf("velaflow status %s: %w", name, err)
	}
	if code != 0 {
		return nil, fmt.Errorf("velaflow status %s: exit %d: %s", name, code, errOut)
	}
	var obj runs.Object
	if err := json.Unmarshal([]byte(out), &obj); err != nil {
		return nil, fmt.Errorf("velaflow status %s: %w\n%s", name, err, out)
	}
	return obj.Status, nil
}

// WaitFor polls the status until cond holds, and returns that status.
func (c *caseRun) WaitFor(what string, cond func(*workflows.Status) bool) *workflows.Status {
	c.t.Helper()
	for {
		st := c.Status()
		if cond(st) {
			return st
		}
		if time.Now().Add(200 * time.Millisecond).After(c.deadline) {
			c.fatalf("timed out waiting until %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// WaitStep waits until the step (or sub-step) has the phase and reason.
func (c *caseRun) WaitStep(name, phase, reason string) *workflows.Status {
	c.t.Helper()
	return c.WaitFor(fmt.Sprintf("step %s is %s/%s", name, phase, reason), func(st *workflows.Status) bool {
		s := findStep(st, name)
		return s != nil && s.Phase == phase && s.Reason == reason
	})
}

// WaitFinished follows the run until it finished (one `status --watch`)
// and returns its final status.
func (c *caseRun) WaitFinished() *workflows.Status {
	c.t.Helper()
	c.Must("status", c.Name, "--watch")
	st := c.Status()
	if !st.Finished {
		c.fatalf("`status --watch` returned before the run finished")
	}
	return st
}

// fatalf ends the case, printing the run's current status.
func (c *caseRun) fatalf(format string, args ...any) {
	c.t.Helper()
	msg := fmt.Sprintf(format, args...)
	if st, err := statusUntil(time.Now().Add(10*time.Second), c.Name); err == nil {
		msg += "\nstatus now:\n" + statusJSON(st)
	} else {
		msg += "\n" + err.Error()
	}
	c.t.Fatalf("run %s: %s", c.Name, msg)
}

func statusJSON(st *workflows.Status) string {
	b, _ := json.MarshalIndent(st, "", "  ")
	return string(b)
}

// compareStatus compares the final status with want (runCase has logged
// the whole status).
func compareStatus(t *testing.T, st *workflows.Status, w caseWant) {
	t.Helper()
	got := caseWant{Phase: st.Phase, Message: containedOr(st.Message, w.Message), Steps: map[string]stepWant{}}
	var walk func([]workflows.StepStatus)
	walk = func(steps []workflows.StepStatus) {
		for _, s := range steps {
			got.Steps[s.Name] = stepWant{Phase: s.Phase, Reason: s.Reason, Message: containedOr(s.Message, w.Steps[s.Name].Message)}
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
	gotN, wantN := asJSONValue(t, got), asJSONValue(t, w)
	assert.Equal(t, wantN, gotN, "the final status differs from the expected one")
}

// containedOr is want when it is a substring of got, else got: a match
// compares equal, a mismatch shows the whole message.
func containedOr(got, want string) string {
	if want != "" && strings.Contains(got, want) {
		return want
	}
	if want == "" {
		return ""
	}
	return got
}

// normalize makes values compare as JSON does (numbers are float64).
func asJSONValue(t *testing.T, w caseWant) any {
	t.Helper()
	b, err := json.Marshal(w)
	require.NoError(t, err)
	var out any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

// findStep finds a step or sub-step by name.
func findStep(st *workflows.Status, name string) *workflows.StepStatus {
	var find func([]workflows.StepStatus) *workflows.StepStatus
	find = func(steps []workflows.StepStatus) *workflows.StepStatus {
		for i := range steps {
			if steps[i].Name == name {
				return &steps[i]
			}
			if s := find(steps[i].SubSteps); s != nil {
				return s
			}
		}
		return nil
	}
	return find(st.Steps)
}

// times returns a step's first and last execution times; it fails the
// test when the step never executed.
func stepTimes(t *testing.T, st *workflows.Status, name string) (first, last time.Time) {
	t.Helper()
	s := findStep(st, name)
	require.NotNil(t, s, "no step %s", name)
	require.NotNil(t, s.FirstExecuteTime, "step %s never executed", name)
	require.NotNil(t, s.LastExecuteTime, "step %s never finished an execution", name)
	return *s.FirstExecuteTime, *s.LastExecuteTime
}

// startsAfter asserts that step b started no earlier than step a ended.
func assertStartsAfter(t *testing.T, st *workflows.Status, b, a string) {
	t.Helper()
	_, aLast := stepTimes(t, st, a)
	bFirst, _ := stepTimes(t, st, b)
	assert.False(t, bFirst.Before(aLast), "step %s started at %s, before step %s ended at %s", b, bFirst, a, aLast)
}

// hits asserts the request count of each path.
func assertHits(t *testing.T, svc *service, want map[string]int) {
	t.Helper()
	got := map[string]int{}
	for path := range want {
		got[path] = svc.Hits(path)
	}
	assert.Equal(t, want, got, "requests by path; all requests in order: %v", svc.Order())
}
