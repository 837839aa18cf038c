package main

import (
	"fmt"
	"net"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/velaflow/velaflow/deploy/devstack"
)

func newDevCmd(g *globals) *cobra.Command {
	f := &workerFlags{}
	var dbFile, temporalPath string
	var port, uiPort int
	cmd := &cobra.Command{
		Use:   "dev [--db-file F] [--port 7233] [--ui-port 8233]",
		Short: "Run a local Temporal dev server with the Web UI, plus a worker, until Ctrl-C",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			host, _, err := net.SplitHostPort(g.address)
			if err != nil {
				host = "127.0.0.1"
			}
			addr := net.JoinHostPort(host, strconv.Itoa(port))
			srv, err := devstack.Start(cmd.Context(), devstack.Options{
				TemporalPath: temporalPath, Address: addr, UIPort: uiPort, DBFile: dbFile, Namespace: g.namespace,
				Stderr: cmd.ErrOrStderr(),
			})
			if err != nil {
				return fmt.Errorf("start the Temporal dev server: %w", err)
			}
			defer srv.Stop()
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
	return cmd
}

func orMemory(f string) string {
	if f == "" {
		return "memory"
	}
	return f
}
