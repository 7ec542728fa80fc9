// Package multinode_test runs two `gatehouse serve` processes (the real binary,
// $GATEHOUSE_BIN or <repo>/bin/gatehouse) on one PostgreSQL database (a private cluster from
// internal/pgtest) and checks what one node does is seen by the other: issue 13.
package multinode_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/pgtest"
)

// liveness bounds every wait for something that must happen; reaching it fails the test (it
// is not a measured duration).
const liveness = 2 * time.Minute

func repoRoot(t testing.TB) string {
	t.Helper()
	dir, _ := os.Getwd()
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			t.Fatalf("no go.mod above %s", dir)
		}
	}
}

func binary(t testing.TB) string {
	t.Helper()
	if b := os.Getenv("GATEHOUSE_BIN"); b != "" {
		return b
	}
	b := filepath.Join(repoRoot(t), "bin", "gatehouse")
	if _, err := os.Stat(b); err != nil {
		t.Skipf("gatehouse binary not found at %s: run `make build` or set GATEHOUSE_BIN", b)
	}
	return b
}

// node is one `gatehouse serve`, stopped when the test ends.
type node struct {
	url    string
	cmd    *exec.Cmd
	exited chan struct{}
	mu     sync.Mutex
	log    bytes.Buffer
}

func (n *node) Write(p []byte) (int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.log.Write(p)
}

func (n *node) logText() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.log.String()
}

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startNode starts a node with env; it waits for /readyz unless the process exits first
// (then it returns the node with exited closed).
func startNode(t testing.TB, env map[string]string) *node {
	t.Helper()
	port := freePort(t)
	n := &node{url: fmt.Sprintf("http://127.0.0.1:%d", port), exited: make(chan struct{})}
	n.cmd = exec.Command(binary(t), "serve")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GATEHOUSE_") {
			n.cmd.Env = append(n.cmd.Env, kv)
		}
	}
	base := map[string]string{
		"GATEHOUSE_ADDR":          "127.0.0.1:" + strconv.Itoa(port),
		"GATEHOUSE_DATA":          t.TempDir(),
		"GATEHOUSE_ARGON2_MEMORY": "1024",
		"GATEHOUSE_ARGON2_TIME":   "1",
		"GATEHOUSE_REGISTRATION":  "open",
		"GATEHOUSE_LOG_LEVEL":     "warn",
		"GATEHOUSE_PLUGIN_CACHE":  filepath.Join(repoRoot(t), ".cache", "plugin-cache"),
	}
	for k, v := range env {
		base[k] = v
	}
	for k, v := range base {
		n.cmd.Env = append(n.cmd.Env, k+"="+v)
	}
	n.cmd.Stdout, n.cmd.Stderr = n, n
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = n.cmd.Wait(); close(n.exited) }()
	t.Cleanup(func() {
		_ = n.cmd.Process.Kill()
		<-n.exited
		if t.Failed() {
			t.Logf("log of %s:\n%s", n.url, n.logText())
		}
	})
	deadline := time.Now().Add(liveness)
	for time.Now().Before(deadline) {
		select {
		case <-n.exited:
			return n
		default:
		}
		if resp, err := http.Get(n.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return n
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s not ready within %v:\n%s", n.url, liveness, n.logText())
	return nil
}

func call(t testing.TB, method, url, bearer, body string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), liveness)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestTwoNodesOnePostgres: register on A, log in on B, log out on A, and the session's tokens
// are refused on B. The delay between A's answer and B's first refusal is logged (the target
// of issue 13: refused by the next request).
func TestTwoNodesOnePostgres(t *testing.T) {
	dbURL := pgtest.Database(t)
	keyFile := filepath.Join(t.TempDir(), "master.key")
	env := map[string]string{"GATEHOUSE_STORE": dbURL, "GATEHOUSE_MASTER_KEY_FILE": keyFile}
	a := startNode(t, env)
	b := startNode(t, env)
	for _, n := range []*node{a, b} {
		select {
		case <-n.exited:
			t.Fatalf("%s exited at start:\n%s", n.url, n.logText())
		default:
		}
	}

	if code, body := call(t, "POST", a.url+"/user", "", `{"email":"ada@example.com","password":"Analytical1"}`); code != 200 && code != 201 {
		t.Fatalf("register on A: %d %s", code, body)
	}
	code, refresh := call(t, "POST", b.url+"/auth/login", "", `{"username":"ada@example.com","password":"Analytical1"}`)
	if code != 200 {
		t.Fatalf("login on B: %d %s", code, refresh)
	}
	code, access := call(t, "GET", b.url+"/auth/accesstoken", refresh, "")
	if code != 200 {
		t.Fatalf("access token on B: %d %s", code, access)
	}
	if code, body := call(t, "GET", b.url+"/auth/accesstoken/validate", access, ""); code != 200 {
		t.Fatalf("validate on B: %d %s", code, body)
	}
	if code, body := call(t, "GET", a.url+"/auth/accesstoken/validate", access, ""); code != 200 {
		t.Fatalf("validate on A of B's token: %d %s", code, body)
	}

	if code, body := call(t, "POST", a.url+"/auth/logout", refresh, ""); code != 204 {
		t.Fatalf("logout on A: %d %s", code, body)
	}
	answered := time.Now()
	for _, check := range []struct{ name, path, token string }{
		{"access token validated", "/auth/accesstoken/validate", access},
		{"refresh token traded", "/auth/accesstoken", refresh},
	} {
		requests := 0
		for {
			requests++
			code, _ := call(t, "GET", b.url+check.path, check.token, "")
			if code == 401 {
				break
			}
			if code != 200 {
				t.Fatalf("%s on B after logout: %d", check.name, code)
			}
			if time.Since(answered) > liveness {
				t.Fatalf("%s: still accepted on B %v after the logout on A", check.name, liveness)
			}
			time.Sleep(time.Millisecond)
		}
		t.Logf("%s on B: refused by request %d after the logout on A, %v after A's answer", check.name, requests, time.Since(answered))
	}

	// A node with another master key refuses to start, and says why.
	other := startNode(t, map[string]string{"GATEHOUSE_STORE": dbURL, "GATEHOUSE_MASTER_KEY_FILE": filepath.Join(t.TempDir(), "master.key")})
	select {
	case <-other.exited:
		if !strings.Contains(other.logText(), "master key does not match") {
			t.Fatalf("the node with another master key exited without saying why:\n%s", other.logText())
		}
	case <-time.After(liveness):
		t.Fatal("a node with another master key did not exit")
	}
}

// run runs the binary with args and the test's environment plus env.
func run(t *testing.T, stdin string, env map[string]string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), "GATEHOUSE_ARGON2_MEMORY=1024", "GATEHOUSE_ARGON2_TIME=1",
		"GATEHOUSE_PLUGIN_CACHE="+filepath.Join(repoRoot(t), ".cache", "plugin-cache"))
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("gatehouse %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func login(t *testing.T, n *node) {
	t.Helper()
	if code, body := call(t, "POST", n.url+"/auth/login", "", `{"username":"ada@example.com","password":"Analytical1"}`); code != 200 {
		t.Fatalf("login on %s: %d %s\n%s", n.url, code, body, n.logText())
	}
}

// TestMoveBadgerToPostgresAndBack: an account made on a Badger data folder logs in on a node
// on PostgreSQL after `gatehouse backup` and `gatehouse restore --store`, and on a new Badger
// folder after the way back.
func TestMoveBadgerToPostgresAndBack(t *testing.T) {
	dbURL := pgtest.Database(t)
	data := t.TempDir()
	run(t, "Analytical1\n", nil, "user", "create", "--email", "ada@example.com", "--data", data)
	dump := filepath.Join(t.TempDir(), "badger.dump")
	run(t, "", nil, "backup", "--data", data, dump)
	key := filepath.Join(data, "master.key")
	t.Log(strings.TrimSpace(run(t, "", nil, "restore", "--store", dbURL, "--master-key-file", key, dump)))
	t.Log(strings.TrimSpace(run(t, "", nil, "migrate", "--store", dbURL)))

	pg := startNode(t, map[string]string{"GATEHOUSE_STORE": dbURL, "GATEHOUSE_MASTER_KEY_FILE": key, "GATEHOUSE_REGISTRATION": "closed"})
	login(t, pg)

	back := filepath.Join(t.TempDir(), "pg.dump")
	run(t, "", nil, "backup", "--store", dbURL, "--master-key-file", key, back)
	data2 := t.TempDir()
	k, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data2, "master.key"), k, 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, "", nil, "restore", "--data", data2, back)
	badger := startNode(t, map[string]string{"GATEHOUSE_DATA": data2, "GATEHOUSE_REGISTRATION": "closed"})
	login(t, badger)
}
