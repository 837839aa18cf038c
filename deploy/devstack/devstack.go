// Package devstack starts a local Temporal dev server (the `temporal` CLI's
// start-dev) tuned for velaflow: velaflow's search attributes registered,
// eager activity execution on, state in a SQLite file if asked.
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
		ExtraArgs: append([]string{
			// A step's activity runs on the worker that asked for it, saving a
			// round trip through the task queue.
			"--dynamic-config-value", "system.enableActivityEagerExecution=true",
		}, opts.ExtraArgs...),
		Stdout: opts.Stdout,
		Stderr: opts.Stderr,
	}
	if opts.UIPort != 0 {
		dso.UIPort = strconv.Itoa(opts.UIPort)
	}
	return testsuite.StartDevServer(ctx, dso)
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
