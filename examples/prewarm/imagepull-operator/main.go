// Command imagepull-operator stands in for OpenKruise's ImagePullJob
// controller where there is none (no kubelets, no nodes): it watches the
// ImagePullJobs (apps.kruise.io/v1alpha1) of every cluster it is given and,
// for each new job, sets status.phase to "Pulling" and, -pull-time later,
// to "Ready", through the status subresource. It pulls nothing.
//
//	imagepull-operator --cluster shanghai=shanghai.kubeconfig --cluster us-west=us-west.kubeconfig
//	imagepull-operator --clusters clusters.yaml    # the worker's --clusters file
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"
)

var imagePullJobs = schema.GroupVersionResource{Group: "apps.kruise.io", Version: "v1alpha1", Resource: "imagepulljobs"}

// clusterFlag collects repeated --cluster NAME=KUBECONFIG.
type clusterFlag map[string]string

func (f clusterFlag) String() string { return fmt.Sprint(map[string]string(f)) }

func (f clusterFlag) Set(s string) error {
	name, path, ok := strings.Cut(s, "=")
	if !ok || name == "" || path == "" {
		return fmt.Errorf("want NAME=KUBECONFIG, got %q", s)
	}
	f[name] = path
	return nil
}

func main() {
	clusters := clusterFlag{}
	flag.Var(clusters, "cluster", "a cluster to serve, NAME=KUBECONFIG; repeatable")
	clustersFile := flag.String("clusters", "", "a clusters file as the worker's --clusters takes: clusters: [{name, kubeconfig, context}]")
	pullTime := flag.Duration("pull-time", 3*time.Second, "how long a pull takes: time from Pulling to Ready")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	configs, err := restConfigs(clusters, *clustersFile)
	if err == nil && len(configs) == 0 {
		err = fmt.Errorf("no cluster given: use --cluster NAME=KUBECONFIG or --clusters FILE")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "imagepull-operator:", err)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var wg sync.WaitGroup
	for name, cfg := range configs {
		dc, err := dynamic.NewForConfig(cfg)
		if err != nil {
			fmt.Fprintf(os.Stderr, "imagepull-operator: cluster %s: %v\n", name, err)
			os.Exit(2)
		}
		op := &operator{jobs: dc.Resource(imagePullJobs), pullTime: *pullTime, log: log.With("cluster", name)}
		wg.Go(func() { op.run(ctx) })
	}
	log.Info("serving ImagePullJobs", "clusters", len(configs), "pullTime", *pullTime)
	wg.Wait()
}

// restConfigs reads the clusters of the flags and of the clusters file.
func restConfigs(clusters map[string]string, file string) (map[string]*rest.Config, error) {
	type entry struct{ Name, Kubeconfig, Context string }
	var entries []entry
	for name, path := range clusters {
		entries = append(entries, entry{Name: name, Kubeconfig: path})
	}
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		var f struct {
			Clusters []entry `json:"clusters"`
		}
		if err := yaml.Unmarshal(data, &f); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		entries = append(entries, f.Clusters...)
	}
	out := map[string]*rest.Config{}
	for _, e := range entries {
		cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
			&clientcmd.ClientConfigLoadingRules{ExplicitPath: e.Kubeconfig},
			&clientcmd.ConfigOverrides{CurrentContext: e.Context},
		).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("cluster %s: kubeconfig %s: %w", e.Name, e.Kubeconfig, err)
		}
		out[e.Name] = cfg
	}
	return out, nil
}

// operator serves the ImagePullJobs of one cluster.
type operator struct {
	jobs     dynamic.NamespaceableResourceInterface
	pullTime time.Duration
	log      *slog.Logger

	mu      sync.Mutex
	pulling map[types.UID]bool
}

// run lists the jobs, then watches them from there; when the watch ends
// (the API server closes watches now and then) it lists again.
func (o *operator) run(ctx context.Context) {
	o.pulling = map[types.UID]bool{}
	for ctx.Err() == nil {
		if err := o.listAndWatch(ctx); err != nil && ctx.Err() == nil {
			o.log.Warn("watch ended", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

func (o *operator) listAndWatch(ctx context.Context) error {
	list, err := o.jobs.List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	for i := range list.Items {
		o.observe(ctx, &list.Items[i])
	}
	w, err := o.jobs.Watch(ctx, metav1.ListOptions{ResourceVersion: list.GetResourceVersion()})
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.ResultChan():
			if !ok {
				return nil
			}
			u, ok := ev.Object.(*unstructured.Unstructured)
			if !ok {
				return fmt.Errorf("watch: %v", ev.Object)
			}
			switch ev.Type {
			case watch.Added, watch.Modified:
				o.observe(ctx, u)
			case watch.Deleted:
				o.log.Info("deleted", "job", u.GetNamespace()+"/"+u.GetName())
			}
		}
	}
}

// observe starts the pull of a job that has no phase yet (or is Pulling,
// when the operator restarted in the middle of one).
func (o *operator) observe(ctx context.Context, job *unstructured.Unstructured) {
	phase, _, _ := unstructured.NestedString(job.Object, "status", "phase")
	if phase != "" && phase != "Pulling" {
		return
	}
	o.mu.Lock()
	if o.pulling[job.GetUID()] {
		o.mu.Unlock()
		return
	}
	o.pulling[job.GetUID()] = true
	o.mu.Unlock()

	image, _, _ := unstructured.NestedString(job.Object, "spec", "image")
	name := job.GetNamespace() + "/" + job.GetName()
	go func() {
		defer func() {
			o.mu.Lock()
			delete(o.pulling, job.GetUID())
			o.mu.Unlock()
		}()
		if err := o.setStatus(ctx, job, map[string]any{"phase": "Pulling", "desired": 1, "active": 1}); err != nil {
			o.log.Error("set Pulling", "job", name, "err", err)
			return
		}
		o.log.Info("pulling", "job", name, "image", image)
		select {
		case <-ctx.Done():
			return
		case <-time.After(o.pullTime):
		}
		if err := o.setStatus(ctx, job, map[string]any{"phase": "Ready", "desired": 1, "active": 0, "succeeded": 1,
			"completionTime": time.Now().UTC().Format(time.RFC3339)}); err != nil {
			o.log.Error("set Ready", "job", name, "err", err)
			return
		}
		o.log.Info("ready", "job", name, "image", image)
	}()
}

// setStatus merge-patches the job's status; the UID precondition keeps it
// from touching a job of the same name made again meanwhile.
func (o *operator) setStatus(ctx context.Context, job *unstructured.Unstructured, status map[string]any) error {
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"uid": job.GetUID()},
		"status":   status,
	})
	if err != nil {
		return err
	}
	_, err = o.jobs.Namespace(job.GetNamespace()).Patch(ctx, job.GetName(), types.MergePatchType, patch, metav1.PatchOptions{}, "status")
	return err
}
