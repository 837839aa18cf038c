package testsuite

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/velaflow/velaflow/runs"
	"github.com/velaflow/velaflow/workflows"
)

// scheduleRuns lists the runs a schedule started, newest first.
func scheduleRuns(t *testing.T, ns, name string) []runs.Summary {
	t.Helper()
	out, errOut, code := shared.velaflow(t, "list", "-n", ns, "--schedule", name, "-o", "json")
	require.Equal(t, 0, code, errOut)
	var list []runs.Summary
	require.NoError(t, json.Unmarshal([]byte(out), &list), out)
	return list
}

func describeSchedule(t *testing.T, ns, name string) runs.ScheduleSummary {
	t.Helper()
	out, errOut, code := shared.velaflow(t, "schedule", "describe", name, "-n", ns, "-o", "json")
	require.Equal(t, 0, code, errOut)
	var s runs.ScheduleSummary
	require.NoError(t, json.Unmarshal([]byte(out), &s), out)
	return s
}

// until polls what until it holds, for up to a minute.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

var scheduledName = regexp.MustCompile(`^nightly-\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)

// A schedule of a template run: created with a cron expression and a
// time zone, listed and described, triggered by hand; its run is named
// after the time it was due, carries the schedule in its search
// attributes (list --schedule), and runs the template with the context.
func TestScheduleOfATemplate(t *testing.T) {
	const ns = "sched-template"
	dir := templatesDir(t)
	_, errOut, code := shared.velaflow(t, "schedule", "create", "nightly", "-n", ns, "--cron", "0 2 * * *", "--timezone", "Europe/Berlin",
		"--ref", "release", "--templates", dir, "--set", "app=shop,replicas=2,tag=v9,target.region=eu-1", "--note", "the nightly release")
	require.Equal(t, 0, code, errOut)
	t.Cleanup(func() { shared.velaflow(t, "schedule", "delete", "nightly", "-n", ns) })

	// A second schedule of that name is a conflict.
	_, errOut, code = shared.velaflow(t, "schedule", "create", "nightly", "-n", ns, "--every", "1h", "--ref", "release", "--templates", dir,
		"--set", "app=shop,replicas=2,tag=v9,target.region=eu-1")
	assert.Equal(t, 4, code, errOut)
	// Invalid input creates nothing.
	_, errOut, code = shared.velaflow(t, "schedule", "create", "broken", "-n", ns, "--every", "1h", "--ref", "nope", "--templates", dir)
	assert.Equal(t, 2, code, errOut)
	assert.Contains(t, errOut, `no Workflow "nope"`)
	_, errOut, code = shared.velaflow(t, "schedule", "create", "broken", "-n", ns, "--every", "1h", "--overlap", "sometimes", "--ref", "release", "--templates", dir)
	assert.Equal(t, 2, code, errOut)
	_, _, code = shared.velaflow(t, "schedule", "describe", "broken", "-n", ns)
	assert.Equal(t, 3, code, "nothing was created")

	out, errOut, code := shared.velaflow(t, "schedule", "list", "-n", ns)
	require.Equal(t, 0, code, errOut)
	assert.Regexp(t, `nightly\s+cron 0 2 \* \* \* \(Europe/Berlin\)\s+false`, out)
	s := describeSchedule(t, ns, "nightly")
	assert.Equal(t, "skip", s.Overlap)
	assert.Equal(t, "the nightly release", s.Note)
	require.NotEmpty(t, s.Next)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	assert.Equal(t, 2, s.Next[0].In(berlin).Hour(), "due at 2 o'clock in Berlin")

	_, errOut, code = shared.velaflow(t, "schedule", "trigger", "nightly", "-n", ns)
	require.Equal(t, 0, code, errOut)
	var started []runs.Summary
	until(t, "the triggered run succeeded", func() bool {
		started = scheduleRuns(t, ns, "nightly")
		return len(started) == 1 && started[0].Phase == workflows.RunSucceeded
	})
	assert.Regexp(t, scheduledName, started[0].Name)
	recordHistories(t, started[0].WorkflowID, "engine-five-scheduled")
	obj := shared.statusIn(t, ns, started[0].Name)
	assert.Equal(t, "release shop in "+ns+": 2 replicas of v9, region eu-1", stepOf(obj.Status, "announce").Message)

	// Paused, it says so; unpaused again.
	_, errOut, code = shared.velaflow(t, "schedule", "pause", "nightly", "-n", ns, "--note", "freeze")
	require.Equal(t, 0, code, errOut)
	s = describeSchedule(t, ns, "nightly")
	assert.True(t, s.Paused)
	assert.Equal(t, "freeze", s.Note)
	_, errOut, code = shared.velaflow(t, "schedule", "unpause", "nightly", "-n", ns)
	require.Equal(t, 0, code, errOut)
	assert.False(t, describeSchedule(t, ns, "nightly").Paused)

	_, errOut, code = shared.velaflow(t, "schedule", "delete", "nightly", "-n", ns)
	require.Equal(t, 0, code, errOut)
	_, _, code = shared.velaflow(t, "schedule", "describe", "nightly", "-n", ns)
	assert.Equal(t, 3, code)
	assert.Len(t, scheduleRuns(t, ns, "nightly"), 1, "the run it started stays")
}

// waitingRun is a run that waits for a resume.
const waitingRun = `apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata:
  name: waits
  namespace: %s
spec:
  workflowSpec:
    steps:
      - name: hold
        type: suspend
`

// The overlap policies, on a schedule due every 5 seconds whose runs wait
// for a resume: skip starts nothing while one runs; buffer-one starts
// the one it kept as soon as the running one ends; cancel-previous ends
// the running one and starts the next; allow-all runs them side by side.
func TestScheduleOverlapPolicies(t *testing.T) {
	for _, policy := range []string{"skip", "buffer-one", "cancel-previous", "allow-all"} {
		t.Run(policy, func(t *testing.T) {
			t.Parallel()
			ns := "sched-" + policy
			_, errOut, code := shared.velaflow(t, "schedule", "create", "every5", "-n", ns, "--every", "5s", "--overlap", policy,
				"-f", writeFile(t, "run.yaml", fmt.Sprintf(waitingRun, ns)))
			require.Equal(t, 0, code, errOut)
			t.Cleanup(func() { shared.velaflow(t, "schedule", "delete", "every5", "-n", ns) })
			var list []runs.Summary
			until(t, "the first run waits", func() bool {
				list = scheduleRuns(t, ns, "every5")
				if len(list) == 0 {
					return false
				}
				// A run just started may not answer its status yet.
				out, _, code := shared.velaflow(t, "status", list[len(list)-1].Name, "-n", ns, "-o", "json")
				return code == 0 && strings.Contains(out, `"suspend": true`)
			})
			first := list[len(list)-1].Name
			switch policy {
			case "skip":
				until(t, "a run due while the first runs was skipped", func() bool { return describeSchedule(t, ns, "every5").Skipped >= 1 })
				assert.Len(t, scheduleRuns(t, ns, "every5"), 1)
			case "buffer-one":
				// The second is kept; the third, due while it waits, is dropped.
				until(t, "a third run due was dropped", func() bool { return describeSchedule(t, ns, "every5").Skipped >= 1 })
				require.Len(t, scheduleRuns(t, ns, "every5"), 1, "the kept run waits for the first to end")
				_, errOut, code = shared.velaflow(t, "resume", first, "-n", ns)
				require.Equal(t, 0, code, errOut)
				until(t, "the kept run started after the first ended", func() bool { return len(scheduleRuns(t, ns, "every5")) >= 2 })
				_, errOut, code = shared.velaflow(t, "schedule", "pause", "every5", "-n", ns)
				require.Equal(t, 0, code, errOut)
				list = scheduleRuns(t, ns, "every5")
				assert.Equal(t, workflows.RunSucceeded, shared.statusIn(t, ns, first).Status.Phase)
				second := list[len(list)-2]
				require.NotNil(t, list[len(list)-1].End)
				assert.False(t, second.Start.Before(*list[len(list)-1].End), "one at a time: the second started when the first had ended")
			case "cancel-previous":
				until(t, "a second run started", func() bool { return len(scheduleRuns(t, ns, "every5")) >= 2 })
				assert.Equal(t, workflows.RunTerminated, shared.statusIn(t, ns, first).Status.Phase, "the first was cancelled")
			case "allow-all":
				until(t, "two runs wait side by side", func() bool {
					list = scheduleRuns(t, ns, "every5")
					running := 0
					for _, r := range list {
						if r.End == nil {
							running++
						}
					}
					return running >= 2
				})
			}
			_, _, _ = shared.velaflow(t, "schedule", "delete", "every5", "-n", ns)
			for _, r := range scheduleRuns(t, ns, "every5") {
				if r.End == nil {
					shared.velaflow(t, "terminate", r.Name, "-n", ns)
				}
			}
		})
	}
}
