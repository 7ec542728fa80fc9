// Package pgtest starts a private PostgreSQL cluster for a test: initdb into a temporary
// folder, postgres on a free loopback port (as an unprivileged user when the test runs as
// root), stopped and removed when the test ends. Nothing is left running.
//
// When PostgreSQL is not installed the test fails in CI (CI or GATEHOUSE_REQUIRE_POSTGRES=1 in
// the environment: `make postgres-deps` installs it) and is skipped elsewhere.
package pgtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// unprivilegedUser runs the cluster when the test runs as root (postgres refuses root).
const unprivilegedUser = "nobody"

// startDeadline bounds how long a starting cluster may take before the test fails (a liveness
// bound on a busy machine, not a measured duration).
const startDeadline = 2 * time.Minute

// Cluster is a running private PostgreSQL server.
type Cluster struct {
	// Dir holds the data folder, the socket folder and the server's log.
	Dir  string
	Port int
	// Bin is the folder of the PostgreSQL programs used.
	Bin string

	cmd    *exec.Cmd
	exited chan error // receives the server's exit
	cred   *syscall.Credential
	dbs    atomic.Int64
}

// Required reports whether a missing PostgreSQL must fail the test instead of skipping it.
func Required() bool {
	return os.Getenv("CI") != "" || os.Getenv("GATEHOUSE_REQUIRE_POSTGRES") == "1"
}

// BinDir returns the folder of the newest installed PostgreSQL's programs, or "".
func BinDir() string {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	sort.Slice(matches, func(i, j int) bool { return version(matches[i]) > version(matches[j]) })
	if len(matches) == 0 {
		return ""
	}
	return filepath.Dir(matches[0])
}

func version(postgresPath string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(postgresPath))))
	return n
}

// Start starts a cluster for t, stopped and removed in t.Cleanup.
func Start(t testing.TB) *Cluster {
	t.Helper()
	bin := BinDir()
	if bin == "" {
		msg := "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres): run `make postgres-deps` (apt-get install postgresql)"
		if Required() {
			t.Fatal(msg)
		}
		t.Skip(msg + "; skipped (set GATEHOUSE_REQUIRE_POSTGRES=1 to fail instead)")
	}
	dir, err := os.MkdirTemp("", "gatehouse-pg-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{Dir: dir, Bin: bin}
	t.Cleanup(func() {
		c.stop()
		os.RemoveAll(dir)
	})
	if err := c.start(); err != nil {
		t.Fatalf("pgtest: %v\n%s", err, c.logTail())
	}
	return c
}

func (c *Cluster) start() error {
	if os.Geteuid() == 0 {
		u, err := user.Lookup(unprivilegedUser)
		if err != nil {
			return fmt.Errorf("the unprivileged user %s: %w", unprivilegedUser, err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		// The user must reach its folders: the temp folder is 0700 root's.
		if err := os.Chmod(c.Dir, 0o755); err != nil {
			return err
		}
	}
	for _, sub := range []string{"data", "run"} {
		p := filepath.Join(c.Dir, sub)
		if err := os.Mkdir(p, 0o700); err != nil {
			return err
		}
		if c.cred != nil {
			if err := os.Chown(p, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
				return err
			}
		}
	}
	initdb := c.command(filepath.Join(c.Bin, "initdb"), "-D", c.dataDir(), "-U", "postgres",
		"--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	c.Port = port
	return c.run()
}

// run starts the postgres server on c.Port over the initialised data folder and waits until it
// accepts connections.
func (c *Cluster) run() error {
	port := c.Port
	logFile, err := os.OpenFile(filepath.Join(c.Dir, "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	c.cmd = c.command(filepath.Join(c.Bin, "postgres"), "-D", c.dataDir(), "-p", strconv.Itoa(port),
		"-k", filepath.Join(c.Dir, "run"), "-c", "listen_addresses=127.0.0.1",
		"-c", "max_connections=200", "-c", "fsync=on", "-c", "synchronous_commit=on")
	c.cmd.Stdout, c.cmd.Stderr = logFile, logFile
	// The server dies with the test process, even a killed one.
	c.cmd.SysProcAttr.Pdeathsig = syscall.SIGQUIT
	if err := c.cmd.Start(); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	exited := make(chan error, 1)
	c.exited = exited
	go func() { exited <- c.cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(startDeadline)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		conn, err := pgx.Connect(ctx, c.URL("postgres"))
		if err == nil {
			conn.Close(ctx)
			cancel()
			return nil
		}
		cancel()
		select {
		case err := <-exited:
			return fmt.Errorf("postgres exited while starting: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres did not accept connections within %v: %v", startDeadline, err)
		}
	}
}

func (c *Cluster) dataDir() string { return filepath.Join(c.Dir, "data") }

// command runs name as the cluster's user.
func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	return cmd
}

// stop shuts the server down at once (SIGQUIT: immediate shutdown) and waits until it has
// exited (the postmaster ends its children first).
func (c *Cluster) stop() {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-c.exited:
	case <-time.After(startDeadline):
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
}

// Stop stops the server now (it is also stopped when the test ends).
func (c *Cluster) Stop() { c.stop(); c.cmd = nil }

// Restart starts a stopped server again on the same port and data folder (after an immediate
// shutdown it runs crash recovery first).
func (c *Cluster) Restart() error {
	if c.cmd != nil {
		return fmt.Errorf("pgtest: the server is running")
	}
	if err := c.run(); err != nil {
		return fmt.Errorf("pgtest: restart: %w\n%s", err, c.logTail())
	}
	return nil
}

// Launch starts a cluster outside a Go test (internal/pgtest/cmd/pgcluster); Close stops and
// removes it. It returns an error where Start skips or fails the test.
func Launch() (*Cluster, error) {
	bin := BinDir()
	if bin == "" {
		return nil, fmt.Errorf("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres): run `make postgres-deps` (apt-get install postgresql)")
	}
	dir, err := os.MkdirTemp("", "gatehouse-pg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, Bin: bin}
	if err := c.start(); err != nil {
		tail := c.logTail()
		c.Close()
		return nil, fmt.Errorf("pgtest: %v\n%s", err, tail)
	}
	return c, nil
}

// Close stops the server and removes its folder.
func (c *Cluster) Close() {
	c.stop()
	c.cmd = nil
	os.RemoveAll(c.Dir)
}

// CreateDatabase creates an empty database and returns its URL.
func (c *Cluster) CreateDatabase() (string, error) {
	name := fmt.Sprintf("gatehouse_%d", c.dbs.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("create database: %w", err)
	}
	return c.URL(name), nil
}

// URL returns the URL of database db on the cluster (TCP on loopback, user postgres).
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, db)
}

// NewDatabase creates an empty database and returns its URL.
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	u, err := c.CreateDatabase()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return u
}

// Database starts a cluster for t and returns the URL of a new database on it.
func Database(t testing.TB) string {
	t.Helper()
	return Start(t).NewDatabase(t)
}

func (c *Cluster) logTail() string {
	b, _ := os.ReadFile(filepath.Join(c.Dir, "postgres.log"))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
