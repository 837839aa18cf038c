package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/velaflow/velaflow/codec"
	"github.com/velaflow/velaflow/connection"
)

// codecTokenEnv holds the codec server's bearer token when no file does.
const codecTokenEnv = "VELAFLOW_CODEC_TOKEN"

func newCodecServerCmd(g *globals) *cobra.Command {
	var listen, tokenFile, certFile, keyFile string
	var origins []string
	cmd := &cobra.Command{
		Use:   "codec-server --codec-keys SRC [--listen 127.0.0.1:8234] [--cors-origin URL]... [--token-file F]",
		Short: "Serve the payload codec over HTTP, so the Web UI and `temporal --codec-endpoint` show decrypted payloads",
		Long: `Serve Temporal's remote codec protocol (POST /encode, POST /decode) with the keys of --codec-keys.
Point the Web UI at it (temporal server start-dev --ui-codec-endpoint URL, or the UI's codec
setting) and allow the UI's origin with --cors-origin. Anyone who can reach the server can
decrypt payloads: keep it on loopback, or require a bearer token (--token-file, or $` + codecTokenEnv + `)
that callers send as "Authorization: Bearer TOKEN" (temporal --codec-auth "Bearer TOKEN").`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			keys, err := g.conn.Keys(nil)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			if keys == nil {
				return &exitError{code: 2, err: fmt.Errorf("no keys: give --codec-keys or $%s", connection.CodecKeysEnv)}
			}
			token, err := codecToken(tokenFile)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			if (certFile == "") != (keyFile == "") {
				return &exitError{code: 2, err: fmt.Errorf("--serve-cert and --serve-key go together")}
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("codec server: %w", err)
			}
			srv := &http.Server{
				Handler:           codec.Handler(keys, codec.ServerOptions{Origins: origins, Token: token}),
				ReadHeaderTimeout: 10 * time.Second,
			}
			scheme := "http"
			if certFile != "" {
				scheme = "https"
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "codec server on %s://%s (keys from %s, encrypting with %q)\n", scheme, ln.Addr(), keys.Source(), keys.Current())
			return serveUntilInterrupt(srv, ln, certFile, keyFile)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8234", "host:port to serve on")
	cmd.Flags().StringArrayVar(&origins, "cors-origin", nil, "origin of a Web UI allowed to call the server from the browser (e.g. http://localhost:8233); repeatable, * for any")
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "file holding the bearer token callers must send (default $"+codecTokenEnv+"; none: no token asked)")
	cmd.Flags().StringVar(&certFile, "serve-cert", "", "PEM certificate to serve HTTPS with (a Web UI on https can only call an https codec)")
	cmd.Flags().StringVar(&keyFile, "serve-key", "", "PEM private key of --serve-cert")
	return cmd
}

func codecToken(file string) (string, error) {
	if file == "" {
		return os.Getenv(codecTokenEnv), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	token := strings.TrimSpace(string(b))
	if token == "" {
		return "", fmt.Errorf("--token-file %s is empty", file)
	}
	return token, nil
}

// serveUntilInterrupt serves HTTP (HTTPS with a certificate) on ln until
// Ctrl-C or SIGTERM, then shuts the server down.
func serveUntilInterrupt(srv *http.Server, ln net.Listener, certFile, keyFile string) error {
	done := make(chan error, 1)
	go func() {
		if certFile != "" {
			done <- srv.ServeTLS(ln, certFile, keyFile)
		} else {
			done <- srv.Serve(ln)
		}
	}()
	go func() { waitForInterrupt(); done <- nil }()
	err := <-done
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
