// Package prodstack starts a production-shaped Temporal on this machine
// for the scale-out tests: the Temporal server built from its Go module
// (bin/temporal-server, the version the temporal CLI embeds) on
// PostgreSQL from Debian's package, its schemas set up by
// bin/temporal-sql-tool, the default namespace and velaflow's search
// attributes registered.
package prodstack

import (
	"context"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/velaflow/velaflow/workflows"
)

// Options say where the binaries are and where the stack keeps its
// state and logs.
type Options struct {
	BinDir string // holds temporal-server and temporal-sql-tool
	Dir    string // data, config and logs; removed by nobody
}

// Stack is a running PostgreSQL and Temporal server.
type Stack struct {
	// Address is the frontend's host:port.
	Address string
	Dir     string
	pgBin   string
	pgDir   string
	pgData  string
	server  *exec.Cmd
	done    chan struct{}
	logs    []*os.File
}

// Start starts PostgreSQL, sets up Temporal's schemas, starts the server
// and waits until it serves the default namespace.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	pgBin, err := postgresBin()
	if err != nil {
		return nil, err
	}
	for _, b := range []string{"temporal-server", "temporal-sql-tool"} {
		if _, err := os.Stat(filepath.Join(opts.BinDir, b)); err != nil {
			return nil, fmt.Errorf("%s is missing from %s: run `make temporal-server` (make test does)", b, opts.BinDir)
		}
	}
	s := &Stack{Dir: opts.Dir, pgBin: pgBin, done: make(chan struct{})}
	ports, err := freePorts(10)
	if err != nil {
		return nil, err
	}
	pgPort := ports[0]
	if err := s.startPostgres(ctx, pgPort); err != nil {
		return nil, err
	}
	if err := setupSchemas(ctx, opts.BinDir, pgPort, s.logFile("sql-tool.log")); err != nil {
		s.Stop()
		return nil, err
	}
	s.Address = fmt.Sprintf("127.0.0.1:%d", ports[1])
	if err := s.startServer(opts.BinDir, pgPort, ports[1:]); err != nil {
		s.Stop()
		return nil, err
	}
	if err := s.register(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// postgresBin finds Debian's PostgreSQL server binaries (the newest
// version installed).
func postgresBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(dirs) == 0 {
		return "", fmt.Errorf("PostgreSQL is not installed: make test installs Debian's postgresql (apt-get install postgresql)")
	}
	sort.Strings(dirs)
	return filepath.Dir(dirs[len(dirs)-1]), nil
}

// asPostgres runs a PostgreSQL tool; as root it runs as the postgres
// user, since PostgreSQL refuses to run as root.
func asPostgres(ctx context.Context, name string, args ...string) *exec.Cmd {
	if os.Geteuid() == 0 {
		return exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	}
	return exec.CommandContext(ctx, name, args...)
}

// startPostgres initialises and starts a PostgreSQL of its own in a
// folder of the system's temporary directory (the postgres user must
// reach it whatever the stack's folder is), removed by Stop.
func (s *Stack) startPostgres(ctx context.Context, port int) error {
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return err
	}
	pgDir, err := os.MkdirTemp("", "velaflow-pg-")
	if err != nil {
		return err
	}
	s.pgDir, s.pgData = pgDir, filepath.Join(pgDir, "data")
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("PostgreSQL runs as the postgres user, which is missing: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(pgDir, uid, gid); err != nil {
			return err
		}
	}
	if out, err := asPostgres(ctx, filepath.Join(s.pgBin, "initdb"), "-D", s.pgData, "-U", "postgres", "--auth=trust", "-E", "UTF8").CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, out)
	}
	// synchronous_commit=off: a crash of the machine may lose the last
	// commits, not corrupt them; the tests kill workers, not machines.
	pgOpts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=300 -c synchronous_commit=off", port, pgDir)
	if out, err := asPostgres(ctx, filepath.Join(s.pgBin, "pg_ctl"), "-D", s.pgData, "-l", filepath.Join(pgDir, "postgres.log"), "-o", pgOpts, "-w", "start").CombinedOutput(); err != nil {
		return fmt.Errorf("start PostgreSQL: %v\n%s", err, out)
	}
	return nil
}

// setupSchemas creates Temporal's two databases and their schemas (the
// ones embedded in temporal-sql-tool).
func setupSchemas(ctx context.Context, binDir string, port int, log io.Writer) error {
	tool := filepath.Join(binDir, "temporal-sql-tool")
	for db, schema := range map[string]string{"temporal": "postgresql/v12/temporal", "temporal_visibility": "postgresql/v12/visibility"} {
		base := []string{"--plugin", "postgres12", "--ep", "127.0.0.1", "-p", strconv.Itoa(port), "-u", "postgres", "--db", db}
		for _, step := range [][]string{{"create-database"}, {"setup-schema", "-v", "0.0"}, {"update-schema", "--schema-name", schema}} {
			cmd := exec.CommandContext(ctx, tool, append(base, step...)...)
			cmd.Stdout, cmd.Stderr = log, log
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("temporal-sql-tool %s on %s: %w (log: sql-tool.log)", step[0], db, err)
			}
		}
	}
	return nil
}

func (s *Stack) startServer(binDir string, pgPort int, ports []int) error {
	cfgDir := filepath.Join(s.Dir, "config")
	if err := os.MkdirAll(filepath.Join(cfgDir, "dynamicconfig"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(cfgDir, "dynamicconfig", "dynamic.yaml"), []byte(dynamicConfig), 0o644); err != nil {
		return err
	}
	cfg := fmt.Sprintf(serverConfig, pgPort, ports[0], ports[1], ports[2], ports[3], ports[4], ports[5], ports[6], ports[7], ports[8],
		filepath.Join(cfgDir, "dynamicconfig", "dynamic.yaml"))
	if err := os.WriteFile(filepath.Join(cfgDir, "production.yaml"), []byte(cfg), 0o644); err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(binDir, "temporal-server"), "--root", s.Dir, "--config", "config", "--env", "production", "--allow-no-auth", "start")
	log := s.logFile("temporal-server.log")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start temporal-server: %w", err)
	}
	s.server = cmd
	go func() { _ = cmd.Wait(); close(s.done) }()
	return nil
}

// register waits for the frontend, then registers the default namespace
// and velaflow's search attributes.
func (s *Stack) register(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var c client.Client
	for {
		var err error
		c, err = client.DialContext(ctx, client.Options{HostPort: s.Address, Namespace: "temporal-system"})
		if err == nil {
			break
		}
		select {
		case <-s.done:
			return fmt.Errorf("temporal-server exited: %s", tail(filepath.Join(s.Dir, "temporal-server.log"), 2000))
		case <-ctx.Done():
			return fmt.Errorf("temporal-server did not answer at %s: %w", s.Address, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
	defer c.Close()
	_, err := c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: "default", WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
	})
	if err != nil {
		return fmt.Errorf("register namespace default: %w", err)
	}
	attrs := map[string]enumspb.IndexedValueType{}
	for _, k := range []string{workflows.AttrPhase.GetName(), workflows.AttrName.GetName(), workflows.AttrNamespace.GetName()} {
		attrs[k] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	for {
		_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: "default", SearchAttributes: attrs})
		if err == nil {
			return nil
		}
		// The namespace reaches every service's cache within seconds.
		select {
		case <-ctx.Done():
			return fmt.Errorf("register velaflow's search attributes: %w", err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (s *Stack) logFile(name string) io.Writer {
	f, err := os.OpenFile(filepath.Join(s.Dir, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return io.Discard
	}
	s.logs = append(s.logs, f)
	return f
}

// Stop stops the server and PostgreSQL.
func (s *Stack) Stop() {
	if s.server != nil && s.server.Process != nil {
		_ = s.server.Process.Signal(os.Interrupt)
		select {
		case <-s.done:
		case <-time.After(20 * time.Second):
			_ = s.server.Process.Kill()
			<-s.done
		}
	}
	if s.pgDir != "" {
		_ = asPostgres(context.Background(), filepath.Join(s.pgBin, "pg_ctl"), "-D", s.pgData, "-m", "fast", "-w", "stop").Run()
		_ = os.RemoveAll(s.pgDir)
	}
	for _, f := range s.logs {
		_ = f.Close()
	}
}

// freePorts are n free ports below 32768: the server keeps membership
// ports in a smallint column.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for tries := 0; len(ports) < n; tries++ {
		if tries > 1000 {
			return nil, fmt.Errorf("no %d free ports between 20000 and 32767", n)
		}
		p := 20000 + mrand.IntN(12768)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		ls = append(ls, l)
		ports = append(ports, p)
	}
	return ports, nil
}

// dynamicConfig is the server's dynamic config: defaults, but for the
// visibility of search attributes added while it runs.
const dynamicConfig = `system.forceSearchAttributesCacheRefreshOnRead:
  - value: false
`

// serverConfig: PostgreSQL port, then frontend gRPC, frontend HTTP,
// frontend/history/matching/worker membership, history, matching and
// worker gRPC ports, then the dynamic config file.
const serverConfig = `log:
  stdout: true
  level: warn
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: 16
  datastores:
    default:
      sql:
        pluginName: postgres12
        databaseName: temporal
        connectAddr: "127.0.0.1:%[1]d"
        connectProtocol: tcp
        user: postgres
        maxConns: 40
        maxIdleConns: 40
        maxConnLifetime: 1h
    visibility:
      sql:
        pluginName: postgres12
        databaseName: temporal_visibility
        connectAddr: "127.0.0.1:%[1]d"
        connectProtocol: tcp
        user: postgres
        maxConns: 10
        maxIdleConns: 10
        maxConnLifetime: 1h
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "127.0.0.1"
services:
  frontend:
    rpc: {grpcPort: %[2]d, httpPort: %[3]d, membershipPort: %[4]d, bindOnLocalHost: true}
  history:
    rpc: {grpcPort: %[8]d, membershipPort: %[5]d, bindOnLocalHost: true}
  matching:
    rpc: {grpcPort: %[9]d, membershipPort: %[6]d, bindOnLocalHost: true}
  worker:
    rpc: {grpcPort: %[10]d, membershipPort: %[7]d, bindOnLocalHost: true}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "127.0.0.1:%[2]d"
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: "%[11]s"
  pollInterval: 10s
`

// tail is the end of a log file, for errors.
func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
