package devstack

import (
	"io"
	"log/slog"

	"go.temporal.io/sdk/log"
)

// Quiet is a logger that drops everything: the SDK logs to stdout by
// default, which must not mix with a command's output.
func Quiet() log.Logger {
	return log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
}
