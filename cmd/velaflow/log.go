package main

import (
	"fmt"
	"io"
	"log/slog"

	"go.temporal.io/sdk/log"
)

// stderrLogger logs the SDK's warnings and errors to w, apart from the
// command's output.
func stderrLogger(w io.Writer) log.Logger {
	return log.NewStructuredLogger(slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn})))
}

// workerLogger is a worker's log: the SDK's and velaflow's lines, with
// the run (WorkflowID), step and cluster as fields; text or JSON.
func workerLogger(w io.Writer, format string) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	switch format {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}
