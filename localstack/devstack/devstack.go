// Package devstack starts a local Temporal dev server (the `temporal` CLI's
// start-dev) tuned for velaflow: velaflow's search attributes registered,
// eager activity execution on, state in a SQLite file if asked, written
// with WAL journaling. docs/operations.md gives each choice's measure.
//
// It is used by `velaflow dev` and by the end-to-end test harness.
package devstack

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/velaflow/velaflow/connection"
	"github.com/velaflow/velaflow/workflows"
)

// Options for the dev server.
type Options struct {
	// TemporalPath is the `temporal` binary; empty finds bin/temporal above
	// the working directory, then PATH.
	TemporalPath string
	// Address to listen on, host:port; empty picks a free port on 127.0.0.1.
	Address string
	// UIPort serves the Web UI; 0 runs headless.
	UIPort int
	// DBFile keeps state across restarts; empty keeps it in memory.
	DBFile    string
	Namespace string
	// ExtraArgs are passed to `temporal server start-dev`.
	ExtraArgs      []string
	Stdout, Stderr io.Writer
	// Logger for the client; nil discards the SDK's logs.
	ClientOptions *client.Options
}

// Start starts the server and waits until it answers.
func Start(ctx context.Context, opts Options) (*testsuite.DevServer, error) {
	path, err := FindTemporal(opts.TemporalPath)
	if err != nil {
		return nil, err
	}
	co := client.Options{HostPort: opts.Address, Namespace: opts.Namespace}
	if opts.ClientOptions != nil {
		co = *opts.ClientOptions
		co.HostPort, co.Namespace = opts.Address, opts.Namespace
	}
	if co.Namespace == "" {
		co.Namespace = "default"
	}
	if co.Logger == nil {
		co.Logger = Quiet()
	}
	if co.ConnectionOptions.GrpcCompression == nil {
		co.ConnectionOptions.GrpcCompression = connection.Compression(opts.Address)
	}
	dso := testsuite.DevServerOptions{
		ExistingPath:  path,
		ClientOptions: &co,
		DBFilename:    opts.DBFile,
		EnableUI:      opts.UIPort != 0,
		LogLevel:      "error",
		SearchAttributes: temporal.NewSearchAttributes(
			workflows.AttrPhase.ValueSet(""),
			workflows.AttrName.ValueSet(""),
			workflows.AttrNamespace.ValueSet(""),
		),
		ExtraArgs: append(tuning(opts.DBFile != ""), opts.ExtraArgs...),
		Stdout:    opts.Stdout,
		Stderr:    opts.Stderr,
	}
	if opts.UIPort != 0 {
		dso.UIPort = strconv.Itoa(opts.UIPort)
	}
	return testsuite.StartDevServer(ctx, dso)
}

// tuning is the dev server's settings for velaflow's workload, each
// measured with make bench (docs/operations.md).
func tuning(file bool) []string {
	args := []string{
		// A step's activity runs on the worker that asked for it, saving a
		// round trip through the task queue.
		"--dynamic-config-value", "system.enableActivityEagerExecution=true",
		// One partition per task queue: partitions spread a queue over
		// matching hosts, and a dev server has one; with the default four
		// a task and a poller often wait in different partitions. Bursts
		// run about 1.8x as fast.
		"--dynamic-config-value", "matching.numTaskqueueReadPartitions=1",
		"--dynamic-config-value", "matching.numTaskqueueWritePartitions=1",
		// The CLI reads the search-attribute table from the database on
		// every check of a run's search attributes, so that attributes
		// created by hand show at once. velaflow's are written with the
		// namespace before the server starts, so its cache (refreshed
		// every minute) is enough: about 2 ms less server CPU per run.
		"--dynamic-config-value", "system.forceSearchAttributesCacheRefreshOnRead=false",
	}
	if file {
		// WAL journaling, synced at checkpoints: every commit survives the
		// server's crash or kill; only a power loss may take the last
		// ones, which a dev server can afford. Bursts run about 1.5x as
		// fast, and the server spends about a third less CPU per run.
		args = append(args, "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal")
	}
	return args
}

// FindTemporal locates the temporal CLI: the given path, bin/temporal in
// the working directory or any parent (the repository's build output), or
// PATH.
func FindTemporal(given string) (string, error) {
	if given != "" {
		if _, err := os.Stat(given); err != nil {
			return "", fmt.Errorf("temporal CLI %s: %w", given, err)
		}
		return given, nil
	}
	if dir, err := os.Getwd(); err == nil {
		for {
			p := filepath.Join(dir, "bin", "temporal")
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	if p, err := exec.LookPath("temporal"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("the temporal CLI was not found in bin/ or PATH: run `make temporal` in the velaflow repository")
}
