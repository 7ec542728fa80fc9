package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var built struct {
	once sync.Once
	bin  string
	err  error
}

// gatehouseBinary returns $GATEHOUSE_BIN, or builds the command once into a temporary folder.
func gatehouseBinary(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("GATEHOUSE_BIN"); b != "" {
		return b
	}
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "gatehouse-bin-")
		if err != nil {
			built.err = err
			return
		}
		built.bin = filepath.Join(dir, "gatehouse")
		if out, err := exec.Command("go", "build", "-o", built.bin, ".").CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

// syncBuffer collects a process's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// process is a `gatehouse serve` started by a test.
type process struct {
	url    string
	addr   string
	logs   *syncBuffer
	exited chan struct{}
	err    error
}

func freeAddr(t *testing.T, host string) string {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startProcess starts the binary under `sh -c` with the shell prefix (such as `ulimit -n 64;`)
// and the environment env, listening on host, and waits for /readyz.
func startProcess(t *testing.T, shellPrefix, host string, env map[string]string) *process {
	t.Helper()
	bin := gatehouseBinary(t)
	cache, _ := filepath.Abs("../../.cache/plugin-cache")
	p := &process{addr: freeAddr(t, host), logs: &syncBuffer{}, exited: make(chan struct{})}
	p.url = "http://" + p.addr
	cmd := exec.Command("sh", "-c", shellPrefix+` exec "$0" serve`, bin)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"GATEHOUSE_ADDR=" + p.addr, "GATEHOUSE_DATA=" + t.TempDir(), "GATEHOUSE_PLUGIN_CACHE=" + cache,
		"GATEHOUSE_ARGON2_MEMORY=1024", "GATEHOUSE_ARGON2_TIME=1", "GATEHOUSE_LOG_LEVEL=warn"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("server log:\n%s", p.logs.String())
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		if status, _, err := p.get("/readyz"); err == nil && status == 200 {
			return p
		}
		select {
		case <-p.exited:
			t.Fatalf("gatehouse exited at start (%v):\n%s", p.err, p.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("gatehouse not ready:\n%s", p.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *process) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// get sends one request on a fresh connection.
func (p *process) get(path string) (int, string, error) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(p.url + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// readAnswer reads an HTTP answer the server sent on c unasked (a refused connection), or
// reports that none came within a second.
func readAnswer(c net.Conn) (*http.Response, map[string]any, error) {
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	var env map[string]any
	err = json.NewDecoder(resp.Body).Decode(&env)
	return resp, env, err
}

// nonLoopbackIP is an IPv4 address of this machine that is not a loopback one, or "".
func nonLoopbackIP() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.String()
		}
	}
	return ""
}

// held returns the connections on which the server sent nothing (it holds them, idle), and
// closes the others (refused: an answer, then EOF).
func held(conns []net.Conn) []net.Conn {
	var out []net.Conn
	for _, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		var b [1]byte
		_, err := c.Read(b[:])
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			_ = c.SetReadDeadline(time.Time{})
			out = append(out, c)
			continue
		}
		c.Close()
	}
	return out
}

// TestConnectionLimits holds many idle connections open against the real binary: it must
// neither exit (accept failing with EMFILE under a low open-file limit) nor serve past its caps;
// a connection over a cap gets the error envelope; once the connections close it serves again.
func TestConnectionLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary")
	}
	tests := []struct {
		name       string
		shell      string
		host       string // the address to listen on and dial ("" for 127.0.0.1)
		env        map[string]string
		conns      int // to open at first
		cap        int // the connections the server must hold before one more is over the cap; 0: unknown
		wantStatus int // of a connection over the cap
	}{
		{"open-file limit of 64, 150 idle connections", "ulimit -n 64;", "", nil, 150, 0, 503},
		{"GATEHOUSE_MAX_CONNS=5", "", "", map[string]string{"GATEHOUSE_MAX_CONNS": "5"}, 5, 5, 503},
		// The per-IP cap exempts loopback peers: listen on and dial from a non-loopback address.
		{"GATEHOUSE_MAX_CONNS_PER_IP=4", "", "non-loopback", map[string]string{"GATEHOUSE_MAX_CONNS_PER_IP": "4"}, 4, 4, 429},
		{"loopback is exempt from GATEHOUSE_MAX_CONNS_PER_IP", "", "", map[string]string{"GATEHOUSE_MAX_CONNS_PER_IP": "2", "GATEHOUSE_MAX_CONNS": "6"}, 6, 6, 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host := "127.0.0.1"
			if tt.host == "non-loopback" {
				if host = nonLoopbackIP(); host == "" {
					t.Skip("no non-loopback IPv4 address on this machine")
				}
			}
			p := startProcess(t, tt.shell, host, tt.env)
			var conns []net.Conn
			defer func() {
				for _, c := range conns {
					c.Close()
				}
			}()
			for range tt.conns {
				c, err := net.DialTimeout("tcp", p.addr, 2*time.Second)
				if err != nil {
					break // the backlog is full: the server is not accepting, which is the point
				}
				conns = append(conns, c)
			}
			// Past refuseLinger, the refusals of the surplus connections are over.
			time.Sleep(1500 * time.Millisecond)
			// One more connection is over the cap: it is answered in the envelope and closed.
			// Kept first: the connections the server holds (the refused ones got an answer or
			// EOF). One may have been refused while the readiness probe's connection still
			// counted, its answer late on a loaded machine: then top up and try again.
			var resp *http.Response
			var env map[string]any
			for attempt := 0; ; attempt++ {
				conns = held(conns)
				more := tt.cap - len(conns)
				if tt.cap == 0 && attempt > 0 {
					more = 10 // the cap is the server's: over it, some of these are refused
				}
				for range more {
					if c, err := net.DialTimeout("tcp", p.addr, 2*time.Second); err == nil {
						conns = append(conns, c)
					}
				}
				if !p.alive() {
					t.Fatalf("the server exited while %d connections were open (%v)", len(conns), p.err)
				}
				c, err := net.DialTimeout("tcp", p.addr, 2*time.Second)
				if err != nil {
					t.Fatalf("dial over the cap: %v", err)
				}
				_, _ = fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
				resp, env, err = readAnswer(c)
				c.Close()
				if err != nil {
					t.Fatalf("a connection over the cap: no answer: %v", err)
				}
				ok := resp.StatusCode == tt.wantStatus && env["statusCode"] == float64(tt.wantStatus) && env["message"] == "TOO_MANY_CONNECTIONS"
				if ok {
					break
				}
				if attempt == 4 {
					t.Fatalf("over the cap (%d connections held): %d %v, want %d TOO_MANY_CONNECTIONS in the envelope", len(conns), resp.StatusCode, env, tt.wantStatus)
				}
				time.Sleep(time.Second)
			}
			if tt.wantStatus == 429 && (resp.Header.Get("Retry-After") == "" || env["retryAfter"] == nil) {
				t.Fatalf("a 429 needs Retry-After and retryAfter: %v %v", resp.Header, env)
			}
			for _, c := range conns {
				c.Close()
			}
			conns = nil
			deadline := time.Now().Add(10 * time.Second)
			for {
				status, body, err := p.get("/readyz")
				if err == nil && status == 200 {
					break
				}
				if !p.alive() || time.Now().After(deadline) {
					t.Fatalf("no service after the connections closed: alive=%v %d %s %v", p.alive(), status, body, err)
				}
				time.Sleep(100 * time.Millisecond)
			}
			if !strings.Contains(p.logs.String(), "connection refused") {
				t.Errorf("the refusal is not logged")
			}
		})
	}
}
