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
	reg, err := kube.NewRegistry(kube.Options{Kubeconfig: kubeconfig, SecretNamespace: "-"})
	if err != nil {
		return err
	}
	cl, err := reg.Get(ctx, "")
	if err != nil {
		return fmt.Errorf("apply the objects beside the runs (or leave them out with --skip-objects): %w", err)
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
