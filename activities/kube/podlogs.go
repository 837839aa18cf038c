package kube

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// PodLog is what one container of a Pod logged, or why its log could not
// be read (a Pod not scheduled yet, a container not started).
type PodLog struct {
	Pod, Container string
	Lines          []string
	Err            string
}

// PodLogs reads the last tail lines of every container of the Pods named
// name, or matching labels, in namespace. A Pod whose log cannot be read
// is reported in its PodLog, not as an error; an error means the Pods
// could not be listed.
func (c *Cluster) PodLogs(ctx context.Context, namespace, name string, labels map[string]string, tail int64) ([]PodLog, error) {
	cs := c.typed
	pods, err := c.podsFor(ctx, cs, namespace, name, labels)
	if err != nil {
		return nil, err
	}
	var out []PodLog
	for _, p := range pods {
		for _, ct := range p.Spec.Containers {
			pl := PodLog{Pod: p.Namespace + "/" + p.Name, Container: ct.Name}
			raw, err := cs.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: ct.Name, TailLines: &tail}).DoRaw(ctx)
			switch {
			case err != nil:
				pl.Err = err.Error()
			case len(raw) == 0:
				pl.Err = fmt.Sprintf("no log lines yet (pod %s)", p.Status.Phase)
			default:
				pl.Lines = strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
			}
			out = append(out, pl)
		}
	}
	return out, nil
}

func (c *Cluster) podsFor(ctx context.Context, cs kubernetes.Interface, namespace, name string, labels map[string]string) ([]corev1.Pod, error) {
	if name != "" {
		p, err := cs.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, c.wrapPods(namespace, err)
		}
		return []corev1.Pod{*p}, nil
	}
	var sel []string
	for k, v := range labels {
		sel = append(sel, k+"="+v)
	}
	sort.Strings(sel)
	list, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: strings.Join(sel, ",")})
	if err != nil {
		return nil, c.wrapPods(namespace, err)
	}
	return list.Items, nil
}

func (c *Cluster) wrapPods(namespace string, err error) error {
	return fmt.Errorf("pods in %s of cluster %s: %w", namespace, c.Name, err)
}
