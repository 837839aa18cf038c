package testsuite

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// A 20-step run's status follows the run step by step: each step's
// success shows in the object soon after the step's request reached the
// server it calls. The test reports how far behind the object was (the
// figure docs/kubernetes.md quotes); it asserts that every step's success
// reached the object, most of them while the run still ran.
func TestControllerStatusKeepsUp(t *testing.T) {
	const steps = 20
	var mu sync.Mutex
	called := map[string]time.Time{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		called[strings.TrimPrefix(r.URL.Path, "/")] = time.Now()
		mu.Unlock()
		fmt.Fprint(w, `{"ok": true}`)
	}))
	defer srv.Close()

	cb := newControllerBedRunning(t, "ctl-lag")
	var b strings.Builder
	b.WriteString("apiVersion: core.oam.dev/v1alpha1\nkind: WorkflowRun\nmetadata:\n  name: twenty\nspec:\n  workflowSpec:\n    steps:\n")
	for i := range steps {
		fmt.Fprintf(&b, "      - name: s%02d\n        type: request\n        properties:\n          url: %s/s%02d\n", i, srv.URL, i)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ri := cb.dyn.Resource(wrGVR).Namespace(cb.ns)
	w, err := ri.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=twenty"})
	require.NoError(t, err)
	defer w.Stop()
	cb.apply(t, b.String())

	shown := map[string]time.Time{}
	midway := 0 // successes shown while the run still ran
	for ev := range w.ResultChan() {
		u, ok := ev.Object.(*unstructured.Unstructured)
		if !ok {
			continue
		}
		now := time.Now()
		st := statusOf(t, u)
		for _, s := range st.Steps {
			if _, seen := shown[s.Name]; !seen && s.Phase == "succeeded" {
				shown[s.Name] = now
				if !st.Finished {
					midway++
				}
			}
		}
		if st.Finished {
			break
		}
	}
	require.Len(t, shown, steps, "every step's success reached the object")
	require.GreaterOrEqual(t, midway, steps/2, "the object follows the run while it runs, not only at its end")
	var lags []time.Duration
	mu.Lock()
	for name, at := range shown {
		lags = append(lags, at.Sub(called[name]))
	}
	mu.Unlock()
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	t.Logf("20-step run: from a step's request to its success in the object: median %s, max %s",
		lags[len(lags)/2].Round(time.Millisecond), lags[len(lags)-1].Round(time.Millisecond))
}
