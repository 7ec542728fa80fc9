package host_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host"
	"github.com/gatehouse/gatehouse/plugins"
	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
	"github.com/hashicorp/go-hclog"
)

// The first-party default policy, built once per test binary through
// sdktest.Build (the go tool's cache makes that quick when `make plugins`
// already built it); fixtures are the committed .wasm in testdata/.
var (
	defaultOnce sync.Once
	defaultWasm []byte
)

func defaultPolicyWasm(t testing.TB) []byte {
	t.Helper()
	defaultOnce.Do(func() {
		b, err := os.ReadFile(sdktest.Build(t, "../plugins/password-default"))
		if err != nil {
			t.Fatal(err)
		}
		defaultWasm = b
	})
	if defaultWasm == nil {
		t.Fatal("default policy not built")
	}
	return defaultWasm
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newHost(t testing.TB, cfg host.Config) *host.Host {
	t.Helper()
	return sdktest.NewHost(t, cfg)
}

func mustLoad(t testing.TB, h *host.Host, source string, wasm []byte) {
	t.Helper()
	if err := h.Load(context.Background(), source, wasm); err != nil {
		t.Fatal(err)
	}
}

func policy(t testing.TB, h *host.Host, id string) *host.PasswordPolicy {
	t.Helper()
	pp, err := h.PasswordPolicy(id)
	if err != nil {
		t.Fatal(err)
	}
	return pp
}

func status(t testing.TB, h *host.Host, id string) host.PluginStatus {
	t.Helper()
	for _, s := range h.Status() {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no status for %s", id)
	return host.PluginStatus{}
}

func TestDefaultPolicy(t *testing.T) {
	h := newHost(t, host.Config{})
	mustLoad(t, h, "password-default", defaultPolicyWasm(t))
	pp := policy(t, h, "password.default")
	const (
		upper = "Password must contain at least one uppercase character"
		lower = "Password must contain at least one lowercase character"
		digit = "Password must contain at least one digit"
	)
	tests := []struct {
		name, password, field string
		want                  []string
	}{
		{name: "good", password: "GoodPassw0rd"},
		{name: "exactly 8", password: "Abcdef12"},
		{name: "7 characters", password: "Abcde12", field: "newPassword", want: []string{"body/newPassword must NOT have fewer than 8 characters"}},
		{name: "field defaults to password", password: "Ab1", want: []string{"body/password must NOT have fewer than 8 characters"}},
		{name: "256 characters", password: "Aa1" + strings.Repeat("x", 253)},
		{name: "257 characters", password: "Aa1" + strings.Repeat("x", 254), field: "newPassword", want: []string{"body/newPassword must NOT have more than 256 characters"}},
		{name: "counted in characters, not bytes", password: "Aa1" + strings.Repeat("é", 253)},
		{name: "8 characters of 2 bytes and more", password: "Aa1éééé€"},
		{name: "7 multibyte characters", password: "Aa1éééé", want: []string{"body/password must NOT have fewer than 8 characters"}},
		{name: "no uppercase", password: "lowercase1", want: []string{upper}},
		{name: "no lowercase", password: "UPPERCASE1", want: []string{lower}},
		{name: "no digit", password: "NoDigitsHere", want: []string{digit}},
		{name: "non-ASCII letters are not letters", password: "ÄÖÜäöü1234", want: []string{upper, lower}},
		{name: "all rules in order", password: "!!!!!!!!", want: []string{upper, lower, digit}},
		{name: "empty", password: "", field: "newPassword", want: []string{"body/newPassword must NOT have fewer than 8 characters", upper, lower, digit}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := pp.Check(context.Background(), abi.PasswordCheckRequest{Password: tt.password, Field: tt.field})
			if err != nil {
				t.Fatal(err)
			}
			if (v == nil) != (len(tt.want) == 0) || strings.Join(reasonMessages(v), "|") != strings.Join(tt.want, "|") {
				t.Fatalf("got accepted=%v %q, want %q", v == nil, reasonMessages(v), tt.want)
			}
		})
	}
}

func TestLoadFailures(t *testing.T) {
	tests := []struct {
		fixture string
		grants  []string
		want    string
	}{
		{"abi-v2", nil, "unsupported ABI version 2: this host speaks ABI v1"},
		{"abi-minor", nil, fmt.Sprintf("built for ABI v1.99; this host speaks up to v1.%d", abi.Minor)},
		{"no-marker", nil, `not a Gatehouse plugin: no "gatehouse_abi_v1" export`},
		{"bad-descriptor", nil, "undecodable descriptor"},
		{"wrong-namespace", nil, `id "twofactor.imposter" is not in its kind's namespace "password."`},
		{"missing-hook", nil, `declares hook "password_check" but does not export "gatehouse_password_check"`},
		{"wrong-signature", nil, `export "gatehouse_password_check": signature (i64) -> (i32), want (i32) -> (i32)`},
		{"init-trap", nil, "_initialize"},
		{"unknown-import", nil, `imports unknown module "env"`},
		{"cap-crypto", nil, `capability "crypto" is not granted to password.cap-crypto`},
		{"cap-undeclared", []string{"crypto"}, `imports capability "crypto" (module gatehouse_crypto_v1) that its descriptor does not declare`},
		{"cap-http", nil, `capability "http" is not granted to password.cap-http by the operator`},
		{"cap-http-granted-other", []string{"smtp"}, `capability "http" is not granted to password.cap-http by the operator`},
		{"not-wasm", nil, "not a valid WebAssembly module"},
	}
	h := newHost(t, host.Config{})
	mustLoad(t, h, "ok", fixture(t, "ok"))
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			h := h
			if tt.grants != nil {
				h = newHost(t, host.Config{Grants: map[string][]string{
					"password.cap-undeclared": tt.grants, "password.cap-http": tt.grants}})
			}
			wasm := []byte("not wasm")
			if tt.fixture != "not-wasm" {
				wasm = fixture(t, strings.TrimSuffix(tt.fixture, "-granted-other"))
			}
			err := h.Load(context.Background(), tt.fixture, wasm)
			var le *host.LoadError
			if !errors.As(err, &le) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load: %v, want a LoadError containing %q", err, tt.want)
			}
			var st *host.PluginStatus
			for _, s := range h.Status() {
				if s.Source == tt.fixture {
					st = &s
				}
			}
			if st == nil || st.Loaded || !strings.Contains(st.Error, tt.want) {
				t.Fatalf("Status: %+v, want not loaded with %q", st, tt.want)
			}
		})
	}
	// The host still serves the plugin it had.
	if v, err := policy(t, h, "password.wat-ok").Check(context.Background(), abi.PasswordCheckRequest{Password: "x"}); err != nil || v != nil {
		t.Fatalf("ok plugin after failed loads: %+v %v", v, err)
	}
	if _, err := h.PasswordPolicy("password.abi-minor"); !isCode(err, host.CodeUnavailable) {
		t.Fatalf("unloaded plugin: %v, want PLUGIN_UNAVAILABLE", err)
	}
}

// reasonMessages are the sentences of a refusal's reasons, in order.
func reasonMessages(rs []abi.Reason) []string {
	var msgs []string
	for _, r := range rs {
		msgs = append(msgs, r.Message)
	}
	return msgs
}

// reasonCodes are the codes of a refusal's reasons, in order.
func reasonCodes(rs []abi.Reason) []string {
	var codes []string
	for _, r := range rs {
		codes = append(codes, r.Code)
	}
	return codes
}

func isCode(err error, code string) bool {
	var pe *host.PluginError
	return errors.As(err, &pe) && pe.Code == code
}

// TestFaults: each fault fails its call closed with a clear code, the
// instance is thrown away and replaced, and other calls are not affected.
func TestFaults(t *testing.T) {
	// A generous deadline: only the infinite loop should reach it, even on a loaded CI machine
	// running the race detector (a memory bomb under load once took longer than 500 ms).
	h := newHost(t, host.Config{CallTimeout: 2 * time.Second, MemoryLimitMiB: 16})
	mustLoad(t, h, "chaos", fixture(t, "chaos"))
	mustLoad(t, h, "ok", fixture(t, "ok"))
	mustLoad(t, h, "password-default", defaultPolicyWasm(t))
	chaos, ok, def := policy(t, h, "password.chaos"), policy(t, h, "password.wat-ok"), policy(t, h, "password.default")
	ctx := context.Background()

	// Other plugins keep answering while chaos misbehaves.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var otherErr error
	var otherCalls int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			v1, err1 := ok.Check(ctx, abi.PasswordCheckRequest{Password: "anything"})
			v2, err2 := def.Check(ctx, abi.PasswordCheckRequest{Password: "GoodPassw0rd"})
			if err := errors.Join(err1, err2); err != nil || v1 != nil || v2 != nil {
				otherErr = errors.Join(err, errors.New("another plugin was affected"))
				return
			}
			otherCalls++
			time.Sleep(time.Millisecond)
		}
	}()

	tests := []struct {
		name, password, code, want string
	}{
		{"trap", "xT", host.CodeFailed, "unreachable"},
		{"infinite loop", "xL", host.CodeTimeout, "deadline exceeded"},
		{"memory bomb", "xM", host.CodeMemoryLimit, "memory at its limit of 16 MiB"},
		{"garbage output", "xG", host.CodeBadOutput, "malformed"},
		{"unknown status", "xS", host.CodeBadOutput, "status 42"},
		{"bad input status", "xB", host.CodeFailed, "could not decode its input"},
		{"failed status", "xF", host.CodeFailed, "reported a failure"},
		{"denied without a reason", "xE", host.CodeBadOutput, "denied without a reason"},
		{"undeclared code", "xU", host.CodeBadOutput, `"NOT_DECLARED" is not declared`},
		{"output too large", "xO", host.CodeBadOutput, "output over"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := status(t, h, "password.chaos")
			v, err := chaos.Check(ctx, abi.PasswordCheckRequest{Password: tt.password})
			var pe *host.PluginError
			if !errors.As(err, &pe) || pe.Code != tt.code || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %s containing %q", err, tt.code, tt.want)
			}
			if pe.Plugin != "password.chaos" || pe.Hook != "password_check" {
				t.Fatalf("error names plugin %q hook %q", pe.Plugin, pe.Hook)
			}
			// Fails closed: the error is the verdict; no reasons come
			// with it for a caller to mistake for a policy's answer.
			if v != nil {
				t.Fatalf("a failed call returned reasons %+v", v)
			}
			after := status(t, h, "password.chaos")
			if after.Discarded != before.Discarded+1 || after.Failures != before.Failures+1 {
				t.Fatalf("instance not thrown away: before %+v after %+v", before, after)
			}
			// The next call gets a fresh instance and works.
			v, err = chaos.Check(ctx, abi.PasswordCheckRequest{Password: "fine"})
			if err != nil || v != nil {
				t.Fatalf("call after the fault: %+v %v", v, err)
			}
			v, err = chaos.Check(ctx, abi.PasswordCheckRequest{Password: "xD"})
			if err != nil || len(v) != 1 || v[0].Message != "Refused by the chaos fixture" || v[0].Code != "CHAOS_REFUSED" {
				t.Fatalf("proper denial after the fault: %+v %v", v, err)
			}
			if got := status(t, h, "password.chaos"); got.Created != after.Created+1 {
				t.Fatalf("instance not replaced: %+v", got)
			}
		})
	}
	close(stop)
	wg.Wait()
	if otherErr != nil {
		t.Fatal(otherErr)
	}
	if otherCalls == 0 {
		t.Fatal("the other plugins were never called")
	}
}

func TestCallerDeadlineAndPoolBound(t *testing.T) {
	h := newHost(t, host.Config{PoolSize: 1, CallTimeout: 400 * time.Millisecond})
	mustLoad(t, h, "chaos", fixture(t, "chaos"))
	chaos := policy(t, h, "password.chaos")
	ctx := context.Background()

	started := make(chan struct{})
	done := make(chan error)
	go func() {
		close(started)
		_, err := chaos.Check(ctx, abi.PasswordCheckRequest{Password: "xL"}) // holds the only instance
		done <- err
	}()
	<-started
	time.Sleep(50 * time.Millisecond)
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err := chaos.Check(short, abi.PasswordCheckRequest{Password: "fine"})
	if !isCode(err, host.CodeTimeout) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "waiting for an instance") {
		t.Fatalf("second call with the pool busy: %v, want PLUGIN_TIMEOUT waiting for an instance", err)
	}
	if err := <-done; !isCode(err, host.CodeTimeout) {
		t.Fatalf("looping call: %v", err)
	}
	// The caller's own deadline, shorter than the hook's, stops a call too. The hook's deadline
	// here is an hour, so a call that ends at all was ended by the caller's (no timed bound: a
	// loaded machine may take long to get there).
	long := newHost(t, host.Config{PoolSize: 1, CallTimeout: time.Hour})
	mustLoad(t, long, "chaos", fixture(t, "chaos"))
	looping := policy(t, long, "password.chaos")
	short2, cancel2 := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel2()
	if _, err := looping.Check(short2, abi.PasswordCheckRequest{Password: "xL"}); !isCode(err, host.CodeTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("caller deadline: %v, want PLUGIN_TIMEOUT wrapping context.DeadlineExceeded", err)
	}
	// A cancelled caller gets PLUGIN_TIMEOUT wrapping context.Canceled.
	cctx, ccancel := context.WithCancel(ctx)
	ccancel()
	if _, err := chaos.Check(cctx, abi.PasswordCheckRequest{Password: "fine"}); !isCode(err, host.CodeTimeout) || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: %v", err)
	}
	if v, err := chaos.Check(ctx, abi.PasswordCheckRequest{Password: "fine"}); err != nil || v != nil {
		t.Fatalf("after: %+v %v", v, err)
	}
}

func TestRecycling(t *testing.T) {
	ctx := context.Background()
	t.Run("after N calls", func(t *testing.T) {
		h := newHost(t, host.Config{RecycleAfter: 3})
		mustLoad(t, h, "ok", fixture(t, "ok"))
		pp := policy(t, h, "password.wat-ok")
		for range 10 {
			if _, err := pp.Check(ctx, abi.PasswordCheckRequest{Password: "x"}); err != nil {
				t.Fatal(err)
			}
		}
		st := status(t, h, "password.wat-ok")
		// describe and configure count on the first instance's calls only for hooks.
		if st.Discarded != 3 || st.Created != 4 || st.Instances != 1 {
			t.Fatalf("status %+v, want 3 discarded, 4 created, 1 alive", st)
		}
	})
	t.Run("past the memory high-water mark", func(t *testing.T) {
		h := newHost(t, host.Config{HighWaterMiB: 1})
		mustLoad(t, h, "password-default", defaultPolicyWasm(t))
		pp := policy(t, h, "password.default")
		for range 3 {
			if v, err := pp.Check(ctx, abi.PasswordCheckRequest{Password: "GoodPassw0rd"}); err != nil || v != nil {
				t.Fatal(v, err)
			}
		}
		if st := status(t, h, "password.default"); st.Discarded != 3 {
			t.Fatalf("status %+v, want every instance thrown away (a Go guest uses more than 1 MiB)", st)
		}
	})
}

func TestCapabilityGranted(t *testing.T) {
	h := newHost(t, host.Config{Grants: map[string][]string{"password.cap-crypto": {"crypto"}}})
	mustLoad(t, h, "cap-crypto", fixture(t, "cap-crypto"))
	v, err := policy(t, h, "password.cap-crypto").Check(context.Background(), abi.PasswordCheckRequest{Password: "secret"})
	if err != nil || v != nil {
		t.Fatalf("granted capability: %+v %v", v, err)
	}
}

// TestRealClockAndRandomness: WASI gets the real wall clock (the fixture
// fails before 2023; wazero's fake clock says 2022) and a random source that
// differs between instances (wazero's default is deterministic).
func TestRealClockAndRandomness(t *testing.T) {
	draw := func() string {
		h := newHost(t, host.Config{})
		mustLoad(t, h, "entropy", fixture(t, "entropy"))
		v, err := policy(t, h, "password.entropy").Check(context.Background(), abi.PasswordCheckRequest{Password: "x"})
		if err != nil || len(v) == 0 || v[0].Code != "ENTROPY" || len(v[0].Message) != 32 {
			t.Fatalf("entropy fixture: %+v %v", v, err)
		}
		return v[0].Message
	}
	if a, b := draw(), draw(); a == b {
		t.Fatalf("two fresh instances drew the same random bytes %s", a)
	}
}

func TestDuplicateAndConfig(t *testing.T) {
	ctx := context.Background()
	h := newHost(t, host.Config{PluginConfig: map[string][]byte{"password.wat-ok": []byte(`{"min": 3}`)}})
	err := h.Load(ctx, "ok", fixture(t, "ok"))
	if err == nil || !strings.Contains(err.Error(), "takes no configuration") {
		t.Fatalf("config for a plugin without configure: %v", err)
	}
	h = newHost(t, host.Config{})
	mustLoad(t, h, "ok", fixture(t, "ok"))
	if err := h.Load(ctx, "ok-again", fixture(t, "ok")); err == nil || !strings.Contains(err.Error(), `duplicate plugin id "password.wat-ok"`) {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := h.PasswordPolicy("password.wat-ok"); err != nil {
		t.Fatal(err)
	}
}

func TestLoadEmbedded(t *testing.T) {
	// The first-party mailers, TOTP and passkey need their capability, as the server grants it.
	h := newHost(t, host.Config{Grants: map[string][]string{"mailer.smtp": {"smtp"}, "mailer.outbox": {"outbox"}, "twofactor.totp": {"crypto"}, "twofactor.passkey": {"crypto"}}})
	err := h.LoadEmbedded(context.Background())
	if _, werr := plugins.Wasm("password-default"); werr != nil {
		// A build without `make plugins`: the failure is clear and in Status.
		st := h.Status()
		if err == nil || len(st) != len(plugins.FirstParty) {
			t.Fatalf("missing embedded plugins: err %v, status %+v", err, st)
		}
		for _, s := range st {
			if s.Loaded || !strings.Contains(s.Error, "make plugins") {
				t.Fatalf("missing embedded plugin: status %+v", s)
			}
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if st := status(t, h, "password.default"); !st.Loaded || st.Source != "embedded:password-default" {
		t.Fatalf("status %+v", st)
	}
	if st := status(t, h, "twofactor.totp"); !st.Loaded {
		t.Fatalf("status %+v", st)
	}
}

// SkipEmbedded (GATEHOUSE_SKIP_PLUGINS) leaves first-party plugins out: not loaded, not in Status.
func TestLoadEmbeddedSkip(t *testing.T) {
	var skip []string
	for _, name := range plugins.FirstParty {
		if name != "password-default" {
			skip = append(skip, name)
		}
	}
	h := newHost(t, host.Config{SkipEmbedded: skip})
	if err := h.LoadEmbedded(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := h.Status()
	if len(st) != 1 || st[0].ID != "password.default" || !st[0].Loaded {
		t.Fatalf("status %+v, want password.default alone", st)
	}
}

func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"ok", "abi-v2"} {
		if err := os.WriteFile(filepath.Join(dir, name+".wasm"), fixture(t, name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "README.txt"), []byte("not a plugin"), 0o644)
	h := newHost(t, host.Config{})
	err := h.LoadDir(context.Background(), dir)
	if err == nil || !strings.Contains(err.Error(), "abi-v2.wasm") {
		t.Fatalf("LoadDir: %v", err)
	}
	st := h.Status()
	if len(st) != 2 || !st[0].Loaded || st[0].ID != "password.wat-ok" || st[1].Loaded {
		t.Fatalf("status %+v", st)
	}
	if err := h.LoadDir(context.Background(), filepath.Join(dir, "nope")); err == nil {
		t.Fatal("missing folder: no error")
	}
}

func TestChainAndKinds(t *testing.T) {
	ctx := context.Background()
	h := newHost(t, host.Config{})
	mustLoad(t, h, "ok", fixture(t, "ok"))
	mustLoad(t, h, "chaos", fixture(t, "chaos"))
	chain, err := h.PasswordPolicies("password.wat-ok", "password.chaos")
	if err != nil {
		t.Fatal(err)
	}
	if v, err := chain.Check(ctx, abi.PasswordCheckRequest{Password: "fine"}); err != nil || v != nil {
		t.Fatalf("all accept: %+v %v", v, err)
	}
	if v, err := chain.Check(ctx, abi.PasswordCheckRequest{Password: "xD"}); err != nil || len(v) == 0 || v[0].Code != "CHAOS_REFUSED" {
		t.Fatalf("one refuses: %+v %v", v, err)
	}
	if v, err := chain.Check(ctx, abi.PasswordCheckRequest{Password: "xT"}); !isCode(err, host.CodeFailed) || v != nil {
		t.Fatalf("one fails: %+v %v", v, err)
	}
	if _, err := h.PasswordPolicies("password.wat-ok", "password.nope"); !isCode(err, host.CodeUnavailable) || !errors.Is(err, host.ErrNotLoaded) {
		t.Fatalf("missing policy: %v", err)
	}
	if v, err := (host.PasswordPolicies{}).Check(ctx, abi.PasswordCheckRequest{Password: "x"}); !isCode(err, host.CodeUnavailable) || v != nil {
		t.Fatalf("empty chain: %+v %v", v, err)
	}
	if got := h.IDs("password"); strings.Join(got, ",") != "password.chaos,password.wat-ok" {
		t.Fatalf("IDs: %v", got)
	}
}

func TestClose(t *testing.T) {
	ctx := context.Background()
	before := runtime.NumGoroutine()
	h, err := host.New(ctx, host.Config{})
	if err != nil {
		t.Fatal(err)
	}
	mustLoad(t, h, "ok", fixture(t, "ok"))
	pp := policy(t, h, "password.wat-ok")
	if err := h.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if v, err := pp.Check(ctx, abi.PasswordCheckRequest{Password: "x"}); !isCode(err, host.CodeUnavailable) || v != nil {
		t.Fatalf("after close: %+v %v", v, err)
	}
	if _, err := h.PasswordPolicy("password.wat-ok"); !errors.Is(err, host.ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
	if err := h.Load(ctx, "ok", fixture(t, "ok")); !errors.Is(err, host.ErrClosed) {
		t.Fatalf("load after close: %v", err)
	}
	if st := h.Status(); len(st) != 1 || st[0].Loaded || st[0].Instances != 0 {
		t.Fatalf("status after close: %+v", st)
	}
	// No goroutine outlives the host (wazero's per-call context watchers end
	// with their calls).
	for i := 0; runtime.NumGoroutine() > before; i++ {
		if i == 100 {
			t.Fatalf("%d goroutines before, %d after Close", before, runtime.NumGoroutine())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestHammer: goroutines share the pool, mixing good calls and faults.
func TestHammer(t *testing.T) {
	h := newHost(t, host.Config{PoolSize: 2, CallTimeout: 2 * time.Second})
	mustLoad(t, h, "chaos", fixture(t, "chaos"))
	mustLoad(t, h, "password-default", defaultPolicyWasm(t))
	chaos, def := policy(t, h, "password.chaos"), policy(t, h, "password.default")
	const goroutines, loops = 6, 60
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	release := make(chan struct{})
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-release
			ctx := context.Background()
			for i := range loops {
				switch (g + i) % 4 {
				case 0:
					// A trap, or the circuit breaker open after traps in a row.
					v, err := chaos.Check(ctx, abi.PasswordCheckRequest{Password: "xT"})
					if !(isCode(err, host.CodeFailed) || isCode(err, host.CodeUnavailable) && errors.Is(err, host.ErrCircuitOpen)) || v != nil {
						errs <- errors.Join(errors.New("trap"), err)
						return
					}
				case 1:
					if v, err := def.Check(ctx, abi.PasswordCheckRequest{Password: "short"}); err != nil || len(v) == 0 || v[0].Code != "PASSWORD_TOO_SHORT" {
						errs <- errors.Join(errors.New("short"), err)
						return
					}
				default:
					if v, err := def.Check(ctx, abi.PasswordCheckRequest{Password: "GoodPassw0rd"}); err != nil || v != nil {
						errs <- errors.Join(errors.New("good"), err)
						return
					}
				}
			}
		}()
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, id := range []string{"password.chaos", "password.default"} {
		if st := status(t, h, id); st.Instances > 2 {
			t.Fatalf("%s: %d instances alive, pool bound is 2", id, st.Instances)
		}
	}
}

func TestCircuitBreaker(t *testing.T) {
	h := newHost(t, host.Config{CallTimeout: time.Second, BreakerThreshold: 3, BreakerCooldown: 300 * time.Millisecond})
	mustLoad(t, h, "chaos", fixture(t, "chaos"))
	chaos := policy(t, h, "password.chaos")
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := chaos.Check(ctx, abi.PasswordCheckRequest{Password: "xT"}); !isCode(err, host.CodeFailed) || errors.Is(err, host.ErrCircuitOpen) {
			t.Fatalf("trap %d: %v", i, err)
		}
	}
	// ErrCircuitOpen means the call failed without running the plugin (no timed bound). It is
	// PLUGIN_UNAVAILABLE (the plugin's fault, not the input's) with the rest of the cooldown.
	_, err := chaos.Check(ctx, abi.PasswordCheckRequest{Password: "anything"})
	var pe *host.PluginError
	if !errors.Is(err, host.ErrCircuitOpen) || !isCode(err, host.CodeUnavailable) || !errors.As(err, &pe) {
		t.Fatalf("after 3 failures in a row: %v, want the circuit open", err)
	}
	if pe.RetryAfter <= 0 || pe.RetryAfter > 300*time.Millisecond {
		t.Fatalf("circuit open: RetryAfter %v, want the rest of the 300ms cooldown", pe.RetryAfter)
	}
	time.Sleep(350 * time.Millisecond)
	if v, err := chaos.Check(ctx, abi.PasswordCheckRequest{Password: "anything"}); err != nil || v != nil {
		t.Fatalf("after the cooldown the plugin is tried again: %+v %v", v, err)
	}
}

func TestMaxConcurrentCalls(t *testing.T) {
	h := newHost(t, host.Config{CallTimeout: 400 * time.Millisecond, MaxConcurrentCalls: 1})
	mustLoad(t, h, "chaos", fixture(t, "chaos"))
	mustLoad(t, h, "ok", fixture(t, "ok"))
	chaos, ok := policy(t, h, "password.chaos"), policy(t, h, "password.wat-ok")
	looping := make(chan error, 1)
	go func() {
		_, err := chaos.Check(context.Background(), abi.PasswordCheckRequest{Password: "xL"})
		looping <- err
	}()
	time.Sleep(50 * time.Millisecond) // the loop holds the only slot
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := ok.Check(ctx, abi.PasswordCheckRequest{Password: "anything"}); !isCode(err, host.CodeTimeout) {
		t.Fatalf("with the only slot taken: %v, want PLUGIN_TIMEOUT", err)
	}
	if err := <-looping; !isCode(err, host.CodeTimeout) {
		t.Fatalf("the loop: %v", err)
	}
	if v, err := ok.Check(context.Background(), abi.PasswordCheckRequest{Password: "anything"}); err != nil || v != nil {
		t.Fatalf("after the loop's deadline the slot is free: %v", err)
	}
}

// TestTrapLogsCause: a trap is logged with the plugin, the hook and its cause on one line, and
// the circuit breaker's opening names the last failure.
func TestTrapLogsCause(t *testing.T) {
	var buf syncBuffer
	h := newHost(t, host.Config{BreakerThreshold: 2, Logger: hclog.New(&hclog.LoggerOptions{Output: &buf, Level: hclog.Info, JSONFormat: true})})
	mustLoad(t, h, "chaos", fixture(t, "chaos"))
	chaos := policy(t, h, "password.chaos")
	for range 2 {
		if _, err := chaos.Check(context.Background(), abi.PasswordCheckRequest{Password: "xT"}); !isCode(err, host.CodeFailed) {
			t.Fatalf("trap: %v", err)
		}
	}
	logs := buf.String()
	for _, want := range []string{`"cause":"wasm error: unreachable"`, `"hook":"password_check"`, `"plugin":"password.chaos"`, `"last_error":"plugin[password.chaos] hook[password_check] PLUGIN_FAILED: wasm error: unreachable"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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
