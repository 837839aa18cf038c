package testsuite

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/velaflow/velaflow/workflows"
)

// A thousand WorkflowRuns created at once through the API all end
// succeeded, with their status in the objects, although the controller
// is killed with SIGKILL while it starts them: no run is lost and none
// is started twice.
func TestControllerThousandRuns(t *testing.T) {
	const n = 1000
	cb := newControllerBedRunning(t, "ctl-scale")
	cfg := cb.b.clusters["shanghai"].RESTConfig()
	cfg.QPS, cfg.Burst = 500, 1000
	dc, err := dynamic.NewForConfig(cfg)
	require.NoError(t, err)
	ri := dc.Resource(wrGVR).Namespace(cb.ns)

	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	succeeded := func(u *unstructured.Unstructured) bool {
		st := statusOf(t, u)
		return st.Phase == workflows.RunSucceeded && st.Finished && len(st.Steps) == 2 && st.Steps[1].Phase == "succeeded"
	}
	// The objects are watched from before the first is created; a watch
	// the server ends is taken up again from a list.
	done := map[string]bool{}
	var mu sync.Mutex
	progress := make(chan int, 1)
	go func() {
		rv := ""
		for ctx.Err() == nil {
			if rv == "" {
				list, err := ri.List(ctx, metav1.ListOptions{})
				if err != nil {
					continue
				}
				mu.Lock()
				for i := range list.Items {
					if succeeded(&list.Items[i]) {
						done[list.Items[i].GetName()] = true
					}
				}
				mu.Unlock()
				rv = list.GetResourceVersion()
			}
			w, err := ri.Watch(ctx, metav1.ListOptions{ResourceVersion: rv})
			if err != nil {
				rv = ""
				continue
			}
			for ev := range w.ResultChan() {
				u, ok := ev.Object.(*unstructured.Unstructured)
				if !ok || ev.Type == watch.Deleted {
					continue
				}
				rv = u.GetResourceVersion()
				if succeeded(u) {
					mu.Lock()
					done[u.GetName()] = true
					count := len(done)
					mu.Unlock()
					select {
					case progress <- count:
					default:
					}
				}
			}
			rv = "" // ended, or expired: list again
		}
	}()

	began := time.Now()
	var wg sync.WaitGroup
	names := make(chan int)
	for range 20 {
		wg.Go(func() {
			for i := range names {
				var obj map[string]any
				require.NoError(t, yaml.Unmarshal([]byte(fmt.Sprintf(scaleRun, i)), &obj))
				_, err := ri.Create(ctx, &unstructured.Unstructured{Object: obj}, metav1.CreateOptions{})
				assert.NoError(t, err)
			}
		})
	}
	for i := range n {
		names <- i
	}
	close(names)
	wg.Wait()
	created := time.Since(began)

	killed := false
	for count := 0; count < n && ctx.Err() == nil; {
		select {
		case count = <-progress:
		case <-ctx.Done():
		}
		if !killed && count >= n/4 {
			cb.kill(t)
			cb.start(t)
			killed = true
		}
	}
	require.True(t, killed, "the controller was killed mid-way")
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d of %d WorkflowRuns succeeded in their objects %s after the first was created", len(done), n, time.Since(began).Round(time.Millisecond))
	require.Len(t, done, n, "runs that ended succeeded in their objects")
	t.Logf("%d WorkflowRuns created in %s", n, created.Round(time.Millisecond))

	// One execution per object: none started twice.
	resp, err := shared.client.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
		Query: fmt.Sprintf("WorkflowType = '%s' AND %s = '%s'", workflows.WorkflowName, workflows.AttrNamespace.GetName(), cb.ns)})
	require.NoError(t, err)
	assert.Equal(t, int64(n), resp.Count)
}

const scaleRun = `
apiVersion: core.oam.dev/v1alpha1
kind: WorkflowRun
metadata:
  name: run-%04d
spec:
  workflowSpec:
    steps:
      - name: one
        type: print-message-in-status
        properties:
          message: one
      - name: two
        type: print-message-in-status
        properties:
          message: two
`
