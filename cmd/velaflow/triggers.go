package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/velaflow/velaflow/triggers"
)

// Trigger credentials from the environment when no file gives them.
const (
	triggerTokenEnv  = "VELAFLOW_TRIGGER_TOKENS"
	triggerSecretEnv = "VELAFLOW_TRIGGER_SECRETS"
)

func newServeTriggersCmd(g *globals) *cobra.Command {
	var listen, tokenFile, secretFile, webUI string
	var srv triggers.Server
	cmd := &cobra.Command{
		Use:   "serve-triggers [--listen :8088] (--token-file F | --hmac-secret-file F) [--templates DIR]...",
		Short: "Serve webhooks that start runs of Workflow templates",
		Long: `Serve POST /v1/namespaces/{ns}/templates/{name}/runs: the JSON body (an object) becomes the
run's spec.context, and the run is validated like ` + "`velaflow run --ref`" + `. Requests must carry a
bearer token ("Authorization: Bearer TOKEN") from --token-file or $` + triggerTokenEnv + `, or an
HMAC-SHA256 signature of the body ("X-Hub-Signature-256: sha256=HEX", as GitHub sends it) made with
a key from --hmac-secret-file or $` + triggerSecretEnv + ` (files and variables: one per line).

Answers: 201 with the run's name, workflow ID and Web UI link; 200 with the same for a request
redelivered with a delivery ID it has seen (X-GitHub-Delivery, X-Delivery-ID or Idempotency-Key),
starting nothing; 400 with the validation errors; 401 for a wrong token or signature.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if srv.Tokens, err = secretLines(tokenFile, triggerTokenEnv); err != nil {
				return &exitError{code: 2, err: fmt.Errorf("--token-file: %w", err)}
			}
			if srv.Secrets, err = secretLines(secretFile, triggerSecretEnv); err != nil {
				return &exitError{code: 2, err: fmt.Errorf("--hmac-secret-file: %w", err)}
			}
			if len(srv.Tokens) == 0 && len(srv.Secrets) == 0 {
				return &exitError{code: 2, err: fmt.Errorf("no credentials: give --token-file or --hmac-secret-file (or $%s, $%s)", triggerTokenEnv, triggerSecretEnv)}
			}
			rc, closeFn, err := g.runs()
			if err != nil {
				return err
			}
			defer closeFn()
			srv.Runs, srv.WebUI, srv.TemporalNamespace = rc, webUI, g.temporalNamespace
			srv.AskWorkers = len(srv.Templates) == 0
			srv.Log = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("serve-triggers: %w", err)
			}
			hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
			fmt.Fprintf(cmd.ErrOrStderr(), "serving triggers on http://%s/v1/namespaces/{ns}/templates/{name}/runs\n", ln.Addr())
			return serveUntilInterrupt(hs, ln, "", "")
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", ":8088", "host:port to serve on")
	f.StringVar(&tokenFile, "token-file", "", "file of bearer tokens accepted, one per line (default $"+triggerTokenEnv+")")
	f.StringVar(&secretFile, "hmac-secret-file", "", "file of HMAC-SHA256 keys accepted for X-Hub-Signature-256, one per line (default $"+triggerSecretEnv+")")
	f.StringArrayVar(&srv.Templates, "templates", nil, "folder or file of Workflow templates, read on every request; repeatable (default: ask the workers)")
	f.StringArrayVar(&srv.Definitions, "definitions", nil, "folder or file of step definitions; repeatable")
	f.StringVar(&webUI, "web-ui", "http://127.0.0.1:8233", "the Temporal Web UI's address, for the link to each run")
	return cmd
}

// secretLines reads one credential per line from a file, or from the
// environment variable when no file is given.
func secretLines(file, env string) ([]string, error) {
	text := os.Getenv(env)
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		text = string(b)
	}
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out, nil
}
