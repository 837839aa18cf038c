package runs

import (
	"context"
	"fmt"

	"github.com/velaflow/velaflow/activities/kube"
	"github.com/velaflow/velaflow/translator"
)

// ApplyObjects server-side applies the objects given beside WorkflowRuns
// to the cluster of kubeconfig ("" for $KUBECONFIG, then in-cluster), as
// `kubectl apply -f` would; a namespaced object without a namespace goes
// to "default". It stops at the first failure.
func ApplyObjects(ctx context.Context, kubeconfig string, objects []translator.Object, applied func(translator.Object)) error {
	if len(objects) == 0 {
		return nil
	}
	noCluster := func(err error) error {
		what := objects[0].Name()
		if len(objects) > 1 {
			what += fmt.Sprintf(" (and %d more objects)", len(objects)-1)
		}
		return fmt.Errorf("%s:%d: %s, given beside the runs, needs a cluster to go to: give --kubeconfig or set KUBECONFIG, or leave the objects out with --skip-objects (%v)",
			objects[0].File, objects[0].Line, what, err)
	}
	reg, err := kube.NewRegistry(kube.Options{Kubeconfig: kubeconfig, SecretNamespace: "-"})
	if err != nil {
		return noCluster(err)
	}
	cl, err := reg.Get(ctx, "")
	if err != nil {
		return noCluster(err)
	}
	for _, o := range objects {
		if _, err := cl.Apply(ctx, kube.Run{}, o.Data, nil); err != nil {
			return fmt.Errorf("%s:%d: apply %s: %w", o.File, o.Line, o.Name(), err)
		}
		if applied != nil {
			applied(o)
		}
	}
	return nil
}
