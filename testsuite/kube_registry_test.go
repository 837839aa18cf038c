package testsuite

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/velaflow/velaflow/activities/kube"
	"github.com/velaflow/velaflow/localstack/kubestack"
	"github.com/velaflow/velaflow/workflows"
)

// A cluster registered as a Secret in the default cluster (KubeVela's
// format) is found by a running worker, without a restart; `velaflow
// cluster list` then shows it with the others.
func TestKubeClusterAddedAsSecretWhileRunning(t *testing.T) {
	b := theKubeBed(t)
	ctx := context.Background()
	west := b.clusters["us-west"]
	b.registerCluster(t, "frankfurt", west.Server, west)

	st := b.run(t, "kube-secret-cluster", applyRun("kube-secret-cluster", "frankfurt", `{apiVersion: v1, kind: ConfigMap, metadata: {name: via-secret}}`))
	require.Equal(t, workflows.RunSucceeded, st.Phase, "%+v", st)
	_, err := b.dyn(t, "us-west").Resource(configMaps).Namespace("default").Get(ctx, "via-secret", metav1.GetOptions{})
	require.NoError(t, err, "frankfurt is us-west's endpoint")

	out, errOut, code := b.velaflow(t, "cluster", "list")
	require.Equal(t, 0, code, errOut)
	for _, name := range []string{"local", "shanghai", "us-west", "frankfurt", "restricted"} {
		assert.Contains(t, out, name)
	}
	assert.Contains(t, out, west.Server)
	assert.Contains(t, out, "v1.37.2")
}

// registerCluster makes the bed's workers reach cluster c as name,
// through endpoint, by a KubeVela cluster Secret in shanghai's
// vela-system (the workers read those when a step names a cluster they
// do not know).
func (b *kubeBed) registerCluster(t *testing.T, name, endpoint string, c *kubestack.Cluster) {
	t.Helper()
	ctx := context.Background()
	cs, err := kubernetes.NewForConfig(b.clusters["shanghai"].RESTConfig())
	require.NoError(t, err)
	_, err = cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: kube.DefaultSecretNamespace}}, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	ca, err := os.ReadFile(c.CAFile)
	require.NoError(t, err)
	_, err = cs.CoreV1().Secrets(kube.DefaultSecretNamespace).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{kube.LabelCredentialType: "ServiceAccountToken"}},
		Data:       map[string][]byte{"endpoint": []byte(endpoint), "ca.crt": ca, "token": []byte(c.AdminToken)},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
}
