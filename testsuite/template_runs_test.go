package testsuite

import (
	"context"
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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/velaflow/velaflow/deploy/crds"
	"github.com/velaflow/velaflow/workflows"
)

// A template and a step type that reads the run's context, typed: the
// step fails unless replicas is a number and tag a string.
const releaseTemplate = `apiVersion: core.oam.dev/v1alpha1
kind: Workflow
metadata:
  name: release
steps:
  - name: announce
    type: announce-release
`

const announceDefinition = `import "vela/builtin"

"announce-release": {
	type:        "workflow-step"
	description: "Say what is released."
}
template: {
	parameter: {}
	replicas: int & context.replicas
	tag:      string & context.tag
	say: builtin.#Message & {$params: message: "release \(context.app) in \(context.namespace): \(replicas) replicas of \(tag), region \(context.target.region)"}
}
`

func templatesDir(t *testing.T) string {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "release.yaml"), []byte(releaseTemplate), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "announce-release.cue"), []byte(announceDefinition), 0o644))
	return dir
}

var startedName = regexp.MustCompile(`started run (\S+) `)

// run --ref starts a run of a stored template with its context from
// --context-file, --set (typed) and --set-string; a generated name is
// printed; bad flags and unknown templates start nothing.
func TestRunATemplateWithParameters(t *testing.T) {
	dir := templatesDir(t)
	ctxFile := writeFile(t, "ctx.yaml", "target: {region: eu-1}\nreplicas: 1\n")
	out, errOut, code := shared.velaflow(t, "run", "--ref", "release", "--templates", dir, "-n", "team-a",
		"--context-file", ctxFile, "--set", "app=shop", "--set", "replicas=3", "--set-string", "tag=123", "--wait")
	require.Equal(t, 0, code, "%s\n%s", out, errOut)
	m := startedName.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	assert.Regexp(t, `^release-[a-z0-9]{5}$`, m[1], "a generated name: the template's and five characters")
	obj := shared.statusIn(t, "team-a", m[1])
	require.Equal(t, workflows.RunSucceeded, obj.Status.Phase)
	assert.Equal(t, "release shop in team-a: 3 replicas of 123, region eu-1", stepOf(obj.Status, "announce").Message)

	// Two runs with the same prefix get two names.
	out2, errOut, code := shared.velaflow(t, "run", "--ref", "release", "--templates", dir, "-n", "team-a", "--generate-name", "nightly-",
		"--set", "app=shop,replicas=2,tag=x", "--set", "target.region=us-2")
	require.Equal(t, 0, code, errOut)
	out3, errOut, code := shared.velaflow(t, "run", "--ref", "release", "--templates", dir, "-n", "team-a", "--generate-name", "nightly-",
		"--set", "app=shop,replicas=2,tag=x", "--set", "target.region=us-2")
	require.Equal(t, 0, code, errOut)
	n2, n3 := startedName.FindStringSubmatch(out2), startedName.FindStringSubmatch(out3)
	require.NotNil(t, n2, out2)
	require.NotNil(t, n3, out3)
	assert.NotEqual(t, n2[1], n3[1])
	assert.Regexp(t, `^nightly-[a-z0-9]{5}$`, n2[1])

	// --set-string replicas=3 makes the string "3", which the step refuses.
	_, errOut, code = shared.velaflow(t, "run", "--ref", "release", "--templates", dir, "--name", "as-string",
		"--set", "app=shop", "--set-string", "replicas=3", "--set-string", "tag=1", "--set", "target.region=x", "--wait")
	assert.Equal(t, 1, code, errOut)
	assert.Contains(t, shared.status(t, "as-string").Status.Steps[0].Message, "replicas")

	// Bad input starts nothing and exits 2.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--ref", "nope", "--templates", dir, "--name", "x1"}, `no Workflow "nope"`},
		{[]string{"--ref", "release", "--templates", dir, "--set", "app"}, "--set app"},
		{[]string{"--ref", "release", "--templates", dir, "--context-file", "/nonexistent.yaml"}, "--context-file"},
		{[]string{"--ref", "release", "-f", "x.yaml"}, "-f and --ref do not go together"},
		{[]string{}, "give -f FILE"},
	} {
		_, errOut, code := shared.velaflow(t, append([]string{"run"}, c.args...)...)
		assert.Equal(t, 2, code, "%v: %s", c.args, errOut)
		assert.Contains(t, errOut, c.want, "%v", c.args)
	}
	_, _, code = shared.velaflow(t, "status", "x1")
	assert.Equal(t, 3, code, "the invalid run was not started")
}

// A worker given --templates hands them to run --ref: no --templates on
// the command line.
func TestWorkerServesItsTemplates(t *testing.T) {
	dir := templatesDir(t)
	const queue = "velaflow-templates"
	w := exec.Command(shared.cli, "--address", shared.address, "--task-queue", queue, "worker", "--templates", dir, "--metrics-listen", "")
	w.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, w.Start())
	t.Cleanup(func() { _ = syscall.Kill(-w.Process.Pid, syscall.SIGTERM); _ = w.Wait() })

	out, errOut, code, err := runCLI(deadlineIn(2), shared.address, queue, "run", "--ref", "release", "--name", "from-worker",
		"--set", "app=shop,replicas=1,tag=v1,target.region=ap-3", "--wait")
	require.NoError(t, err)
	require.Equal(t, 0, code, "%s\n%s", out, errOut)
	assert.Contains(t, out, "release shop in default: 1 replicas of v1, region ap-3")
}

// In Kubernetes mode templates are Workflow objects: run --ref finds the
// Workflow (and the step definition it uses) in the workers' default
// cluster, in the run's namespace.
func TestRunATemplateFromTheCluster(t *testing.T) {
	const ns = "tpl-kube"
	b := theKubeBed(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err := crds.Install(ctx, b.dyn(t, "shanghai"))
	require.NoError(t, err)
	b.ksNamespace(t, ns, "shanghai")
	docs, err := os.ReadFile(filepath.Join("histories", "engine-five-scheduled.yaml"))
	require.NoError(t, err)
	for _, doc := range strings.Split(string(docs), "\n---\n") {
		var obj unstructured.Unstructured
		require.NoError(t, yaml.Unmarshal([]byte(doc), &obj.Object))
		obj.SetNamespace(ns)
		gv, _ := schema.ParseGroupVersion(obj.GetAPIVersion())
		resource := map[string]string{"Workflow": "workflows", "WorkflowStepDefinition": "workflowstepdefinitions"}[obj.GetKind()]
		_, err := b.dyn(t, "shanghai").Resource(gv.WithResource(resource)).Namespace(ns).Create(ctx, &obj, metav1.CreateOptions{})
		require.NoError(t, err, obj.GetKind())
	}
	out, errOut, code := b.velaflow(t, "run", "--ref", "release", "-n", ns, "--name", "from-cluster",
		"--set", "app=shop,replicas=4,tag=v2,target.region=cn-1", "--wait")
	require.Equal(t, 0, code, "%s\n%s", out, errOut)
	assert.Contains(t, out, "release shop in tpl-kube: 4 replicas of v2, region cn-1")
	_, errOut, code = b.velaflow(t, "run", "--ref", "release", "-n", "default", "--name", "elsewhere", "--set", "app=x")
	assert.Equal(t, 2, code, "the template is tpl-kube's only")
	assert.Contains(t, errOut, `no Workflow "release" in namespace "default"`)
}
