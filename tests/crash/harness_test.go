// Package crash_test holds black-box crash, concurrency and hostile-input tests of the real
// gatehouse binary: kill -9 under a mixed load with the acknowledged changes checked after
// every restart, parallel guesses against the guess limiter, and a table of hostile requests.
// Contract: ../../../shared/spec/API.md; `issues show 7`.
//
// The binary is $GATEHOUSE_BIN (default <repo>/bin/gatehouse; `make build`). The tests skip
// when it is missing and GATEHOUSE_BIN is unset.
//
//	go test ./tests/crash/                                        # short (about a minute)
//	CRASH_DURATION=5m go test -run TestKillNine -timeout 20m ./tests/crash/   # make soak
package crash_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// goodPassword satisfies the default password policy.
const goodPassword = "Correct-Horse-9"

// repoRoot is the directory of go.mod above the working directory (the package folder).
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			t.Fatalf("no go.mod above %s", dir)
		}
	}
}

// binary returns the gatehouse binary; it skips the test when the default one is missing.
func binary(t testing.TB) string {
	t.Helper()
	if b := os.Getenv("GATEHOUSE_BIN"); b != "" {
		if _, err := os.Stat(b); err != nil {
			t.Fatalf("GATEHOUSE_BIN=%s: %v", b, err)
		}
		return b
	}
	b := filepath.Join(repoRoot(t), "bin", "gatehouse")
	if _, err := os.Stat(b); err != nil {
		t.Skipf("gatehouse binary not found at %s: run `make build` or set GATEHOUSE_BIN", b)
	}
	return b
}

// ---------------------------------------------------------------- the server process

// server is one `gatehouse serve` on 127.0.0.1 with its own data folder; it can be killed and
// restarted on the same folder (and port, when still free).
type server struct {
	t       testing.TB
	bin     string
	dataDir string
	env     map[string]string
	port    int

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	logs   bytes.Buffer // stdout and stderr of every run, in order
	starts int
}

// startServer starts the binary with the fast test environment plus env and waits for /readyz.
func startServer(t testing.TB, env map[string]string) *server {
	t.Helper()
	return startServerIn(t, t.TempDir(), env)
}

// startServerIn is startServer on the data folder dir.
func startServerIn(t testing.TB, dir string, env map[string]string) *server {
	t.Helper()
	root := repoRoot(t)
	s := &server{
		t:       t,
		bin:     binary(t),
		dataDir: dir,
		env: map[string]string{
			"GATEHOUSE_ARGON2_MEMORY": "1024",
			"GATEHOUSE_ARGON2_TIME":   "1",
			"GATEHOUSE_LOG_LEVEL":     "warn",
			// One compilation cache for every test server (a cold plugin compile takes ~1 s).
			"GATEHOUSE_PLUGIN_CACHE": filepath.Join(root, ".cache", "plugin-cache"),
		},
	}
	for k, v := range env {
		s.env[k] = v
	}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() || os.Getenv("CRASH_VERBOSE") != "" {
			t.Logf("server log (%s):\n%s", s.url(), tail(s.logText(), 6000))
		}
	})
	if err := s.start(0); err != nil {
		t.Fatal(err)
	}
	return s
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}

func (s *server) url() string { return fmt.Sprintf("http://127.0.0.1:%d", s.port) }

func (s *server) logText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

// logWriter appends a process's output to the server's log.
type logWriter struct{ s *server }

func (w logWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.s.logs.Write(p)
}

// start runs the binary on port (0: a free one) and waits until /readyz answers 200.
func (s *server) start(port int) error {
	var last error
	for attempt := 0; attempt < 3; attempt++ {
		p := port
		if p == 0 {
			p = freePort(s.t)
		}
		s.port = p
		env := []string{}
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "GATEHOUSE_") {
				env = append(env, kv)
			}
		}
		env = append(env, "GATEHOUSE_ADDR=127.0.0.1:"+strconv.Itoa(p), "GATEHOUSE_DATA="+s.dataDir)
		for k, v := range s.env {
			env = append(env, k+"="+v)
		}
		cmd := exec.Command(s.bin, "serve")
		cmd.Env = env
		cmd.Stdout = logWriter{s}
		cmd.Stderr = logWriter{s}
		s.mu.Lock()
		s.starts++
		fmt.Fprintf(&s.logs, "----- start %d on port %d\n", s.starts, p)
		s.mu.Unlock()
		if err := cmd.Start(); err != nil {
			return err
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		s.mu.Lock()
		s.cmd, s.exited = cmd, exited
		s.mu.Unlock()
		if last = s.waitReady(60 * time.Second); last == nil {
			return nil
		}
		s.kill()
		if port != 0 && attempt == 0 {
			port = 0 // the old port may be taken: another one
		}
	}
	return fmt.Errorf("gatehouse did not become ready: %v\n%s", last, tail(s.logText(), 4000))
}

func (s *server) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	c := &http.Client{Timeout: 2 * time.Second}
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return errors.New("gatehouse exited during start-up")
		default:
		}
		r, err := c.Get(s.url() + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, r.Body)
			r.Body.Close()
			if r.StatusCode == 200 {
				return nil
			}
			last = fmt.Errorf("readyz %d", r.StatusCode)
		} else {
			last = err
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("not ready after %s: %v", timeout, last)
}

// alive reports whether the current process has not exited.
func (s *server) alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL and waits for the exit.
func (s *server) kill() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}

// restart starts a new process on the same data folder, on the same port when it is free.
func (s *server) restart() error { return s.start(s.port) }

// stop sends SIGTERM (SIGKILL after 15 s) and waits.
func (s *server) stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-exited
	}
}

// checkNoPanic fails the test if the server's output so far mentions a panic.
func (s *server) checkNoPanic(t testing.TB) {
	t.Helper()
	logs := s.logText()
	if i := strings.Index(strings.ToLower(logs), "panic"); i >= 0 {
		s.reportPanic(t, logs, i)
	}
}

// checkNoGoPanic fails the test if the server's output has a Go panic or fatal error of the
// process itself (a line that starts with it), ignoring panics inside plugins, which the host
// logs with a timestamp as the plugin's output.
func (s *server) checkNoGoPanic(t testing.TB) {
	t.Helper()
	logs := s.logText()
	for _, marker := range []string{"\npanic:", "\nfatal error:"} {
		if i := strings.Index("\n"+logs, marker); i >= 0 {
			s.reportPanic(t, logs, i)
		}
	}
}

func (s *server) reportPanic(t testing.TB, logs string, i int) {
	t.Helper()
	lo := max(0, i-500)
	hi := min(len(logs), i+2000)
	t.Errorf("SERVER BUG: the server log mentions a panic:\n%s", logs[lo:hi])
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// ---------------------------------------------------------------- HTTP

// httpClient is shared by the tests; the per-request timeout bounds a hung server.
var httpClient = &http.Client{
	Timeout: 20 * time.Second,
	Transport: &http.Transport{
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     30 * time.Second,
	},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// resp is a response read in full.
type resp struct {
	Status int
	Header http.Header
	Body   []byte
	Sent   time.Time // when the request was sent
	Recv   time.Time // when the response was read
}

func (r *resp) String() string {
	b := string(r.Body)
	if len(b) > 300 {
		b = b[:300] + "..."
	}
	return fmt.Sprintf("%d %s", r.Status, b)
}

// JSON decodes the body into a generic value (nil when it is not JSON).
func (r *resp) JSON() any {
	var v any
	if json.Unmarshal(r.Body, &v) != nil {
		return nil
	}
	return v
}

// obj returns the body as a JSON object, or nil.
func (r *resp) obj() map[string]any {
	m, _ := r.JSON().(map[string]any)
	return m
}

// str returns the string field k of the JSON object body.
func (r *resp) str(k string) string {
	s, _ := r.obj()[k].(string)
	return s
}

// req is one request for do.
type req struct {
	Method, Path string
	JSON         any    // serialised as the body with Content-Type application/json
	Body         []byte // raw body (Header decides the content type)
	Token        string // Authorization: Bearer
	Header       map[string]string
}

// do sends r to base; an error means no complete response (connection refused, reset, EOF).
func do(base string, r req) (*resp, error) {
	var body io.Reader
	hdr := map[string]string{}
	if r.JSON != nil {
		b, err := json.Marshal(r.JSON)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
		hdr["Content-Type"] = "application/json"
	} else if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	hr, err := http.NewRequest(r.Method, base+r.Path, body)
	if err != nil {
		return nil, err
	}
	if r.Token != "" {
		hdr["Authorization"] = "Bearer " + r.Token
	}
	for k, v := range r.Header {
		hdr[k] = v
	}
	for k, v := range hdr {
		hr.Header.Set(k, v)
	}
	out := &resp{Sent: time.Now()}
	res, err := httpClient.Do(hr)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	out.Status, out.Header, out.Body, out.Recv = res.StatusCode, res.Header, b, time.Now()
	return out, nil
}

// reasons are the error-envelope reason labels of spec section 1.
var reasons = map[int]string{
	400: "Bad Request",
	401: "Unauthorized",
	403: "Forbidden",
	404: "Not Found",
	409: "Conflict",
	413: "Payload Too Large",
	429: "Too many requests",
	500: "Internal server error",
	503: "Service Unavailable",
}

// checkEnvelope verifies an error answer per spec section 1: a JSON object with exactly
// statusCode (= the HTTP status), error (the reason label), message (= message unless empty),
// and on 429 (and a 503 with Retry-After) retryAfter (integer, equal to the Retry-After header).
func checkEnvelope(r *resp, status int, message string) error {
	if r.Status != status {
		return fmt.Errorf("want %d %s, got %s", status, message, r)
	}
	return checkAnyEnvelope(r, message)
}

// checkAnyEnvelope is checkEnvelope for whatever error status r has.
func checkAnyEnvelope(r *resp, message string) error {
	if !strings.HasPrefix(strings.ToLower(r.Header.Get("Content-Type")), "application/json") {
		return fmt.Errorf("error answer is not application/json (%q): %s", r.Header.Get("Content-Type"), r)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &m); err != nil || m == nil {
		return fmt.Errorf("error answer is not a JSON object: %s", r)
	}
	// A 429 always says how long to wait; a 503 does when the wait is known (an open plugin
	// circuit breaker: PLUGIN_UNAVAILABLE with Retry-After).
	timed := r.Status == 429 || (r.Status == 503 && r.Header.Get("Retry-After") != "")
	want := []string{"error", "message", "statusCode"}
	if timed {
		want = []string{"error", "message", "retryAfter", "statusCode"}
	}
	got := make([]string, 0, len(m))
	for k := range m {
		// A 5xx also names the log entry (notes/style.md "Errors"; the OpenAPI document's
		// envelope): tolerated beside the spec's three keys.
		if k == "requestId" && r.Status >= 500 {
			continue
		}
		got = append(got, k)
	}
	sort.Strings(got)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		return fmt.Errorf("envelope keys %v, want %v: %s", got, want, r)
	}
	var env struct {
		StatusCode json.Number `json:"statusCode"`
		Error      string      `json:"error"`
		Message    *string     `json:"message"`
		RetryAfter json.Number `json:"retryAfter"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	if err := dec.Decode(&env); err != nil {
		return fmt.Errorf("envelope fields: %v: %s", err, r)
	}
	if env.StatusCode.String() != strconv.Itoa(r.Status) {
		return fmt.Errorf("statusCode %s != HTTP status %d: %s", env.StatusCode, r.Status, r)
	}
	label, known := reasons[r.Status]
	if !known {
		return fmt.Errorf("status %d has no reason label in spec section 1: %s", r.Status, r)
	}
	if env.Error != label {
		return fmt.Errorf("reason label %q, want %q: %s", env.Error, label, r)
	}
	if env.Message == nil {
		return fmt.Errorf("message is not a string: %s", r)
	}
	if message != "" && *env.Message != message {
		return fmt.Errorf("message %q, want %q: %s", *env.Message, message, r)
	}
	if timed {
		ra, err := strconv.Atoi(env.RetryAfter.String())
		if err != nil || ra < 0 {
			return fmt.Errorf("retryAfter is not a non-negative integer: %s", r)
		}
		if h := r.Header.Get("Retry-After"); h != strconv.Itoa(ra) {
			return fmt.Errorf("Retry-After header %q != retryAfter %d", h, ra)
		}
	}
	return nil
}

// retryAfter is the retryAfter of a 429 envelope (-1 if absent).
func (r *resp) retryAfter() int {
	if f, ok := r.obj()["retryAfter"].(float64); ok {
		return int(f)
	}
	return -1
}

// isNull reports a 200 with the JSON body null.
func isNull(r *resp) bool {
	return r.Status == 200 && strings.TrimSpace(string(r.Body)) == "null"
}

// ---------------------------------------------------------------- accounts

var emailSeq struct {
	sync.Mutex
	n int
}

// uniqueEmail is a fresh address at example.com (not a disposable provider).
func uniqueEmail(tag string) string {
	emailSeq.Lock()
	emailSeq.n++
	n := emailSeq.n
	emailSeq.Unlock()
	return fmt.Sprintf("%s-%d-%06x@example.com", tag, n, rand.IntN(1<<24))
}

// user is an account and one session of it.
type user struct {
	Email, Password string
	ID              int
	Refresh, Access string
}

// register creates an account (registration must be open).
func register(base, email, password string) (*user, error) {
	r, err := do(base, req{Method: "POST", Path: "/user", JSON: map[string]string{"email": email, "password": password}})
	if err != nil {
		return nil, err
	}
	if r.Status != 200 {
		return nil, fmt.Errorf("register %s: %s", email, r)
	}
	id, _ := r.obj()["userId"].(float64)
	return &user{Email: email, Password: password, ID: int(id)}, nil
}

// login returns the token text of a 200, or the response as an error.
func login(base, email, password string) (string, *resp, error) {
	r, err := do(base, req{Method: "POST", Path: "/auth/login", JSON: map[string]string{"username": email, "password": password}})
	if err != nil {
		return "", nil, err
	}
	if r.Status != 200 {
		return "", r, nil
	}
	return string(r.Body), r, nil
}

// newSession registers a user and logs in: refresh and access tokens.
func newSession(base, tag string) (*user, error) {
	u, err := register(base, uniqueEmail(tag), goodPassword)
	if err != nil {
		return nil, err
	}
	refresh, r, err := login(base, u.Email, u.Password)
	if err != nil {
		return nil, err
	}
	if refresh == "" {
		return nil, fmt.Errorf("login %s: %s", u.Email, r)
	}
	a, err := do(base, req{Method: "GET", Path: "/auth/accesstoken", Token: refresh})
	if err != nil {
		return nil, err
	}
	if a.Status != 200 {
		return nil, fmt.Errorf("accesstoken: %s", a)
	}
	u.Refresh, u.Access = refresh, string(a.Body)
	return u, nil
}

// jwtPart decodes one base64url part of a JWT into a map.
func jwtPart(tok string, i int) map[string]any {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		return nil
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// ---------------------------------------------------------------- TOTP

const totpStep = 30

// totpGen hands out codes for strictly increasing 30 s steps inside the server's window of one
// step either side, so a code is never presented twice by accident (the server refuses a
// replay). Not safe for concurrent use.
type totpGen struct {
	secret   string
	lastStep int64
}

// newTotp parses the otpauth URL of a setup answer.
func newTotp(url string) (*totpGen, error) {
	k, err := otp.NewKeyFromURL(url)
	if err != nil {
		return nil, err
	}
	if k.Secret() == "" {
		return nil, fmt.Errorf("no secret in %s", url)
	}
	return &totpGen{secret: k.Secret(), lastStep: -1}, nil
}

// codeAt is the RFC 6238 code of a step.
func (g *totpGen) codeAt(step int64) string {
	c, err := totp.GenerateCodeCustom(g.secret, time.Unix(step*totpStep, 0), totp.ValidateOpts{
		Period: totpStep, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		panic(err) // the secret came from otp.NewKeyFromURL
	}
	return c
}

// stepAt is the TOTP step of t.
func stepAt(t time.Time) int64 { return t.Unix() / totpStep }

// validFor is how long a code of step stays inside the server's window (until the end of
// step+1), seen at now.
func validFor(step int64, now time.Time) time.Duration {
	return time.Unix((step+2)*totpStep, 0).Sub(now)
}

// next returns an unused code that stays valid at least minValidity, without waiting; ok is
// false when every step of the window is used up (try again after the next step starts).
func (g *totpGen) next(minValidity time.Duration) (code string, step int64, ok bool) {
	now := time.Now()
	cur := stepAt(now)
	for s := max(g.lastStep+1, cur-1); s <= cur+1; s++ {
		// Keep away from the step boundaries, where client and server may disagree.
		if validFor(s, now) >= minValidity && time.Unix((cur+1)*totpStep, 0).Sub(now) >= 2*time.Second &&
			now.Sub(time.Unix(cur*totpStep, 0)) >= time.Second {
			g.lastStep = s
			return g.codeAt(s), s, true
		}
	}
	return "", 0, false
}

// wait returns a code, waiting for the next step when the window is used up.
func (g *totpGen) wait(minValidity time.Duration) (string, int64) {
	for {
		if c, s, ok := g.next(minValidity); ok {
			return c, s
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// wrongCode is a 6-digit code valid nowhere near now.
func (g *totpGen) wrongCode() string {
	cur := stepAt(time.Now())
	bad := map[string]bool{}
	for d := int64(-3); d <= 3; d++ {
		bad[g.codeAt(cur+d)] = true
	}
	for {
		c := fmt.Sprintf("%06d", rand.IntN(1000000))
		if !bad[c] {
			return c
		}
	}
}

// totpUser is a session whose user has TOTP enabled (so also recovery codes).
type totpUser struct {
	*user
	gen      *totpGen
	recovery []string
}

// enableTotp sets up and enables TOTP for a fresh session.
func enableTotp(base string, u *user) (*totpUser, error) {
	r, err := do(base, req{Method: "POST", Path: "/user/2fa/totp/setup", Token: u.Access, JSON: map[string]any{}})
	if err != nil {
		return nil, err
	}
	if r.Status != 200 || r.str("url") == "" {
		return nil, fmt.Errorf("totp setup: %s", r)
	}
	gen, err := newTotp(r.str("url"))
	if err != nil {
		return nil, err
	}
	code, _ := gen.wait(5 * time.Second)
	r, err = do(base, req{Method: "POST", Path: "/user/2fa/totp/enable", Token: u.Access, JSON: map[string]string{"totp": code}})
	if err != nil {
		return nil, err
	}
	var body struct {
		RecoveryCodes []string `json:"recoveryCodes"`
	}
	if r.Status != 200 || json.Unmarshal(r.Body, &body) != nil || len(body.RecoveryCodes) != 10 {
		return nil, fmt.Errorf("totp enable: %s", r)
	}
	return &totpUser{user: u, gen: gen, recovery: body.RecoveryCodes}, nil
}

// parallel runs f(i) for i in [0, n) on n goroutines and returns the first error.
func parallel(n int, f func(i int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(i)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
