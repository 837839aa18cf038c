package main

import (
	"fmt"
	"net"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/velaflow/velaflow/localstack/devstack"
)

func newDevCmd(g *globals) *cobra.Command {
	f := &workerFlags{}
	var dbFile, temporalPath, clustersDir string
	var localNames, crds []string
	var port, uiPort int
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
			srv, err := devstack.Start(cmd.Context(), devstack.Options{
				TemporalPath: temporalPath, Address: addr, UIPort: uiPort, DBFile: dbFile, Namespace: g.conn.Namespace,
				Stderr: cmd.ErrOrStderr(),
			})
			if err != nil {
				return fmt.Errorf("start the Temporal dev server: %w", err)
			}
			defer srv.Stop()
			if len(localNames) > 0 {
				if f.kube.ClustersFile != "" {
					return &exitError{code: 2, err: fmt.Errorf("--local-clusters writes its own clusters file; drop --clusters")}
				}
				lc, err := startLocalClusters(cmd.Context(), localNames, clustersDir, crds, cmd.OutOrStdout())
				if err != nil {
					return err
				}
				defer lc.stop()
				f.kube.ClustersFile = lc.file
				if f.kube.Kubeconfig == "" {
					f.kube.Kubeconfig = lc.clusters[0].Kubeconfig
				}
			}
			w, err := f.start(srv.Client(), g.taskQueue)
			if err != nil {
				return err
			}
			defer w.Stop()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Temporal dev server on %s (state in %s)\n", addr, orMemory(dbFile))
			if uiPort != 0 {
				fmt.Fprintf(out, "Web UI: http://%s\n", net.JoinHostPort(host, strconv.Itoa(uiPort)))
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
	return cmd
}

func orMemory(f string) string {
	if f == "" {
		return "memory"
	}
	return f
}
