package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/velaflow/velaflow/activities/kube"
	"github.com/velaflow/velaflow/codec"
	"github.com/velaflow/velaflow/controller"
	"github.com/velaflow/velaflow/localstack/devstack"
	"github.com/velaflow/velaflow/metrics"
	"github.com/velaflow/velaflow/runs"
)

func newDevCmd(g *globals) *cobra.Command {
	f := &workerFlags{}
	var dbFile, temporalPath, clustersDir string
	var localNames, crds []string
	var port, uiPort, codecPort int
	cmd := &cobra.Command{
		Use:   "dev [--db-file F] [--port 7233] [--ui-port 8233] [--local-clusters a,b --crds DIR]",
		Short: "Run a local Temporal dev server with the Web UI, plus a worker, until Ctrl-C",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			host, _, err := net.SplitHostPort(g.conn.Address)
			if err != nil {
				host = "127.0.0.1"
			}
			addr := net.JoinHostPort(host, strconv.Itoa(port))
			ob, err := f.observe.start()
			if err != nil {
				return err
			}
			defer ob.close()
			dso := devstack.Options{
				TemporalPath: temporalPath, Address: addr, UIPort: uiPort, DBFile: dbFile, Namespace: g.conn.Namespace,
				Stderr: cmd.ErrOrStderr(), ClientOptions: &client.Options{},
			}
			ob.configure(dso.ClientOptions)
			codecURL, stopCodec, err := startDevCodec(g, host, codecPort, uiPort, &dso)
			if err != nil {
				return err
			}
			defer stopCodec()
			srv, err := devstack.Start(cmd.Context(), dso)
			if err != nil {
				return fmt.Errorf("start the Temporal dev server: %w", err)
			}
			defer srv.Stop()
			var lc *localClusters
			if len(localNames) > 0 {
				if f.kube.ClustersFile != "" {
					return &exitError{code: 2, err: fmt.Errorf("--local-clusters writes its own clusters file; drop --clusters")}
				}
				lc, err = startLocalClusters(cmd.Context(), localNames, clustersDir, crds, cmd.OutOrStdout())
				if err != nil {
					return err
				}
				defer lc.stop()
				f.kube.ClustersFile = lc.file
				if f.kube.Kubeconfig == "" {
					f.kube.Kubeconfig = lc.clusters[0].Kubeconfig
				}
			}
			w, err := f.start(srv.Client(), g.taskQueue, dso.ClientOptions.DataConverter, ob.metrics)
			if err != nil {
				return err
			}
			if err := ob.serve(f.observe.metricsListen, srv.Client(), metrics.TemporalReady(srv.Client())); err != nil {
				w.Stop()
				return err
			}
			defer w.Stop()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Temporal dev server on %s (state in %s)\n", addr, orMemory(dbFile))
			if uiPort != 0 {
				fmt.Fprintf(out, "Web UI: http://%s\n", net.JoinHostPort(host, strconv.Itoa(uiPort)))
			}
			if codecURL != "" {
				fmt.Fprintf(out, "payloads encrypted; the Web UI decodes them through the codec server at %s\n", codecURL)
			}
			if lc != nil {
				stopController := startDevController(cmd.Context(), lc, srv.Client(), g, dso.ClientOptions.DataConverter)
				defer stopController()
				fmt.Fprintf(out, "controller: WorkflowRun objects applied to cluster %s run here (kubectl --kubeconfig %s apply -f run.yaml)\n",
					lc.clusters[0].Name, lc.clusters[0].Kubeconfig)
			}
			fmt.Fprintf(out, "worker polling task queue %q; Ctrl-C stops both\n", g.taskQueue)
			waitForInterrupt()
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&dbFile, "db-file", "velaflow-dev.db", "SQLite file keeping runs across restarts (empty: in memory)")
	cmd.Flags().IntVar(&port, "port", 7233, "frontend port")
	cmd.Flags().IntVar(&uiPort, "ui-port", 8233, "Web UI port (0: no UI)")
	cmd.Flags().StringVar(&temporalPath, "temporal", "", "the temporal CLI binary (default: bin/temporal, then PATH)")
	cmd.Flags().StringSliceVar(&localNames, "local-clusters", nil, "start these Kubernetes clusters on loopback (etcd + kube-apiserver from bin/); the first is the default cluster")
	cmd.Flags().StringVar(&clustersDir, "local-clusters-dir", ".velaflow-dev/clusters", "where the local clusters keep their data, kubeconfigs and logs")
	cmd.Flags().StringArrayVar(&crds, "crds", nil, "CRD file or folder to install in every local cluster; repeatable")
	f.observe.register(cmd, "127.0.0.1:9090")
	cmd.Flags().IntVar(&codecPort, "codec-port", 8234, "with --codec-keys: port of the codec server the Web UI decodes payloads through")
	return cmd
}

// startDevCodec, when codec keys are given, makes the dev stack's client
// encrypt payloads and serves the codec for the Web UI (whose origin it
// allows) on host:port. It returns the codec server's URL ("" without
// keys) and what stops it.
func startDevCodec(g *globals, host string, port, uiPort int, dso *devstack.Options) (string, func(), error) {
	keys, err := g.conn.Keys(nil)
	if err != nil || keys == nil {
		return "", func() {}, err
	}
	codec.Apply(dso.ClientOptions, keys)
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return "", nil, fmt.Errorf("codec server: %w", err)
	}
	url := "http://" + ln.Addr().String()
	dso.ExtraArgs = append(dso.ExtraArgs, "--ui-codec-endpoint", url)
	origins := []string{"http://" + net.JoinHostPort(host, strconv.Itoa(uiPort)), "http://localhost:" + strconv.Itoa(uiPort)}
	srv := &http.Server{Handler: codec.Handler(keys, codec.ServerOptions{Origins: origins}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return url, func() { _ = srv.Close() }, nil
}

func orMemory(f string) string {
	if f == "" {
		return "memory"
	}
	return f
}

// startDevController runs the controller on the first local cluster (the
// worker's default one), so that WorkflowRun objects applied to it run on
// the dev stack. Its log is quiet; the runs show in the Web UI.
func startDevController(ctx context.Context, lc *localClusters, c client.Client, g *globals, dc converter.DataConverter) func() {
	ctrl.SetLogger(logr.Discard())
	rc := runs.New(c, g.taskQueue)
	rc.DataConverter = dc
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := controller.Run(ctx, lc.clusters[0].RESTConfig(), rc, controller.Options{
			ClusterName: kube.DefaultName, SystemNamespace: "vela-system", Workers: 8, QPS: 100, Burst: 200,
			MetricsAddress: "0", HealthAddress: "0",
		})
		if err != nil && ctx.Err() == nil {
			fmt.Fprintln(os.Stderr, "controller:", err)
		}
	}()
	return func() { cancel(); <-done }
}
