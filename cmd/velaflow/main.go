// Command velaflow validates, starts and inspects WorkflowRuns, and runs the
// worker and a local development stack. Each command parses flags, calls a
// package API, and prints.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/velaflow/velaflow/connection"
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
	conn      connection.Flags
	taskQueue string
	// address is the frontend the last dial reached.
	address string
	// dataConverter is the last dial's (encrypting with --codec-keys).
	dataConverter converter.DataConverter
	// temporalNamespace is the last dial's Temporal namespace.
	temporalNamespace string
	// noColor: plain lines, no colour, no redrawing (also NO_COLOR).
	noColor bool
}

// dial connects; configure, if given, adjusts the options first (a
// worker's logger and metrics).
func (g *globals) dial(configure ...func(*client.Options)) (client.Client, error) {
	opts, err := g.conn.Options(nil)
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	opts.Logger = stderrLogger(os.Stderr)
	for _, f := range configure {
		f(&opts)
	}
	c, err := connection.Dial(context.Background(), opts)
	if err != nil {
		if !connection.IsTLSFailure(err) {
			err = fmt.Errorf("%w (is `velaflow dev` or a Temporal server running?)", err)
		}
		return nil, err
	}
	g.address, g.dataConverter, g.temporalNamespace = opts.HostPort, opts.DataConverter, opts.Namespace
	return c, nil
}

func (g *globals) runs() (*runs.Client, func(), error) {
	c, err := g.dial()
	if err != nil {
		return nil, nil, err
	}
	rc := runs.New(c, g.taskQueue)
	rc.DataConverter, rc.Namespace = g.dataConverter, g.temporalNamespace
	return rc, c.Close, nil
}

// askWorkers asks the workers of the task queue through ask, bounded by
// timeout: a question no worker answers in time says so.
func (g *globals) askWorkers(ctx context.Context, timeout time.Duration, ask func(context.Context, *runs.Client) error) error {
	rc, closeFn, err := g.runs()
	if err != nil {
		return err
	}
	defer closeFn()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := ask(ctx, rc); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("no worker on task queue %q answered within %s", g.taskQueue, timeout)
		}
		return err
	}
	return nil
}

func newRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "velaflow",
		Short:         "Durable KubeVela-style workflows on Temporal",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	g.conn.Register(root.PersistentFlags())
	root.PersistentFlags().StringVar(&g.taskQueue, "task-queue", workflows.DefaultTaskQueue, "Temporal task queue of the velaflow workers")
	root.PersistentFlags().BoolVar(&g.noColor, "no-color", os.Getenv("NO_COLOR") != "", "print plain lines: no colour, no redrawing in place (default: $NO_COLOR set)")
	root.AddCommand(
		newDevCmd(g), newWorkerCmd(g), newCodecServerCmd(g), newRunCmd(g), newStatusCmd(g), newListCmd(g), newScheduleCmd(g), newServeTriggersCmd(g),
		newSignalCmd(g, "suspend", "Suspend a run before its next step execution"),
		newSignalCmd(g, "resume", "Resume a suspended run or step"),
		newSignalCmd(g, "terminate", "Terminate a run: running steps fail with reason Terminate"),
		newRestartCmd(g), newDeleteCmd(g), newDebugCmd(g),
		newLogsCmd(g),
		newClusterCmd(g),
		newTranslateCmd(), newDefCmd(g), newInstallCmd(), newControllerCmd(g),
	)
	addCompletions(root, g)
	usageErrorsExit2(root)
	return root
}

// Exit codes, documented in the README.
const (
	exitRunFailed = 1 // the run did not succeed; other errors too
	exitInvalid   = 2 // invalid input: files, flags, arguments
	exitNotFound  = 3 // no such run
	exitConflict  = 4 // a run of that name still runs
)

func main() {
	root := newRoot()
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(exitCode(err))
	}
}

func exitCode(err error) int {
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, runs.ErrNotFound):
		return exitNotFound
	case errors.Is(err, runs.ErrAlreadyRunning), errors.Is(err, runs.ErrScheduleExists):
		return exitConflict
	case strings.HasPrefix(err.Error(), "unknown command"):
		return exitInvalid
	}
	return exitRunFailed
}

// usageErrorsExit2 makes bad flags and arguments exit 2, for every
// command.
func usageErrorsExit2(c *cobra.Command) {
	c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &exitError{code: exitInvalid, err: err} })
	if args := c.Args; args != nil {
		c.Args = func(cmd *cobra.Command, a []string) error {
			if err := args(cmd, a); err != nil {
				return &exitError{code: exitInvalid, err: err}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		usageErrorsExit2(sub)
	}
}
