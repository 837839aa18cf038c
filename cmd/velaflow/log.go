package main

import (
	"io"
	"log/slog"

	"go.temporal.io/sdk/log"
)

// stderrLogger logs the SDK's warnings and errors to w, apart from the
// command's output.
func stderrLogger(w io.Writer) log.Logger {
	return log.NewStructuredLogger(slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn})))
}
