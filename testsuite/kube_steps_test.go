package testsuite

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/velaflow/velaflow/localstack/kubestack"
	"github.com/velaflow/velaflow/runs"
	"github.com/velaflow/velaflow/workflows"
)

// The built-in Kubernetes step types against the bed's real apiservers.
// There is no controller: each test plays it, waiting for the object a
// step made, checking it, and writing the status the controller would.

// ksTimeout bounds every wait of these tests; nothing should come close.
const ksTimeout = 60 * time.Second

// ksRun is a run started through the CLI (`velaflow run --wait`), so its
// YAML is validated as a user's would be.
type ksRun struct {
	b         *kubeBed
	ns, name  string
	done      chan ksExit
	startedAt time.Time
}

type ksExit struct {
	code   int
	stderr string
}

func (b *kubeBed) ksStart(t *testing.T, ns, name, yaml string) *ksRun {
	t.Helper()
	f := writeFile(t, name+".yaml", yaml)
	r := &ksRun{b: b, ns: ns, name: name, done: make(chan ksExit, 1), startedAt: time.Now()}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, shared.cli, "--address", shared.address, "--task-queue", b.taskQueue, "run", "-f", f, "--wait")
		var errb bytes.Buffer
		cmd.Stderr = &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			code, errb = -1, *bytes.NewBufferString(err.Error())
		}
		r.done <- ksExit{code: code, stderr: errb.String()}
	}()
	return r
}

// end waits for the run to finish and returns its final status.
func (r *ksRun) end(t *testing.T) *workflows.Status {
	t.Helper()
	select {
	case e := <-r.done:
		require.Contains(t, []int{0, 1}, e.code, "velaflow run %s: %s", r.name, e.stderr)
	case <-time.After(ksTimeout):
		t.Fatalf("run %s/%s did not finish within %s; status: %s", r.ns, r.name, ksTimeout, r.describe(t))
	}
	st := r.status(t)
	require.True(t, st.Finished, "%+v", st)
	return st
}

func (r *ksRun) status(t *testing.T) *workflows.Status {
	t.Helper()
	st, err := r.tryStatus()
	require.NoError(t, err, "status of %s/%s", r.ns, r.name)
	return st
}

// finished tells whether the run has ended; a run the CLI has not
// started yet (a loaded machine) has not.
func (r *ksRun) finished() bool {
	st, err := r.tryStatus()
	return err == nil && st.Finished
}

// tryStatus is the run's status, or why there is none (yet: the CLI
// starts the run in the background).
func (r *ksRun) tryStatus() (*workflows.Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	obj, err := runs.New(shared.client, r.b.taskQueue).Status(ctx, r.ns, r.name)
	if err != nil {
		return nil, err
	}
	return obj.Status, nil
}

func (r *ksRun) describe(t *testing.T) string {
	b, _ := json.MarshalIndent(r.status(t), "", "  ")
	return string(b)
}

// executedSince returns once the step has finished an execution after
// since (the watch wakes it when an object it read changes) and waits
// still; its status then reflects what that execution read.
func (r *ksRun) executedSince(t *testing.T, step string, since time.Time) workflows.StepStatus {
	t.Helper()
	var last workflows.StepStatus
	ksEventually(t, fmt.Sprintf("step %s of %s executes again", step, r.name), func() (bool, string) {
		st, err := r.tryStatus()
		if err != nil {
			return false, err.Error()
		}
		last = stepOf(st, step)
		return last.LastExecuteTime != nil && last.LastExecuteTime.After(since), fmt.Sprintf("%+v", last)
	})
	return last
}

// waiting returns once step waits (running/Wait) with a message holding
// each of want.
func (r *ksRun) waiting(t *testing.T, step string, want ...string) workflows.StepStatus {
	t.Helper()
	var last workflows.StepStatus
	ksEventually(t, fmt.Sprintf("step %s of %s waits with %q", step, r.name, want), func() (bool, string) {
		st, err := r.tryStatus()
		if err != nil {
			return false, err.Error()
		}
		last = stepOf(st, step)
		if last.Phase != workflows.StepRunning || last.Reason != workflows.ReasonWait {
			return false, fmt.Sprintf("%+v", last)
		}
		for _, w := range want {
			if !strings.Contains(last.Message, w) {
				return false, fmt.Sprintf("%+v", last)
			}
		}
		return true, ""
	})
	return last
}

// ksEventually polls cond until it holds; on timeout it fails with the
// last explanation cond gave.
func ksEventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(ksTimeout)
	for {
		done, why := cond()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s; last: %s", what, why)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *kubeBed) ksClient(t *testing.T, cluster string) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(b.clusters[cluster].RESTConfig())
	require.NoError(t, err)
	return cs
}

// ksNamespace makes a namespace in the clusters (nothing else would).
func (b *kubeBed) ksNamespace(t *testing.T, ns string, clusters ...string) {
	t.Helper()
	for _, c := range clusters {
		_, err := b.ksClient(t, c).CoreV1().Namespaces().Create(context.Background(),
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		if !apierrors.IsAlreadyExists(err) {
			require.NoError(t, err, "namespace %s in %s", ns, c)
		}
	}
}

// get waits until the object exists and returns it; it stops early when
// the run ended meanwhile.
func (r *ksRun) get(t *testing.T, cluster string, gvr schema.GroupVersionResource, ns, name string) *unstructured.Unstructured {
	t.Helper()
	var got *unstructured.Unstructured
	r.poll(t, fmt.Sprintf("%s %s/%s exists in %s", gvr.Resource, ns, name, cluster), func() (bool, string) {
		u, err := r.b.dyn(t, cluster).Resource(gvr).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		got = u
		return true, ""
	})
	return got
}

// find waits until exactly one object carries the labels and returns it.
func (r *ksRun) find(t *testing.T, cluster string, gvr schema.GroupVersionResource, ns, selector string) *unstructured.Unstructured {
	t.Helper()
	var got *unstructured.Unstructured
	r.poll(t, fmt.Sprintf("one %s with %s in %s/%s", gvr.Resource, selector, cluster, ns), func() (bool, string) {
		l, err := r.b.dyn(t, cluster).Resource(gvr).Namespace(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return false, err.Error()
		}
		if len(l.Items) != 1 {
			return false, fmt.Sprintf("%d found", len(l.Items))
		}
		got = &l.Items[0]
		return true, ""
	})
	return got
}

// poll is ksEventually that gives up as soon as the run has finished.
func (r *ksRun) poll(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	n := 0
	ksEventually(t, what, func() (bool, string) {
		done, why := cond()
		if n++; !done && n%10 == 0 && r.finished() {
			t.Fatalf("run %s/%s ended before %s (%s): %s", r.ns, r.name, what, why, r.describe(t))
		}
		return done, why
	})
}

// ksPatchStatus merges status into the object's status subresource, as its
// controller would.
func (b *kubeBed) ksPatchStatus(t *testing.T, cluster string, gvr schema.GroupVersionResource, ns, name string, status map[string]any) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"status": status})
	require.NoError(t, err)
	_, err = b.dyn(t, cluster).Resource(gvr).Namespace(ns).Patch(context.Background(), name, types.MergePatchType, body, metav1.PatchOptions{}, "status")
	require.NoError(t, err, "status of %s %s/%s", gvr.Resource, ns, name)
}

func ksNotFound(t *testing.T, b *kubeBed, cluster string, gvr schema.GroupVersionResource, ns, name string) {
	t.Helper()
	_, err := b.dyn(t, cluster).Resource(gvr).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "%s %s/%s in %s: want NotFound, got %v", gvr.Resource, ns, name, cluster, err)
}

func ksNested(t *testing.T, u *unstructured.Unstructured, fields ...string) any {
	t.Helper()
	v, found, err := unstructured.NestedFieldCopy(u.Object, fields...)
	require.NoError(t, err)
	require.True(t, found, "%s has no %s", u.GetName(), strings.Join(fields, "."))
	return v
}

var (
	ksJobs        = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}
	ksPods        = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	ksApps        = schema.GroupVersionResource{Group: "core.oam.dev", Version: "v1beta1", Resource: "applications"}
	ksTFConfigs   = schema.GroupVersionResource{Group: "terraform.core.oam.dev", Version: "v1beta2", Resource: "configurations"}
	ksTFProviders = schema.GroupVersionResource{Group: "terraform.core.oam.dev", Version: "v1beta1", Resource: "providers"}
	ksCRDsOnce    sync.Once
	ksCRDsErr     error
	ksRunTemplate = "apiVersion: core.oam.dev/v1alpha1\nkind: WorkflowRun\nmetadata: {name: %s, namespace: %s}\nspec:\n  workflowSpec:\n    steps:\n%s"
)

// ksCRDs are minimal CRDs of the Terraform controller (Configuration,
// Provider) and of KubeVela (Application): status subresource, any field.
const ksCRDs = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: configurations.terraform.core.oam.dev}
spec:
  group: terraform.core.oam.dev
  scope: Namespaced
  names: {kind: Configuration, listKind: ConfigurationList, plural: configurations, singular: configuration}
  versions:
    - name: v1beta2
      served: true
      storage: true
      subresources: {status: {}}
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: providers.terraform.core.oam.dev}
spec:
  group: terraform.core.oam.dev
  scope: Namespaced
  names: {kind: Provider, listKind: ProviderList, plural: providers, singular: provider}
  versions:
    - name: v1beta1
      served: true
      storage: true
      subresources: {status: {}}
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: applications.core.oam.dev}
spec:
  group: core.oam.dev
  scope: Namespaced
  names: {kind: Application, listKind: ApplicationList, plural: applications, singular: application, shortNames: [app]}
  versions:
    - name: v1beta1
      served: true
      storage: true
      subresources: {status: {}}
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`

func (b *kubeBed) ksInstallCRDs(t *testing.T) {
	t.Helper()
	ksCRDsOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		ksCRDsErr = kubestack.InstallCRDs(ctx, b.clusters["shanghai"].RESTConfig(), []byte(ksCRDs))
	})
	require.NoError(t, ksCRDsErr)
}

// ksSteps builds a WorkflowRun from step lines (YAML list items).
func ksSteps(name, ns string, steps ...string) string {
	var sb strings.Builder
	for _, s := range steps {
		sb.WriteString("      " + strings.TrimSpace(s) + "\n")
	}
	return fmt.Sprintf(ksRunTemplate, name, ns, sb.String())
}

// apply-object to the default cluster and to us-west, read-object of what
// was applied (its output is output.$returns.value), and
// of a missing object (not an error: output.$returns.err says why).
func TestKubeStepApplyAndReadObject(t *testing.T) {
	t.Parallel()
	b := theKubeBed(t)
	const ns = "ks-object"
	b.ksNamespace(t, ns, "shanghai", "us-west")
	r := b.ksStart(t, ns, "ks-object", ksSteps("ks-object", ns,
		`- name: far
        type: apply-object
        properties:
          cluster: us-west
          value: {apiVersion: v1, kind: ConfigMap, metadata: {name: far, namespace: ks-object}, data: {where: us-west}}
        outputs: [{name: farUID, valueFrom: apply.$returns.value.metadata.uid}]`,
		`- name: near
        type: apply-object
        properties:
          value: {apiVersion: v1, kind: ConfigMap, metadata: {name: near, namespace: ks-object}, data: {where: shanghai}}`,
		`- name: read-far
        type: read-object
        properties: {apiVersion: v1, kind: ConfigMap, name: far, namespace: ks-object, cluster: us-west}
        outputs:
          - {name: data, valueFrom: output.$returns.value.data}
          - {name: uid, valueFrom: output.$returns.value.metadata.uid}
          - {name: labels, valueFrom: output.$returns.value.metadata.labels}`,
		`- name: read-missing
        type: read-object
        properties: {apiVersion: v1, kind: ConfigMap, name: no-such-map, namespace: ks-object, cluster: local}
        outputs: [{name: err, valueFrom: output.$returns.err}]`,
	))
	st := r.end(t)
	require.Equal(t, workflows.RunSucceeded, st.Phase, r.describe(t))

	far := stepOf(st, "read-far").Outputs
	assert.Equal(t, map[string]any{"where": "us-west"}, far["data"])
	assert.Equal(t, stepOf(st, "far").Outputs["farUID"], far["uid"], "read-object reads what apply-object applied")
	assert.Equal(t, map[string]any{"workflowrun.oam.dev/name": "ks-object", "workflowrun.oam.dev/namespace": ns}, far["labels"])
	missing := stepOf(st, "read-missing")
	assert.Contains(t, missing.Outputs["err"], "not found")
	assert.Contains(t, missing.Message, "not found")

	ctx := context.Background()
	_, err := b.ksClient(t, "shanghai").CoreV1().ConfigMaps(ns).Get(ctx, "far", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "far went to us-west only: %v", err)
	near, err := b.ksClient(t, "shanghai").CoreV1().ConfigMaps(ns).Get(ctx, "near", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "shanghai", near.Data["where"])
}

// apply-deployment in the default cluster and in us-west: the Deployment
// the step makes, the wait (ready replicas short of replicas, a status of
// an older generation), success once ready; a bad parameter is refused
// before anything starts.
func TestKubeStepApplyDeployment(t *testing.T) {
	t.Parallel()
	b := theKubeBed(t)
	const ns = "ks-deploy"
	b.ksNamespace(t, ns, "shanghai", "us-west")

	for _, c := range []struct{ run, step, cluster, other string }{
		{"ks-deploy-near", "web", "", "us-west"},
		{"ks-deploy-far", "api", "us-west", "shanghai"},
	} {
		t.Run(c.run, func(t *testing.T) {
			t.Parallel()
			cluster := c.cluster
			if cluster == "" {
				cluster = "shanghai"
			}
			r := b.ksStart(t, ns, c.run, ksSteps(c.run, ns, fmt.Sprintf(
				`- {name: %s, type: apply-deployment, properties: {image: "nginx:1.27", replicas: 2, cmd: [nginx, -g, "daemon off;"], cluster: %q}}`,
				c.step, c.cluster)))
			deps := b.ksClient(t, cluster).AppsV1().Deployments(ns)
			var dep *appsv1.Deployment
			ksEventually(t, "the Deployment exists", func() (bool, string) {
				var err error
				dep, err = deps.Get(context.Background(), c.step, metav1.GetOptions{})
				return err == nil, fmt.Sprint(err)
			})
			assert.EqualValues(t, 2, *dep.Spec.Replicas)
			sel := map[string]string{"workflow.oam.dev/step-name": c.run + "-" + c.step}
			assert.Equal(t, sel, dep.Spec.Selector.MatchLabels)
			assert.Equal(t, sel, dep.Spec.Template.Labels)
			require.Len(t, dep.Spec.Template.Spec.Containers, 1)
			ctr := dep.Spec.Template.Spec.Containers[0]
			assert.Equal(t, c.step, ctr.Name)
			assert.Equal(t, "nginx:1.27", ctr.Image)
			assert.Equal(t, []string{"nginx", "-g", "daemon off;"}, ctr.Command)
			assert.Equal(t, c.run, dep.Labels["workflowrun.oam.dev/name"])
			_, err := b.ksClient(t, c.other).AppsV1().Deployments(ns).Get(context.Background(), c.step, metav1.GetOptions{})
			assert.True(t, apierrors.IsNotFound(err), "only in %s: %v", cluster, err)

			r.waiting(t, c.step, "0 of 2 replicas ready")
			setStatus := func(observed int64, ready int32) {
				d, err := deps.Get(context.Background(), c.step, metav1.GetOptions{})
				require.NoError(t, err)
				d.Status = appsv1.DeploymentStatus{ObservedGeneration: observed, Replicas: 2, UpdatedReplicas: ready, ReadyReplicas: ready, AvailableReplicas: ready}
				_, err = deps.UpdateStatus(context.Background(), d, metav1.UpdateOptions{})
				require.NoError(t, err)
			}
			setStatus(dep.Generation, 1)
			r.waiting(t, c.step, "1 of 2 replicas ready")
			// Someone else changes the pod template: a new generation the
			// controller has not seen yet.
			bumped, err := deps.Patch(context.Background(), c.step, types.MergePatchType,
				[]byte(`{"spec":{"template":{"metadata":{"annotations":{"example.com/restartedAt":"now"}}}}}`), metav1.PatchOptions{FieldManager: "kubectl"})
			require.NoError(t, err)
			require.Greater(t, bumped.Generation, dep.Generation)
			changed := time.Now()
			setStatus(dep.Generation, 2) // ready, but for the older spec
			assert.Equal(t, workflows.StepRunning, r.executedSince(t, c.step, changed).Phase, "a status of an older generation does not count")
			setStatus(bumped.Generation, 2)
			st := r.end(t)
			require.Equal(t, workflows.RunSucceeded, st.Phase, r.describe(t))
			assert.Equal(t, workflows.StepSucceeded, stepOf(st, c.step).Phase)
		})
	}

	t.Run("bad parameters", func(t *testing.T) {
		t.Parallel()
		f := writeFile(t, "bad.yaml", ksSteps("ks-deploy-bad", ns,
			`- {name: bad-web, type: apply-deployment, properties: {image: nginx, replicas: "3"}}`,
			`- {name: bad-api, type: apply-deployment, properties: {image: "", replicas: -1}}`))
		_, errOut, code := b.velaflow(t, "run", "-f", f, "--wait")
		assert.Equal(t, 2, code, errOut)
		assert.Contains(t, errOut, "steps[0].properties.replicas")
		assert.Contains(t, errOut, "steps[1].properties.replicas")
		assert.Contains(t, errOut, "steps[1].properties.image")
		_, err := b.ksClient(t, "shanghai").AppsV1().Deployments(ns).Get(context.Background(), "bad-web", metav1.GetOptions{})
		assert.True(t, apierrors.IsNotFound(err), "nothing started: %v", err)
	})
}

// ksJobStatus is what the Job controller writes when a Job ends.
func ksJobStatus(job *batchv1.Job, succeeded bool) batchv1.JobStatus {
	now := metav1.Now()
	start := metav1.NewTime(now.Add(-time.Second))
	st := batchv1.JobStatus{StartTime: &start, UncountedTerminatedPods: &batchv1.UncountedTerminatedPods{}, Ready: new(int32), Terminating: new(int32)}
	cond := func(typ batchv1.JobConditionType, reason, msg string) batchv1.JobCondition {
		return batchv1.JobCondition{Type: typ, Status: corev1.ConditionTrue, Reason: reason, Message: msg, LastProbeTime: now, LastTransitionTime: now}
	}
	if succeeded {
		st.Succeeded, st.CompletionTime = 1, &now
		st.Conditions = []batchv1.JobCondition{
			cond(batchv1.JobSuccessCriteriaMet, "CompletionsReached", "Reached expected number of succeeded pods"),
			cond(batchv1.JobComplete, "CompletionsReached", "Reached expected number of succeeded pods"),
		}
		return st
	}
	st.Failed = *job.Spec.BackoffLimit + 1
	st.Conditions = []batchv1.JobCondition{
		cond(batchv1.JobFailureTarget, "BackoffLimitExceeded", "Job has reached the specified backoff limit"),
		cond(batchv1.JobFailed, "BackoffLimitExceeded", "Job has reached the specified backoff limit"),
	}
	return st
}

// ksFinishJob writes the final status of a Job, as the Job controller would.
func (b *kubeBed) ksFinishJob(t *testing.T, cluster, ns, name string, succeeded bool) {
	t.Helper()
	jobs := b.ksClient(t, cluster).BatchV1().Jobs(ns)
	job, err := jobs.Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(t, err)
	job.Status = ksJobStatus(job, succeeded)
	_, err = jobs.UpdateStatus(context.Background(), job, metav1.UpdateOptions{})
	require.NoError(t, err)
}

// apply-job: the Job as given (in us-west for one), the wait while it
// runs, success when it completed, and a final failure (reason Action,
// the Job's reason in the message) when it failed, without hanging.
func TestKubeStepApplyJob(t *testing.T) {
	t.Parallel()
	b := theKubeBed(t)
	const ns = "ks-job"
	b.ksNamespace(t, ns, "shanghai", "us-west")
	for _, c := range []struct {
		run, cluster string
		succeed      bool
	}{
		{"ks-job-ok", "us-west", true},
		{"ks-job-fail", "shanghai", false},
	} {
		t.Run(c.run, func(t *testing.T) {
			t.Parallel()
			r := b.ksStart(t, ns, c.run, ksSteps(c.run, ns, fmt.Sprintf(`- name: migrate
        type: apply-job
        properties:
          cluster: %s
          value:
            apiVersion: batch/v1
            kind: Job
            metadata: {name: %s-migrate, namespace: %s}
            spec:
              backoffLimit: 1
              template:
                spec:
                  restartPolicy: Never
                  containers: [{name: migrate, image: "busybox:1.36", command: [sh, -c, "echo migrating"]}]`, c.cluster, c.run, ns),
				`- {name: after, type: print-message-in-status, properties: {message: done}}`))
			jobName := c.run + "-migrate"
			job := r.get(t, c.cluster, ksJobs, ns, jobName)
			assert.Equal(t, c.run, job.GetLabels()["workflowrun.oam.dev/name"])
			assert.Equal(t, []any{"sh", "-c", "echo migrating"}, ksNested(t, job, "spec", "template", "spec", "containers").([]any)[0].(map[string]any)["command"])
			r.waiting(t, "migrate", "Waiting for Job "+ns+"/"+jobName, "active 0, succeeded 0, failed 0")

			finished := time.Now()
			b.ksFinishJob(t, c.cluster, ns, jobName, c.succeed)
			st := r.end(t)
			assert.Less(t, time.Since(finished), 20*time.Second, "the step noticed the end at once")
			step := stepOf(st, "migrate")
			if c.succeed {
				require.Equal(t, workflows.RunSucceeded, st.Phase, r.describe(t))
				assert.Equal(t, workflows.StepSucceeded, step.Phase)
				return
			}
			require.Equal(t, workflows.RunFailed, st.Phase, r.describe(t))
			assert.Equal(t, workflows.StepFailed, step.Phase)
			assert.Equal(t, workflows.ReasonAction, step.Reason)
			assert.Contains(t, step.Message, "Job "+ns+"/"+jobName+" failed: BackoffLimitExceeded: Job has reached the specified backoff limit")
			assert.Equal(t, workflows.StepSkipped, stepOf(st, "after").Phase)
		})
	}
}

// export2config and export2secret (generic in us-west, docker-registry),
// with the data format each writes.
func TestKubeStepExport2ConfigAndSecret(t *testing.T) {
	t.Parallel()
	b := theKubeBed(t)
	const ns = "ks-export"
	b.ksNamespace(t, ns, "shanghai", "us-west")
	r := b.ksStart(t, ns, "ks-export", ksSteps("ks-export", ns,
		`- {name: config, type: export2config, properties: {configName: build-info, data: {image: "reg/app:1", replicas: 3, ports: [80, 443]}}}`,
		`- {name: generic, type: export2secret, properties: {secretName: db, namespace: ks-export, cluster: us-west, data: {password: s3cret, port: 5432}}}`,
		`- {name: registry, type: export2secret, properties: {secretName: regcred, kind: docker-registry, dockerRegistry: {username: bot, password: "p@ss", server: "registry.example.com"}}}`,
	))
	st := r.end(t)
	require.Equal(t, workflows.RunSucceeded, st.Phase, r.describe(t))
	ctx := context.Background()

	cm, err := b.ksClient(t, "shanghai").CoreV1().ConfigMaps(ns).Get(ctx, "build-info", metav1.GetOptions{})
	require.NoError(t, err, "in the run's namespace")
	assert.Equal(t, map[string]string{"image": "reg/app:1", "replicas": "3", "ports": "[80,443]"}, cm.Data)

	db, err := b.ksClient(t, "us-west").CoreV1().Secrets(ns).Get(ctx, "db", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, corev1.SecretTypeOpaque, db.Type)
	assert.Equal(t, map[string][]byte{"password": []byte("s3cret"), "port": []byte("5432")}, db.Data)
	_, err = b.ksClient(t, "shanghai").CoreV1().Secrets(ns).Get(ctx, "db", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "db went to us-west only: %v", err)

	reg, err := b.ksClient(t, "shanghai").CoreV1().Secrets(ns).Get(ctx, "regcred", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, corev1.SecretTypeDockerConfigJson, reg.Type)
	var cfg map[string]any
	require.NoError(t, json.Unmarshal(reg.Data[corev1.DockerConfigJsonKey], &cfg), string(reg.Data[corev1.DockerConfigJsonKey]))
	assert.Equal(t, map[string]any{"auths": map[string]any{"registry.example.com": map[string]any{
		"username": "bot", "password": "p@ss", "auth": base64.StdEncoding.EncodeToString([]byte("bot:p@ss")),
	}}}, cfg)
}

// clean-jobs by a label selector in a namespace, then by default (the Jobs
// of this run, in the run's namespace): the Jobs go, with the Pods the Job
// controller made for them and the Pods carrying the selector; nothing
// else is touched.
func TestKubeStepCleanJobs(t *testing.T) {
	t.Parallel()
	b := theKubeBed(t)
	const ns, run = "ks-clean", "ks-clean"
	b.ksNamespace(t, ns, "shanghai")
	cs := b.ksClient(t, "shanghai")
	ctx := context.Background()
	mkJob := func(name string, labels map[string]string) {
		_, err := cs.BatchV1().Jobs(ns).Create(ctx, &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
			Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{{Name: "c", Image: "busybox"}},
			}}},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	mkPod := func(name string, labels map[string]string) {
		_, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
			Spec:       corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	batch := map[string]string{"app": "ks-batch"}
	mkJob("batch-a", batch)
	mkPod("batch-a-x1", map[string]string{"job-name": "batch-a"}) // made by the Job controller
	mkPod("batch-a-x2", map[string]string{"job-name": "batch-a"})
	mkPod("batch-direct", batch) // carries the selector itself
	mkJob("batch-b", batch)
	mkPod("batch-b-x1", map[string]string{"job-name": "batch-b"})
	mkJob("mine", map[string]string{"workflowrun.oam.dev/name": run})
	mkPod("mine-x1", map[string]string{"job-name": "mine"})
	mkJob("keep", map[string]string{"app": "other"})
	mkPod("keep-x1", map[string]string{"job-name": "keep"})
	mkPod("bystander", map[string]string{"app": "other"})

	r := b.ksStart(t, ns, run, ksSteps(run, ns,
		`- {name: by-label, type: clean-jobs, properties: {labelselector: {app: ks-batch}, namespace: ks-clean}}`,
		`- {name: by-run, type: clean-jobs}`,
	))
	st := r.end(t)
	require.Equal(t, workflows.RunSucceeded, st.Phase, r.describe(t))

	for _, name := range []string{"batch-a", "batch-b", "mine"} {
		j, err := cs.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
		// Without a garbage collector, a Job deleted with the API's default
		// (orphan) policy keeps its finalizer: it is deleted, not yet gone.
		if !apierrors.IsNotFound(err) {
			require.NoError(t, err)
			assert.NotNil(t, j.DeletionTimestamp, "Job %s is deleted", name)
			assert.Equal(t, []string{metav1.FinalizerOrphanDependents}, j.Finalizers, "only the garbage collector's part is left")
		}
	}
	for _, name := range []string{"batch-a-x1", "batch-a-x2", "batch-direct", "batch-b-x1", "mine-x1"} {
		ksNotFound(t, b, "shanghai", ksPods, ns, name)
	}
	for _, name := range []string{"keep"} {
		j, err := cs.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		assert.Nil(t, j.DeletionTimestamp, name)
	}
	for _, name := range []string{"keep-x1", "bystander"} {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		assert.Nil(t, p.DeletionTimestamp, name)
	}
}

// build-push-image: the kaniko Pod (git context, registry credentials,
// build args), the wait while it runs, success when it Succeeded, and a
// final failure, naming the exit code, when it Failed (KubeVela waits
// forever there).
func TestKubeStepBuildPushImage(t *testing.T) {
	t.Parallel()
	b := theKubeBed(t)
	const ns = "ks-build"
	b.ksNamespace(t, ns, "shanghai")
	for _, c := range []struct {
		run     string
		succeed bool
	}{{"ks-build-ok", true}, {"ks-build-fail", false}} {
		t.Run(c.run, func(t *testing.T) {
			t.Parallel()
			r := b.ksStart(t, ns, c.run, ksSteps(c.run, ns, `- name: build
        type: build-push-image
        properties:
          context: {git: "github.com/acme/app", branch: main}
          image: registry.example.com/acme/app:v1
          buildArgs: ["VERSION=v1"]
          credentials:
            image: {name: regcred}
            git: {name: git-token, key: token}`))
			pod := r.find(t, "shanghai", ksPods, ns, "workflow.oam.dev/step-name="+c.run+"-build")
			assert.True(t, strings.HasPrefix(pod.GetName(), c.run+"-build-"), pod.GetName())
			assert.True(t, strings.HasSuffix(pod.GetName(), "-kaniko"), pod.GetName())
			assert.Equal(t, "Never", ksNested(t, pod, "spec", "restartPolicy"))
			ctr := ksNested(t, pod, "spec", "containers").([]any)[0].(map[string]any)
			assert.Equal(t, "oamdev/kaniko-executor:v1.9.1", ctr["image"])
			assert.Equal(t, []any{"--dockerfile=./Dockerfile", "--context=git://github.com/acme/app#refs/heads/main",
				"--destination=registry.example.com/acme/app:v1", "--verbosity=info", "--build-arg=VERSION=v1"}, ctr["args"])
			assert.Equal(t, []any{map[string]any{"name": "GIT_TOKEN", "valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": "git-token", "key": "token"}}}}, ctr["env"])
			vol := ksNested(t, pod, "spec", "volumes").([]any)[0].(map[string]any)
			assert.Equal(t, "regcred", vol["secret"].(map[string]any)["secretName"])
			assert.Equal(t, []any{map[string]any{"key": ".dockerconfigjson", "path": "config.json"}}, vol["secret"].(map[string]any)["items"])

			r.waiting(t, "build", "Building registry.example.com/acme/app:v1", "is Pending")
			pods := b.ksClient(t, "shanghai").CoreV1().Pods(ns)
			p, err := pods.Get(context.Background(), pod.GetName(), metav1.GetOptions{})
			require.NoError(t, err)
			now := metav1.Now()
			p.Status.Phase = corev1.PodRunning
			p.Status.StartTime = &now
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "kaniko", Image: "oamdev/kaniko-executor:v1.9.1",
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}}}
			p, err = pods.UpdateStatus(context.Background(), p, metav1.UpdateOptions{})
			require.NoError(t, err)
			r.waiting(t, "build", "is Running")

			term := &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", StartedAt: now, FinishedAt: metav1.Now()}
			p.Status.Phase = corev1.PodSucceeded
			if !c.succeed {
				term.ExitCode, term.Reason, term.Message = 1, "Error", "error building image: failed to get files"
				p.Status.Phase = corev1.PodFailed
			}
			p.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: term}
			finished := time.Now()
			_, err = pods.UpdateStatus(context.Background(), p, metav1.UpdateOptions{})
			require.NoError(t, err)
			st := r.end(t)
			assert.Less(t, time.Since(finished), 20*time.Second, "the step noticed the end at once")
			step := stepOf(st, "build")
			if c.succeed {
				require.Equal(t, workflows.RunSucceeded, st.Phase, r.describe(t))
				return
			}
			require.Equal(t, workflows.RunFailed, st.Phase, r.describe(t))
			assert.Equal(t, workflows.ReasonAction, step.Reason)
			assert.Contains(t, step.Message, "build of registry.example.com/acme/app:v1 failed")
			assert.Contains(t, step.Message, "(exit code 1, Error: error building image: failed to get files)")
		})
	}
}

// apply-terraform-provider then apply-terraform-config: the Provider and
// its credentials Secret, the Configuration, each waiting until the
// Terraform controller (the test) reports it ready / Available.
func TestKubeStepTerraform(t *testing.T) {
	t.Parallel()
	b := theKubeBed(t)
	b.ksInstallCRDs(t)
	const ns, run = "ks-terraform", "ks-terraform"
	b.ksNamespace(t, ns, "shanghai")
	r := b.ksStart(t, ns, run, ksSteps(run, ns,
		`- {name: provider, type: apply-terraform-provider, properties: {type: aws, name: aws-ks, accessKey: AKID, secretKey: SECRET, region: us-east-1}}`,
		`- name: bucket
        type: apply-terraform-config
        properties:
          source: {hcl: "resource \"aws_s3_bucket\" \"b\" { bucket = var.name }"}
          variable: {name: ks-bucket}
          providerRef: {name: aws-ks}
          writeConnectionSecretToRef: {name: bucket-conn}
        outputs: [{name: outputs, valueFrom: configuration.status.apply.outputs}]`,
	))

	prov := r.get(t, "shanghai", ksTFProviders, ns, "aws-ks")
	assert.Equal(t, map[string]any{
		"provider": "aws", "region": "us-east-1",
		"credentials": map[string]any{"source": "Secret", "secretRef": map[string]any{"name": "aws-ks-account-creds", "namespace": ns, "key": "credentials"}},
	}, prov.Object["spec"])
	sec, err := b.ksClient(t, "shanghai").CoreV1().Secrets(ns).Get(context.Background(), "aws-ks-account-creds", metav1.GetOptions{})
	require.NoError(t, err)
	var creds map[string]string
	require.NoError(t, yaml.Unmarshal(sec.Data["credentials"], &creds))
	assert.Equal(t, map[string]string{"awsAccessKeyID": "AKID", "awsSecretAccessKey": "SECRET", "awsSessionToken": ""}, creds)
	r.waiting(t, "provider", "to be ready (state: not reported yet)")
	b.ksPatchStatus(t, "shanghai", ksTFProviders, ns, "aws-ks", map[string]any{"state": "ready", "message": "Provider is ready"})

	cfg := r.get(t, "shanghai", ksTFConfigs, ns, run+"-bucket")
	spec := cfg.Object["spec"].(map[string]any)
	assert.Equal(t, `resource "aws_s3_bucket" "b" { bucket = var.name }`, spec["hcl"])
	assert.Equal(t, map[string]any{"name": "ks-bucket"}, spec["variable"])
	assert.Equal(t, map[string]any{"name": "aws-ks", "namespace": ns}, spec["providerRef"])
	assert.Equal(t, map[string]any{"name": "bucket-conn", "namespace": ns}, spec["writeConnectionSecretToRef"])
	assert.Equal(t, true, spec["deleteResource"])
	assert.Equal(t, false, spec["forceDelete"])
	assert.NotContains(t, spec, "remote")
	r.waiting(t, "bucket", "Available (state: not reported yet)")
	b.ksPatchStatus(t, "shanghai", ksTFConfigs, ns, run+"-bucket", map[string]any{"apply": map[string]any{"state": "ProvisioningAndChecking", "message": "Cloud resources are being provisioned"}})
	r.waiting(t, "bucket", "state: ProvisioningAndChecking: Cloud resources are being provisioned")
	b.ksPatchStatus(t, "shanghai", ksTFConfigs, ns, run+"-bucket", map[string]any{"apply": map[string]any{
		"state": "Available", "message": "Cloud resources are deployed and ready to use",
		"outputs": map[string]any{"arn": map[string]any{"type": "string", "value": "arn:aws:s3:::ks-bucket"}},
	}})
	st := r.end(t)
	require.Equal(t, workflows.RunSucceeded, st.Phase, r.describe(t))
	assert.Equal(t, map[string]any{"arn": map[string]any{"type": "string", "value": "arn:aws:s3:::ks-bucket"}}, stepOf(st, "bucket").Outputs["outputs"])
}

// apply-app from data and from a ConfigMap ref, each waiting until the
// Application is running (a status of an older generation does not
// count), read-app of the result, and apply-app failing at once on a
// missing ConfigMap or key, and without data or ref or with both.
func TestKubeStepApplyAndReadApp(t *testing.T) {
	t.Parallel()
	b := theKubeBed(t)
	b.ksInstallCRDs(t)
	const ns, run = "ks-apps", "ks-apps"
	b.ksNamespace(t, ns, "shanghai")
	second := `apiVersion: core.oam.dev/v1beta1
kind: Application
metadata: {name: second, namespace: ks-apps}
spec:
  components: [{name: worker, type: worker, properties: {image: "busybox:1.36"}}]
`
	_, err := b.ksClient(t, "shanghai").CoreV1().ConfigMaps(ns).Create(context.Background(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "app-specs"}, Data: map[string]string{"second": second},
	}, metav1.CreateOptions{})
	require.NoError(t, err)

	r := b.ksStart(t, ns, run, ksSteps(run, ns,
		`- name: first
        type: apply-app
        properties:
          data:
            apiVersion: core.oam.dev/v1beta1
            kind: Application
            metadata: {name: first, namespace: ks-apps}
            spec: {components: [{name: web, type: webservice, properties: {image: "nginx:1.27"}}]}`,
		`- {name: second, type: apply-app, properties: {ref: {name: app-specs, key: second}}}`,
		`- name: read
        type: read-app
        properties: {name: first}
        outputs: [{name: phase, valueFrom: app.status.status}, {name: components, valueFrom: read.$returns.value.spec.components}]`,
		`- {name: read-missing, type: read-app, properties: {name: nope, namespace: ks-apps}}`,
	))
	missing := b.ksStart(t, ns, "ks-apps-missing", ksSteps("ks-apps-missing", ns,
		`- {name: apply, type: apply-app, properties: {ref: {name: no-such-map}}}`,
		`- {name: no-key, type: apply-app, if: always, properties: {ref: {name: app-specs, key: third}}}`,
		`- {name: neither, type: apply-app, if: always}`,
		`- {name: both, type: apply-app, if: always, properties: {ref: {name: app-specs}, data: {kind: Application}}}`))

	first := r.get(t, "shanghai", ksApps, ns, "first")
	assert.Equal(t, "nginx:1.27", ksNested(t, first, "spec", "components").([]any)[0].(map[string]any)["properties"].(map[string]any)["image"])
	r.waiting(t, "first", "Waiting for Application ks-apps/first to be running (status: not reported yet)")
	b.ksPatchStatus(t, "shanghai", ksApps, ns, "first", map[string]any{"status": "runningWorkflow", "observedGeneration": first.GetGeneration()})
	r.waiting(t, "first", "status: runningWorkflow")
	changed := time.Now()
	b.ksPatchStatus(t, "shanghai", ksApps, ns, "first", map[string]any{"status": "running", "observedGeneration": first.GetGeneration() - 1})
	assert.Equal(t, workflows.StepRunning, r.executedSince(t, "first", changed).Phase, "a status of an older generation does not count")
	b.ksPatchStatus(t, "shanghai", ksApps, ns, "first", map[string]any{"status": "running", "observedGeneration": first.GetGeneration()})

	sec := r.get(t, "shanghai", ksApps, ns, "second")
	assert.Equal(t, "busybox:1.36", ksNested(t, sec, "spec", "components").([]any)[0].(map[string]any)["properties"].(map[string]any)["image"])
	assert.Equal(t, run, sec.GetLabels()["workflowrun.oam.dev/name"])
	r.waiting(t, "second", "Waiting for Application ks-apps/second to be running")
	b.ksPatchStatus(t, "shanghai", ksApps, ns, "second", map[string]any{"status": "running", "observedGeneration": sec.GetGeneration()})

	st := r.end(t)
	require.Equal(t, workflows.RunSucceeded, st.Phase, r.describe(t))
	read := stepOf(st, "read").Outputs
	assert.Equal(t, "running", read["phase"])
	assert.Equal(t, []any{map[string]any{"name": "web", "type": "webservice", "properties": map[string]any{"image": "nginx:1.27"}}}, read["components"])
	assert.Contains(t, stepOf(st, "read-missing").Message, "Application not found")

	mst := missing.end(t)
	require.Equal(t, workflows.RunFailed, mst.Phase, missing.describe(t))
	step := stepOf(mst, "apply")
	assert.Equal(t, workflows.ReasonAction, step.Reason)
	assert.Contains(t, step.Message, "no-such-map")
	assert.Contains(t, step.Message, "not found")
	for name, msg := range map[string]string{
		"no-key":  "apply-app: ConfigMap ks-apps/app-specs has no key third",
		"neither": "apply-app: give the Application as data, or a ConfigMap as ref",
		"both":    "apply-app: give data or ref, not both",
	} {
		step := stepOf(mst, name)
		assert.Equal(t, workflows.StepFailed, step.Phase, name)
		assert.Equal(t, workflows.ReasonAction, step.Reason, name)
		assert.Equal(t, msg, step.Message, name)
	}
}

// vela-cli and addon-operation: the Job each runs (vela-system with the
// default service account, the run's namespace with another), the wait,
// success when it completed, failure (reason Action) when it failed.
func TestKubeStepVelaCLIAndAddonOperation(t *testing.T) {
	t.Parallel()
	b := theKubeBed(t)
	const ns = "ks-vela"
	b.ksNamespace(t, "vela-system", "shanghai")
	b.ksNamespace(t, ns, "shanghai")
	for _, c := range []struct {
		run, step, jobNS, waitMsg, failMsg string
		command                            []any
		succeed                            bool
	}{
		{"ks-cli-ok", `{name: cli, type: vela-cli, properties: {command: [vela, version]}}`, "vela-system",
			`Waiting for vela command "vela version"`, "", []any{"vela", "version"}, true},
		{"ks-cli-fail", `{name: cli, type: vela-cli, properties: {command: [vela, up, -f, app.yaml], serviceAccountName: deployer, image: "oamdev/vela-cli:v1.9.0"}}`, ns,
			`Waiting for vela command "vela up -f app.yaml"`, `vela command "vela up -f app.yaml" (Job ks-vela/ks-cli-fail-cli-`, []any{"vela", "up", "-f", "app.yaml"}, false},
		{"ks-addon-ok", `{name: cli, type: addon-operation, properties: {addonName: fluxcd}}`, "vela-system",
			"Waiting for vela addon enable fluxcd", "", []any{"vela", "addon", "enable", "fluxcd"}, true},
		{"ks-addon-fail", `{name: cli, type: addon-operation, properties: {addonName: fluxcd, operation: upgrade, args: ["--version=2.3.0"]}}`, "vela-system",
			"Waiting for vela addon upgrade fluxcd --version=2.3.0", "vela addon upgrade fluxcd --version=2.3.0 (Job vela-system/ks-addon-fail-cli-", []any{"vela", "addon", "upgrade", "fluxcd", "--version=2.3.0"}, false},
	} {
		t.Run(c.run, func(t *testing.T) {
			t.Parallel()
			r := b.ksStart(t, ns, c.run, ksSteps(c.run, ns, "- "+c.step))
			job := r.find(t, "shanghai", ksJobs, c.jobNS, "workflowrun.oam.dev/name="+c.run)
			assert.True(t, strings.HasPrefix(job.GetName(), c.run+"-cli-"), job.GetName())
			assert.EqualValues(t, 3, ksNested(t, job, "spec", "backoffLimit"))
			assert.Equal(t, "Never", ksNested(t, job, "spec", "template", "spec", "restartPolicy"))
			ctr := ksNested(t, job, "spec", "template", "spec", "containers").([]any)[0].(map[string]any)
			assert.Equal(t, c.command, ctr["command"])
			r.waiting(t, "cli", c.waitMsg, "active 0, succeeded 0, failed 0")

			finished := time.Now()
			b.ksFinishJob(t, "shanghai", c.jobNS, job.GetName(), c.succeed)
			st := r.end(t)
			assert.Less(t, time.Since(finished), 20*time.Second, "the step noticed the end at once")
			step := stepOf(st, "cli")
			if c.succeed {
				require.Equal(t, workflows.RunSucceeded, st.Phase, r.describe(t))
				return
			}
			require.Equal(t, workflows.RunFailed, st.Phase, r.describe(t))
			assert.Equal(t, workflows.ReasonAction, step.Reason)
			assert.Contains(t, step.Message, c.failMsg)
			assert.Contains(t, step.Message, "failed: BackoffLimitExceeded")
		})
	}
}
