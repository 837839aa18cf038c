package testsuite

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	buildsvc "github.com/velaflow/velaflow/examples/build-service/service"
	"github.com/velaflow/velaflow/runs"
	"github.com/velaflow/velaflow/workflows"
)

// TestPrewarmAcrossTwoRegions runs the shipped example examples/prewarm
// against the build service (in-process) and the two clusters of the test
// bed, on a worker of its own that runs as a separate process. The test
// plays OpenKruise: once the ImagePullJobs exist in shanghai and us-west it
// SIGKILLs the worker while the group waits, starts another, and only then
// reports both jobs Ready. The run must finish on the new worker: the image
// built once, its cache template logged, both jobs deleted once Ready.
func TestPrewarmAcrossTwoRegions(t *testing.T) {
	began := time.Now()
	b := theKubeBed(t)
	svc := buildsvc.New(buildsvc.Options{BuildTime: time.Second, Logger: quietLog})
	httpSrv := httptest.NewServer(svc)
	defer httpSrv.Close()

	p := newPrewarm(t, b)
	p.startWorker()
	name := p.start(httpSrv.URL)
	t.Logf("%s: run %s started on task queue %s", since(began), name, p.queue)

	// 1. The build is done and both regions pull: the jobs exist, each with
	// the built image and the run's label, and the group waits on them, as
	// the run's status shows (the child reports its sub-steps to the run).
	st := p.eventually(name, "the build succeeded", func(st *workflows.Status) bool {
		return stepOf(st, "build").Phase == workflows.StepSucceeded
	})
	image, _ := stepOf(st, "build").Outputs["image"].(string)
	require.Equal(t, "registry.local/shop:b1", image, "build outputs: %v", stepOf(st, "build").Outputs)
	group := p.eventually(name, "both sub-steps wait for their ImagePullJob", func(st *workflows.Status) bool {
		return subStepWaiting(st, "prewarm-shanghai") && subStepWaiting(st, "prewarm-us-west")
	})
	for _, cluster := range []string{"shanghai", "us-west"} {
		job := prewarmJob(t, b, name, cluster)
		require.NotNil(t, job, "ImagePullJob %s-%s in cluster %s", name, cluster, cluster)
		gotImage, _, _ := unstructured.NestedString(job.Object, "spec", "image")
		assert.Equal(t, image, gotImage, "spec.image in %s", cluster)
		assert.Equal(t, name, job.GetLabels()["workflowrun.oam.dev/name"], "label in %s", cluster)
		assert.Equal(t, "default", job.GetNamespace())
	}
	assert.Equal(t, "ImagePullJob "+name+"-shanghai in cluster shanghai is Pending", findSub(group, "prewarm-shanghai").Message)
	t.Logf("%s: both ImagePullJobs exist and wait; killing the worker", since(began))

	// 2. SIGKILL the worker while the group waits; start another one.
	p.kill()
	restarted := time.Now()
	p.startWorker()
	t.Logf("%s: worker restarted", since(began))

	// The new worker executes the waiting sub-steps again (on their durable
	// timers); not Ready, the jobs stay.
	p.eventuallyGroup(name, "prewarm", "the new worker executed both sub-steps", func(st *workflows.Status) bool {
		for _, s := range []string{"prewarm-shanghai", "prewarm-us-west"} {
			sub := findSub(st, s)
			if !subStepWaiting(st, s) || sub.LastExecuteTime == nil || !sub.LastExecuteTime.After(restarted) {
				return false
			}
		}
		return true
	})
	for _, cluster := range []string{"shanghai", "us-west"} {
		require.NotNil(t, prewarmJob(t, b, name, cluster), "the job in %s is not deleted before it is Ready", cluster)
	}
	t.Logf("%s: the new worker executed both sub-steps; the jobs turn Ready", since(began))

	// 3. The operator reports both jobs Ready; the run finishes.
	for _, cluster := range []string{"shanghai", "us-west"} {
		_, err := b.dyn(t, cluster).Resource(imagePullJobs).Namespace("default").Patch(context.Background(), name+"-"+cluster,
			types.MergePatchType, []byte(`{"status":{"phase":"Ready","desired":1,"succeeded":1}}`), metav1.PatchOptions{}, "status")
		require.NoError(t, err, "patch the job's status in %s", cluster)
	}
	ready := time.Now()
	st = p.eventually(name, "the run finished", func(st *workflows.Status) bool { return st.Finished })
	t.Logf("%s: finished %s after the jobs turned Ready", since(began), since(ready))

	assert.Equal(t, workflows.RunSucceeded, st.Phase, "%+v", st)
	for step, phase := range map[string]string{
		"build":            workflows.StepSucceeded,
		"on-build-failure": workflows.StepSkipped,
		"cache-template":   workflows.StepSucceeded,
		"prewarm":          workflows.StepSucceeded,
	} {
		s := stepOf(st, step)
		assert.Equal(t, phase, s.Phase, "step %s: %s %s", step, s.Reason, s.Message)
	}
	subs := stepOf(st, "prewarm").SubSteps
	require.Len(t, subs, 2)
	for _, s := range subs {
		assert.Equal(t, workflows.StepSucceeded, s.Phase, "sub-step %s: %s %s", s.Name, s.Reason, s.Message)
	}
	assert.Equal(t, map[string]any{"cache-template": "t1"}, stepOf(st, "cache-template").Outputs)

	// The build was started once, though `build` was executed at every poll.
	assert.Equal(t, 1, svc.Count("POST /builds"), "requests: %v", svc.Counts())
	assert.Greater(t, svc.Count("GET /builds/{id}"), 1, "build polled")
	assert.Equal(t, 1, svc.Count("POST /cache-templates"))
	assert.Equal(t, 0, svc.Count("POST /notify"), "no failure to report")

	// Both jobs were deleted once Ready.
	for _, cluster := range []string{"shanghai", "us-west"} {
		assert.Nil(t, prewarmJob(t, b, name, cluster), "the ImagePullJob in %s is deleted", cluster)
	}

	// The cache template's log, as the service wrote it, is the step's log.
	out, errOut, code := p.velaflow("logs", name, "--step", "cache-template")
	require.Equal(t, 0, code, "logs: %s", errOut)
	assert.Equal(t, buildsvc.TemplateLog(image, "t1"), out)
	t.Logf("%s: done; requests %v", since(began), svc.Counts())
}

// TestPrewarmBuildFailure: a build the service reports failed fails
// `build` (reason Action) instead of waiting forever; `on-build-failure`
// notifies, every later step (the group and its sub-steps too) is skipped,
// and the run fails. It runs on the bed's in-process worker.
func TestPrewarmBuildFailure(t *testing.T) {
	b := theKubeBed(t)
	svc := buildsvc.New(buildsvc.Options{BuildTime: 300 * time.Millisecond, FailBuilds: true, Logger: quietLog})
	httpSrv := httptest.NewServer(svc)
	defer httpSrv.Close()

	name := prewarmRunName("prewarm-fail")
	f := writeFile(t, "prewarm.yaml", prewarmYAML(t, httpSrv.URL, name))
	_, errOut, code := b.velaflow(t, "run", "-f", f, "--definitions", prewarmDefinitions(t), "--wait")
	require.Equal(t, 1, code, "velaflow run --wait exits 1 for a failed run: %s", errOut)
	st := b.finalStatus(t, name)

	assert.Equal(t, workflows.RunFailed, st.Phase)
	build := stepOf(st, "build")
	assert.Equal(t, workflows.StepFailed, build.Phase)
	assert.Equal(t, workflows.ReasonAction, build.Reason)
	assert.Equal(t, "build b1 of shop failed", build.Message)
	assert.Equal(t, workflows.StepSucceeded, stepOf(st, "on-build-failure").Phase)
	for _, s := range []string{"cache-template", "prewarm"} {
		assert.Equal(t, workflows.StepSkipped, stepOf(st, s).Phase, "step %s", s)
	}
	for _, s := range stepOf(st, "prewarm").SubSteps {
		assert.Equal(t, workflows.StepSkipped, s.Phase, "sub-step %s", s.Name)
	}

	assert.Equal(t, 1, svc.Count("POST /builds"))
	assert.Equal(t, 0, svc.Count("POST /cache-templates"))
	assert.Equal(t, []map[string]any{{"event": "build-failed", "app": "shop"}}, svc.Notifications())
	ctx := context.Background()
	for _, cluster := range []string{"shanghai", "us-west"} {
		list, err := b.dyn(t, cluster).Resource(imagePullJobs).Namespace("default").List(ctx,
			metav1.ListOptions{LabelSelector: "workflowrun.oam.dev/name=" + name})
		require.NoError(t, err)
		assert.Empty(t, list.Items, "no ImagePullJob in %s", cluster)
	}
}

// TestPrewarmWithTheExampleOperator runs the example as its README does,
// with examples/prewarm/imagepull-operator reporting the jobs Pulling and
// Ready, on the bed's in-process worker.
func TestPrewarmWithTheExampleOperator(t *testing.T) {
	b := theKubeBed(t)
	svc := buildsvc.New(buildsvc.Options{BuildTime: 200 * time.Millisecond, Logger: quietLog})
	httpSrv := httptest.NewServer(svc)
	defer httpSrv.Close()

	startImagePullOperator(t, b)

	name := prewarmRunName("prewarm-op")
	f := writeFile(t, "prewarm.yaml", prewarmYAML(t, httpSrv.URL, name))
	out2, errOut, code := b.velaflow(t, "run", "-f", f, "--definitions", prewarmDefinitions(t), "--wait")
	require.Equal(t, 0, code, "velaflow run --wait: %s %s", out2, errOut)
	st := b.finalStatus(t, name)
	assert.Equal(t, workflows.RunSucceeded, st.Phase)
	forEachStatus(st.Steps, func(s workflows.StepStatus) {
		want := workflows.StepSucceeded
		if s.Name == "on-build-failure" {
			want = workflows.StepSkipped
		}
		assert.Equal(t, want, s.Phase, "step %s: %s %s", s.Name, s.Reason, s.Message)
	})
	for _, cluster := range []string{"shanghai", "us-west"} {
		assert.Nil(t, prewarmJob(t, b, name, cluster), "the ImagePullJob in %s is deleted", cluster)
	}
}

// startImagePullOperator runs examples/prewarm/imagepull-operator on the
// bed's clusters until the test ends: it reports ImagePullJobs Pulling,
// then Ready.
func startImagePullOperator(t *testing.T, b *kubeBed) {
	t.Helper()
	root, err := repoRoot()
	require.NoError(t, err)
	dir := t.TempDir()
	bin := filepath.Join(dir, "imagepull-operator")
	build := exec.Command("go", "build", "-o", bin, "./examples/prewarm/imagepull-operator")
	build.Dir = root
	out, err := build.CombinedOutput()
	require.NoError(t, err, "build the operator: %s", out)
	clusters := filepath.Join(dir, "clusters.yaml")
	require.NoError(t, os.WriteFile(clusters, []byte(fmt.Sprintf("clusters:\n  - {name: us-west, kubeconfig: %s}\n", b.clusters["us-west"].Kubeconfig)), 0o644))
	var opLog bytes.Buffer
	op := exec.Command(bin, "--cluster", "shanghai="+b.clusters["shanghai"].Kubeconfig, "--clusters", clusters, "--pull-time", "500ms")
	op.Stdout, op.Stderr = &opLog, &opLog
	require.NoError(t, op.Start())
	t.Cleanup(func() {
		_ = op.Process.Signal(syscall.SIGTERM)
		_ = op.Wait()
		if t.Failed() {
			t.Logf("operator log:\n%s", opLog.String())
		}
	})
}

// prewarm runs the example on a worker process of its own task queue,
// which the test can SIGKILL.
type prewarm struct {
	t      *testing.T
	b      *kubeBed
	dir    string
	queue  string
	worker *exec.Cmd
	exited chan struct{}
	starts int
	run    string // the run started, for the diagnostics of a failed test
}

func newPrewarm(t *testing.T, b *kubeBed) *prewarm {
	p := &prewarm{t: t, b: b, dir: t.TempDir(), queue: fmt.Sprintf("velaflow-prewarm-%d", time.Now().UnixNano())}
	t.Cleanup(func() {
		if p.worker != nil {
			p.kill()
		}
		if t.Failed() && p.run != "" {
			p.describe("default/" + p.run)
			p.describe("default/" + p.run + "/prewarm")
		}
		if t.Failed() {
			logs, _ := filepath.Glob(filepath.Join(p.dir, "worker-*.log"))
			for _, l := range logs {
				data, _ := os.ReadFile(l)
				if len(data) > 6000 {
					data = data[len(data)-6000:]
				}
				t.Logf("--- %s (tail) ---\n%s", filepath.Base(l), data)
			}
		}
	})
	return p
}

// startWorker starts `velaflow worker` in its own process group, knowing
// shanghai (its default cluster) and us-west.
func (p *prewarm) startWorker() {
	p.t.Helper()
	clusters := filepath.Join(p.dir, "clusters.yaml")
	content := fmt.Sprintf("clusters:\n  - {name: shanghai, kubeconfig: %s}\n  - {name: us-west, kubeconfig: %s}\n",
		p.b.clusters["shanghai"].Kubeconfig, p.b.clusters["us-west"].Kubeconfig)
	require.NoError(p.t, os.WriteFile(clusters, []byte(content), 0o644))
	p.starts++
	log, err := os.Create(filepath.Join(p.dir, fmt.Sprintf("worker-%d.log", p.starts)))
	require.NoError(p.t, err)
	cmd := exec.Command(shared.cli, "--address", shared.address, "--task-queue", p.queue, "worker",
		"--kubeconfig", p.b.clusters["shanghai"].Kubeconfig, "--clusters", clusters,
		"--definitions", prewarmDefinitions(p.t), "--wait-backoff-max", "1s", "--metrics-listen", "127.0.0.1:0")
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(p.t, cmd.Start(), "start the worker")
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		log.Close()
		close(exited)
	}()
	p.worker, p.exited = cmd, exited
}

// kill SIGKILLs the worker's process group and waits until it is gone.
func (p *prewarm) kill() {
	p.t.Helper()
	select {
	case <-p.exited:
		p.t.Errorf("the worker exited before it was killed; see its log")
	default:
	}
	_ = syscall.Kill(-p.worker.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		p.t.Errorf("worker %d did not exit after SIGKILL", p.worker.Process.Pid)
	}
	p.worker = nil
}

// start starts the example run, pointed at the service and named
// uniquely, on the test's task queue; it returns the run's name.
func (p *prewarm) start(serviceURL string) string {
	p.t.Helper()
	name := prewarmRunName("prewarm")
	f := writeFile(p.t, "prewarm.yaml", prewarmYAML(p.t, serviceURL, name))
	out, errOut, code := p.velaflow("run", "-f", f, "--definitions", prewarmDefinitions(p.t))
	require.Equal(p.t, 0, code, "run: %s %s", out, errOut)
	p.run = name
	return name
}

// velaflow runs the CLI on the test's task queue.
func (p *prewarm) velaflow(args ...string) (string, string, int) {
	p.t.Helper()
	out, errOut, code, err := runCLI(time.Now().Add(30*time.Second), shared.address, p.queue, args...)
	if errors.Is(err, context.DeadlineExceeded) {
		return out, errOut + "\n(timed out)", -1
	} else if err != nil {
		p.t.Fatalf("velaflow %v: %v", args, err)
	}
	return out, errOut, code
}

// eventually polls the run's status until cond holds. Status queries fail
// for a while after the worker is killed; those are retried.
func (p *prewarm) eventually(name, what string, cond func(*workflows.Status) bool) *workflows.Status {
	p.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var last string
	for {
		out, errOut, code := p.velaflow("status", name, "-o", "json")
		if code == 0 {
			var obj runs.Object
			require.NoError(p.t, json.Unmarshal([]byte(out), &obj), out)
			if cond(obj.Status) {
				return obj.Status
			}
			last = out
		} else {
			last = fmt.Sprintf("status exit %d: %s", code, errOut)
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("run %s: timed out waiting until %s; last status:\n%s", name, what, last)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

// describe logs a workflow's state and its pending activities.
func (p *prewarm) describe(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := shared.client.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		p.t.Logf("describe %s: %v", id, err)
		return
	}
	p.t.Logf("workflow %s: %s, history length %d", id, d.WorkflowExecutionInfo.GetStatus(), d.WorkflowExecutionInfo.GetHistoryLength())
	for _, a := range d.PendingActivities {
		p.t.Logf("  pending activity %s (%s): state %s, attempt %d, last worker %q, last failure %v, last heartbeat %v",
			a.GetActivityId(), a.GetActivityType().GetName(), a.GetState(), a.GetAttempt(), a.GetLastWorkerIdentity(), a.GetLastFailure(), a.GetLastHeartbeatTime().AsTime())
	}
	if wt := d.PendingWorkflowTask; wt != nil {
		p.t.Logf("  pending workflow task: %s, attempt %d", wt.GetState(), wt.GetAttempt())
	}
	root, _ := repoRoot()
	out, err := exec.Command(filepath.Join(root, "bin", "temporal"), "workflow", "show", "--address", shared.address, "-w", id).CombinedOutput()
	if len(out) > 8000 {
		out = out[len(out)-8000:]
	}
	p.t.Logf("history of %s (err %v, tail):\n%s", id, err, out)
}

// eventuallyGroup polls the status a group's child workflow answers until
// cond holds; queries that fail (no worker yet) are retried. The run's own
// copy of its sub-steps changes only when a sub-step's phase, reason or
// message does, so for a waiting sub-step's lastExecuteTime the child is
// asked.
func (p *prewarm) eventuallyGroup(name, group, what string, cond func(*workflows.Status) bool) *workflows.Status {
	p.t.Helper()
	id := "default/" + name + "/" + group
	deadline := time.Now().Add(90 * time.Second)
	var last string
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		v, err := shared.client.QueryWorkflow(ctx, id, "", workflows.QueryStatus)
		var st workflows.Status
		if err == nil {
			err = v.Get(&st)
		}
		cancel()
		if err == nil {
			if cond(&st) {
				return &st
			}
			b, _ := json.MarshalIndent(st, "", "  ")
			last = string(b)
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("group %s: timed out waiting until %s; last status:\n%s", id, what, last)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

// prewarmJob reads a run's ImagePullJob in a cluster; nil when there is
// none.
func prewarmJob(t *testing.T, b *kubeBed, run, cluster string) *unstructured.Unstructured {
	t.Helper()
	u, err := b.dyn(t, cluster).Resource(imagePullJobs).Namespace("default").Get(context.Background(), run+"-"+cluster, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	require.NoError(t, err)
	return u
}

// quietLog keeps the build service's log out of the test output.
var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

func prewarmDefinitions(t *testing.T) string {
	t.Helper()
	root, err := repoRoot()
	require.NoError(t, err)
	return filepath.Join(root, "examples", "prewarm", "definitions")
}

var prewarmNameLine = regexp.MustCompile(`(?m)^  name: prewarm$`)

// prewarmYAML is examples/prewarm/prewarm.yaml with the build service at
// serviceURL and the run named name.
func prewarmYAML(t *testing.T, serviceURL, name string) string {
	t.Helper()
	root, err := repoRoot()
	require.NoError(t, err)
	data, err := os.ReadFile(filepath.Join(root, "examples", "prewarm", "prewarm.yaml"))
	require.NoError(t, err)
	s := string(data)
	require.Contains(t, s, "http://127.0.0.1:8090")
	require.Regexp(t, prewarmNameLine, s)
	s = strings.ReplaceAll(s, "http://127.0.0.1:8090", serviceURL)
	return prewarmNameLine.ReplaceAllString(s, "  name: "+name)
}

// prewarmRunName is unique across tests and -count repetitions; it names
// the ImagePullJobs too (<run>-<cluster>), so it stays short.
func prewarmRunName(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%1e10)
}

func subStepWaiting(st *workflows.Status, name string) bool {
	s := findSub(st, name)
	return s.Phase == workflows.StepRunning && s.Reason == workflows.ReasonWait
}

// findSub finds a step or sub-step by name.
func findSub(st *workflows.Status, name string) workflows.StepStatus {
	var found workflows.StepStatus
	forEachStatus(st.Steps, func(s workflows.StepStatus) {
		if s.Name == name {
			found = s
		}
	})
	return found
}
