// Command velaflow validates, starts and inspects WorkflowRuns, and runs the
// worker and a local development stack. Each command parses flags, calls a
// package API, and prints.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/velaflow/velaflow/deploy/devstack"
	"github.com/velaflow/velaflow/runs"
	"github.com/velaflow/velaflow/workflows"
)

// exitError carries a process exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

// globals are the connection flags every command shares.
type globals struct {
	address   string
	namespace string
	taskQueue string
}

func (g *globals) dial() (client.Client, error) {
	c, err := client.Dial(client.Options{HostPort: g.address, Namespace: g.namespace, Logger: stderrLogger(os.Stderr),
		ConnectionOptions: client.ConnectionOptions{GrpcCompression: devstack.Compression(g.address)}})
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s: %w (is `velaflow dev` or a Temporal server running?)", g.address, err)
	}
	return c, nil
}

func (g *globals) runs() (*runs.Client, func(), error) {
	c, err := g.dial()
	if err != nil {
		return nil, nil, err
	}
	return runs.New(c, g.taskQueue), c.Close, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func newRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "velaflow",
		Short:         "Durable KubeVela-style workflows on Temporal",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.address, "address", envOr("TEMPORAL_ADDRESS", "127.0.0.1:7233"), "Temporal frontend host:port (env TEMPORAL_ADDRESS)")
	root.PersistentFlags().StringVar(&g.namespace, "temporal-namespace", envOr("TEMPORAL_NAMESPACE", "default"), "Temporal namespace (env TEMPORAL_NAMESPACE)")
	root.PersistentFlags().StringVar(&g.taskQueue, "task-queue", workflows.DefaultTaskQueue, "Temporal task queue of the velaflow workers")
	root.AddCommand(
		newDevCmd(g), newWorkerCmd(g), newRunCmd(g), newStatusCmd(g), newListCmd(g),
		newSignalCmd(g, "suspend", "Suspend a run before its next step execution"),
		newSignalCmd(g, "resume", "Resume a suspended run or step"),
		newSignalCmd(g, "terminate", "Terminate a run: running steps fail with reason Terminate"),
		newRestartCmd(g),
		newLogsCmd(g),
		newClusterCmd(g),
		newTranslateCmd(), newDefCmd(),
	)
	return root
}

func main() {
	if err := newRoot().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		var ee *exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		os.Exit(1)
	}
}
