package testsuite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/velaflow/velaflow/runs"
	"github.com/velaflow/velaflow/workflows"
)

// The conformance suite runs WorkflowRuns through the CLI against the
// shared dev server and compares each final status with the one
// VELA-COMPAT.md and docs/semantics.md call for. The cases are data, under
// testdata/conformance/cases/<feature>/: <case>.yaml is the run's spec
// (from `spec:` on; the suite adds apiVersion, kind and metadata.name) and
// <case>.want.yaml what the case does and expects (conformance_spec_test.go
// lists every field). Both are text/templates: {{.Name}} is the run's
// name, {{.URL}} the base URL of the case's fake service
// (conformance_service_test.go). The step types a case may use are the
// built-ins and those in conformanceDefs. Adding a case adds two files.

// conformanceDefs holds the user step types of the cases (vela def form).
const conformanceDefs = "testdata/conformance/defs"

// conformanceCases is where the cases are.
const conformanceCases = "testdata/conformance/cases"

// defaultCaseTimeout bounds one case, from start to final status.
const defaultCaseTimeout = 40 * time.Second

func TestConformance(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(conformanceCases, "*", "*.want.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no cases under %s", conformanceCases)
	for _, wantFile := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(wantFile, conformanceCases+"/"), ".want.yaml")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			runCase(t, name, strings.TrimSuffix(wantFile, ".want.yaml")+".yaml", wantFile)
		})
	}
}

// caseRun is one case in progress.
type caseRun struct {
	t *testing.T
	// Name is the run's name; URL is the base URL of Svc.
	Name, URL string
	Svc       *service
	// File is the WorkflowRun file that was started.
	File     string
	timeout  time.Duration
	deadline time.Time
	// marks are the times of the case's `mark` actions.
	marks map[string]time.Time
}

func runCase(t *testing.T, name, runFile, wantFile string) {
	svc := newService(t)
	c := &caseRun{t: t, Name: runName(name), Svc: svc, URL: svc.URL, marks: map[string]time.Time{}}
	spec := c.readSpec(wantFile)
	c.timeout = defaultCaseTimeout
	if spec.Timeout != "" {
		d, err := time.ParseDuration(spec.Timeout)
		require.NoError(t, err, "%s: timeout", wantFile)
		c.timeout = d
	}
	c.deadline = time.Now().Add(c.timeout)
	for _, a := range spec.Setup {
		c.act(a)
	}
	runSpec, err := os.ReadFile(runFile)
	require.NoError(t, err, "each case has its run beside its .want.yaml")
	c.File = writeFile(t, "run.yaml", c.render("apiVersion: core.oam.dev/v1alpha1\nkind: WorkflowRun\nmetadata:\n  name: {{.Name}}\n"+string(runSpec)))
	args := []string{"run", "-f", c.File, "--definitions", conformanceDefs}
	for _, d := range spec.Defs {
		args = append(args, "--definitions", d)
	}
	c.Must(append(args, spec.RunArgs...)...)
	for _, a := range spec.During {
		c.act(a)
	}
	final := c.WaitFinished()
	// Logged, so a failing comparison or check shows the whole status.
	t.Logf("final status:\n%s", statusJSON(final))
	c.checkFinal(final, spec.Want)
}

// readSpec reads a case's .want.yaml, rendered, refusing unknown fields.
func (c *caseRun) readSpec(file string) caseSpec {
	data, err := os.ReadFile(file)
	require.NoError(c.t, err)
	var spec caseSpec
	require.NoError(c.t, yaml.UnmarshalStrict([]byte(c.render(string(data))), &spec), file)
	return spec
}

var nonName = regexp.MustCompile(`[^a-z0-9]+`)

func runName(caseName string) string {
	return "conf-" + strings.Trim(nonName.ReplaceAllString(strings.ToLower(caseName), "-"), "-")
}

func (c *caseRun) render(text string) string {
	tmpl := template.Must(template.New(c.Name).Option("missingkey=error").Parse(text))
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
