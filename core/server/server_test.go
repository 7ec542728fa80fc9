package server

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/valyala/fasthttp"

	"github.com/gatehouse/gatehouse/core/config"
)

// startServer runs an in-process server on a free port with a temporary data folder and returns
// its base URL. It stops when the test ends.
func startServer(tb testing.TB, adjust func(*config.Config)) string {
	tb.Helper()
	base, _ := startServerWith(tb, adjust)
	return base
}

// startServerWith is startServer that also returns the server (for tests that reach its store
// as another process on the same store would).
func startServerWith(tb testing.TB, adjust func(*config.Config)) (string, *Server) {
	tb.Helper()
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = tb.TempDir()
	cfg.Registration = "open"
	// One compilation cache for every test: a cold compile of a Go plugin takes ~1 s.
	cfg.PluginCache = "../../.cache/plugin-cache"
	if adjust != nil {
		adjust(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		tb.Fatal(err)
	}
	srv, err := Open(cfg, hclog.NewNullLogger())
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, func(a net.Addr) { addrc <- a }) }()
	var addr net.Addr
	select {
	case addr = <-addrc:
	case err := <-done:
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Error(err)
		}
	})
	return "http://" + addr.String(), srv
}

type client struct {
	tb   testing.TB
	base string
	c    *fasthttp.Client
}

func (c client) do(method, path, token, body string) (int, string) {
	c.tb.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI(c.base + path)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.SetContentType("application/json")
		req.SetBodyString(body)
	}
	if err := c.c.DoTimeout(req, resp, 30*time.Second); err != nil {
		c.tb.Fatal(err)
	}
	return resp.StatusCode(), string(resp.Body())
}

func TestServeRegisterLoginShutdown(t *testing.T) {
	base := startServer(t, func(c *config.Config) { c.Argon2Memory, c.Argon2Time = 64, 1 })
	c := client{t, base, &fasthttp.Client{}}
	tests := []struct {
		name, method, path, body string
		want                     int
	}{
		{"healthz", "GET", "/healthz", "", 200},
		{"readyz", "GET", "/readyz", "", 200},
		{"register", "POST", "/user", `{"email":"a@example.com","password":"Passw0rdX"}`, 200},
		{"duplicate", "POST", "/user", `{"email":"A@EXAMPLE.COM","password":"Passw0rdX"}`, 409},
		{"login", "POST", "/auth/login", `{"username":"a@example.com","password":"Passw0rdX"}`, 200},
		{"wrong password", "POST", "/auth/login", `{"username":"a@example.com","password":"nope"}`, 401},
		{"unknown route", "GET", "/nope", "", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, body := c.do(tt.method, tt.path, "", tt.body); got != tt.want {
				t.Fatalf("%s %s = %d %s, want %d", tt.method, tt.path, got, body, tt.want)
			}
		})
	}
}

// BenchmarkLoginVsArgon2 measures password logins per second through the whole server (HTTP,
// limiter, store, session, token) against raw argon2id hashes per second at the same parameters
// and the same parallelism, in the same run. The two are measured in alternating rounds of 20,
// so a burst of noise on this shared machine hits both alike. ratio = logins/s ÷ hashes/s;
// 1.0 is the physical ceiling.
func BenchmarkLoginVsArgon2(b *testing.B) {
	base := startServer(b, nil)
	c := client{b, base, &fasthttp.Client{MaxConnsPerHost: 64}}
	cfg := config.Default()
	// Two clients per core keep the hashing slots busy while another login waits for its fsync.
	clients := 2 * cfg.HashConcurrency
	for i := 0; i < clients; i++ {
		if code, body := c.do("POST", "/user", "", fmt.Sprintf(`{"email":"u%d@example.com","password":"Passw0rdX"}`, i)); code != 200 {
			b.Fatal(code, body)
		}
	}
	hashOnce := rawHasher(cfg)
	const round = 20
	// run spreads n jobs over workers and returns the wall time.
	run := func(workers, n int, job func(worker int)) time.Duration {
		jobs := make(chan struct{}, n)
		for i := 0; i < n; i++ {
			jobs <- struct{}{}
		}
		close(jobs)
		done := make(chan struct{})
		start := time.Now()
		for w := 0; w < workers; w++ {
			go func(w int) {
				for range jobs {
					job(w)
				}
				done <- struct{}{}
			}(w)
		}
		for w := 0; w < workers; w++ {
			<-done
		}
		return time.Since(start)
	}
	login := func(w int) {
		body := fmt.Sprintf(`{"username":"u%d@example.com","password":"Passw0rdX"}`, w)
		if code, resp := c.do("POST", "/auth/login", "", body); code != 200 {
			b.Error(code, resp)
		}
	}
	b.ResetTimer()
	var loginTime, hashTime time.Duration
	n := 0
	for n < b.N {
		k := min(round, b.N-n)
		loginTime += run(clients, k, login)
		hashTime += run(cfg.HashConcurrency, k, func(int) { hashOnce() })
		n += k
	}
	b.StopTimer()
	logins := float64(n) / loginTime.Seconds()
	hashes := float64(n) / hashTime.Seconds()
	b.ReportMetric(logins, "logins/s")
	b.ReportMetric(hashes, "argon2/s")
	b.ReportMetric(logins/hashes, "ratio")
}

// A second Open on a data folder in use fails on the store's lock; the plugins it was loading
// beside the store are waited for and closed (go test -race sees no race), and the first server
// keeps serving.
func TestOpenWhileInUse(t *testing.T) {
	base, srv := startServerWith(t, nil)
	cfg := srv.cfg
	if _, err := Open(cfg, hclog.NewNullLogger()); err == nil {
		t.Fatal("a second Open on the same data folder succeeded")
	}
	c := client{tb: t, base: base, c: &fasthttp.Client{}}
	if code, body := c.do("GET", "/readyz", "", ""); code != 200 {
		t.Fatalf("readyz of the first server: %d %s", code, body)
	}
}
