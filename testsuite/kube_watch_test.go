package testsuite

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/velaflow/velaflow/activities/kube"
	"github.com/velaflow/velaflow/runs"
	"github.com/velaflow/velaflow/translator"
	"github.com/velaflow/velaflow/worker"
	"github.com/velaflow/velaflow/workflows"
)

// wakeWorker is a worker of the bed whose waiting steps back off for a
// fixed, long time, with or without the watch that wakes them.
func (b *kubeBed) wakeWorker(t testing.TB, watch bool, backoff time.Duration) string {
	t.Helper()
	queue := fmt.Sprintf("velaflow-wake-%t-%d", watch, time.Now().UnixNano())
	reg, err := kube.NewRegistry(kube.Options{Kubeconfig: b.clusters["shanghai"].Kubeconfig, SecretNamespace: "-"})
	require.NoError(t, err)
	cfg := harnessEngine()
	cfg.WaitBackoffInitial, cfg.WaitBackoffMax = backoff, backoff
	w := worker.New(shared.client, worker.Options{TaskQueue: queue, Engine: cfg, Clusters: reg, NoWatch: !watch})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	return queue
}

// wakeLatency runs a step that waits for a ConfigMap to say ready, turns
// it ready once the step sleeps between executions, and returns how long
// the run took to finish after that.
func (b *kubeBed) wakeLatency(t testing.TB, queue, name string) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cs, err := kubernetes.NewForConfig(b.clusters["shanghai"].RESTConfig())
	require.NoError(t, err)
	cms := cs.CoreV1().ConfigMaps("default")
	_ = cms.Delete(ctx, name, metav1.DeleteOptions{})
	_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"ready": "false"}}, metav1.CreateOptions{})
	require.NoError(t, err)

	dir := t.TempDir()
	file := dir + "/run.yaml"
	require.NoError(t, os.WriteFile(file, []byte(fmt.Sprintf(`
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata: {name: %s}
spec:
  workflowSpec:
    steps:
      - {name: wait, type: wait-configmap, properties: {name: %s}}
`, name, name)), 0o644))
	plans, err := translator.Translate(translator.Options{Files: []string{file}, DefinitionPaths: []string{"testdata/kube"}})
	require.NoError(t, err)
	rc := runs.New(shared.client, queue)
	run, err := rc.Start(ctx, plans[0])
	require.NoError(t, err)
	for {
		obj, err := rc.Status(ctx, "default", name)
		require.NoError(t, err)
		if s := obj.Status.Steps[0]; s.Reason == workflows.ReasonWait {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	waitHistory(t, ctx, shared.client, "default/"+name, "the step sleeps on its backoff timer", sleepsOnTimer)
	cm, err := cms.Get(ctx, name, metav1.GetOptions{})
	require.NoError(t, err)
	cm.Data["ready"] = "true"
	flipped := time.Now()
	_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
	require.NoError(t, err)
	final, err := runs.FinalStatus(ctx, run)
	require.NoError(t, err)
	took := time.Since(flipped)
	require.Equal(t, workflows.RunSucceeded, final.Phase)
	return took
}

// A waiting step wakes when the object it read changes: with a backoff of
// a minute, the run still finishes right after the ConfigMap turns ready.
func TestKubeWatchWakesAWaitingStep(t *testing.T) {
	b := theKubeBed(t)
	queue := b.wakeWorker(t, true, time.Minute)
	took := b.wakeLatency(t, queue, "wake-watch")
	require.Less(t, took, 30*time.Second, "the watch woke the step; its timer would have waited a minute")
	t.Logf("noticed %s after the ConfigMap turned ready", took)
}
