// Package sdktest helps plugin authors test a plugin as the host runs it:
// Build compiles the plugin's package to WebAssembly with the go tool, Load
// loads the .wasm into the real Gatehouse host, and RunPassword runs the same
// table of cases natively (through the SDK's codec) and under the host.
// Conformance checks a plugin against the ABI.
//
// It is the only package under sdk/ that imports the host: it is linked into
// test binaries, never into a plugin.
//
//	func TestPolicy(t *testing.T) {
//		wasm := sdktest.Build(t, ".")
//		sdktest.Conformance(t, wasm)
//		sdktest.RunPassword(t, wasm, []sdktest.PasswordCase{
//			{Name: "short", Password: "abc", Codes: []string{"TOO_SHORT"}},
//			{Name: "fine", Password: "correct horse battery staple"},
//		})
//	}
package sdktest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host"
	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/internal/guest"
	"github.com/hashicorp/go-hclog"
)

// CacheDir returns the folder the helpers share between test runs and test
// packages: $GATEHOUSE_TEST_CACHE if set, else ".cache" at the root of the
// enclosing Go module, else a folder under the system's temporary folder. It
// holds built plugins (wasm/) and wazero's compilation cache (wazero/), so a
// plugin is compiled to native code once, not once per test.
func CacheDir() string {
	cacheOnce.Do(func() {
		if d := os.Getenv("GATEHOUSE_TEST_CACHE"); d != "" {
			cacheDir = d
			return
		}
		if dir, err := os.Getwd(); err == nil {
			for d := dir; ; d = filepath.Dir(d) {
				if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
					cacheDir = filepath.Join(d, ".cache")
					return
				}
				if filepath.Dir(d) == d {
					break
				}
			}
		}
		cacheDir = filepath.Join(os.TempDir(), "gatehouse-test-cache")
	})
	return cacheDir
}

var (
	cacheOnce sync.Once
	cacheDir  string
)

// Build compiles the Go plugin in the package folder dir (relative to the
// test's working folder) with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared and
// returns the .wasm's path, under CacheDir()/wasm, named after the package's
// path in its module. It always links (to a temporary file, then renames, so
// test packages running in parallel never see a partial file); the go tool's
// build cache makes that quick (~0.3 s) for unchanged code. It fails the test
// if the build fails.
func Build(t testing.TB, dir string) string {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(CacheDir(), "wasm", wasmName(abs))
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".build-*.wasm")
	if err != nil {
		t.Fatal(err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	gotool := filepath.Join(goroot(), "bin", "go")
	cmd := exec.Command(gotool, "build", "-buildmode=c-shared", "-trimpath", "-o", tmp.Name(), ".")
	cmd.Dir = abs
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0", "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sdktest: building %s for wasip1: %v\n%s", dir, err, b)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		t.Fatal(err)
	}
	return out
}

// wasmName names a package's .wasm after its path in its module, so
// `make plugins` (mk/plugins.mk) and the tests agree:
// examples/nist-policy builds to examples_nist-policy.wasm.
func wasmName(abs string) string {
	for d := abs; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			if rel, err := filepath.Rel(d, abs); err == nil && rel != "." {
				return strings.ReplaceAll(filepath.ToSlash(rel), "/", "_") + ".wasm"
			}
			break
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return filepath.Base(abs) + ".wasm"
}

func goroot() string {
	if r := os.Getenv("GOROOT"); r != "" {
		return r
	}
	if b, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
		return strings.TrimSpace(string(b))
	}
	return ""
}

// Config returns a host configuration for tests: the shared compilation
// cache and a logger that writes to the test's log.
func Config(t testing.TB) host.Config {
	return host.Config{
		CacheDir: filepath.Join(CacheDir(), "wazero"),
		Logger: hclog.New(&hclog.LoggerOptions{
			Name: "host", Level: hclog.Warn, Output: testWriter{t}, DisableTime: true,
		}),
		// Generous: a test machine under -race is slow, and the deadline is
		// not what these tests measure.
		CallTimeout: 10 * time.Second,
	}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// NewHost returns a host made with cfg (Config(t) when cfg.CacheDir is ""),
// closed when the test ends.
func NewHost(t testing.TB, cfg host.Config) *host.Host {
	t.Helper()
	if cfg.CacheDir == "" {
		def := Config(t)
		cfg.CacheDir = def.CacheDir
		if cfg.Logger == nil {
			cfg.Logger = def.Logger
		}
		if cfg.CallTimeout == 0 {
			cfg.CallTimeout = def.CallTimeout
		}
	}
	ctx := context.Background()
	h, err := host.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close(ctx) })
	return h
}

// Load loads the .wasm at path into a new test host (NewHost with cfg) and
// returns the host and the plugin's descriptor. It fails the test if the
// plugin does not load.
func Load(t testing.TB, path string, cfg host.Config) (*host.Host, host.Descriptor) {
	t.Helper()
	wasm, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := NewHost(t, cfg)
	ctx := context.Background()
	if err := h.Load(ctx, path, wasm); err != nil {
		t.Fatalf("sdktest: loading %s: %v", path, err)
	}
	st := h.Status()
	d, ok := h.Descriptor(st[0].ID)
	if !ok {
		t.Fatalf("sdktest: %s loaded but has no descriptor", path)
	}
	return h, d
}

// PasswordCase is one case of RunPassword.
type PasswordCase struct {
	Name        string
	Password    string
	Email       string
	Field       string // default "password"
	ServiceName string
	// Codes are the reason codes expected, in order; none means accepted.
	Codes []string
	// Messages, if not nil, are the reason messages expected, in order.
	Messages []string
}

// RunPassword runs each case twice, as subtests: "native" calls the plugin
// registered in this test binary through the SDK's encoding (so the plugin's
// package must be the one under test, or imported by it), and "wasm" calls
// the .wasm at path through the real host. Pass path "" to run natively only.
func RunPassword(t *testing.T, path string, cases []PasswordCase) {
	t.Helper()
	var pp *host.PasswordPolicy
	if path != "" {
		h, d := Load(t, path, host.Config{})
		var err error
		if pp, err = h.PasswordPolicy(d.ID); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			field := c.Field
			if field == "" {
				field = "password"
			}
			t.Run("native", func(t *testing.T) {
				if guest.Registered() == nil {
					t.Skip("no plugin registered in this test binary")
				}
				req := abi.PasswordCheckRequest{Now: time.Now().UnixNano(), Password: c.Password, Email: c.Email, Field: field, ServiceName: c.ServiceName}
				status, out := guest.Dispatch(abi.HookPasswordCheck, req.Marshal(nil), nil)
				var codes, msgs []string
				switch status {
				case abi.StatusOK:
				case abi.StatusDenied:
					var r abi.Result
					if err := r.Unmarshal(out); err != nil {
						t.Fatalf("undecodable result: %v", err)
					}
					for _, reason := range r.Reasons {
						codes, msgs = append(codes, reason.Code), append(msgs, reason.Message)
					}
					if len(codes) == 0 {
						t.Fatal("denied without a reason")
					}
				default:
					t.Fatalf("status %v", status)
				}
				check(t, c, codes, msgs)
			})
			if pp == nil {
				return
			}
			t.Run("wasm", func(t *testing.T) {
				reasons, err := pp.Check(context.Background(), abi.PasswordCheckRequest{Password: c.Password, Email: c.Email, Field: field, ServiceName: c.ServiceName})
				if err != nil {
					t.Fatal(err)
				}
				var codes, msgs []string
				for _, r := range reasons {
					codes, msgs = append(codes, r.Code), append(msgs, r.Message)
				}
				check(t, c, codes, msgs)
			})
		})
	}
}

func check(t *testing.T, c PasswordCase, codes, msgs []string) {
	t.Helper()
	if !slices.Equal(codes, c.Codes) {
		t.Errorf("codes %q, want %q (messages %q)", codes, c.Codes, msgs)
	}
	if c.Messages != nil && !slices.Equal(msgs, c.Messages) {
		t.Errorf("messages %q, want %q", msgs, c.Messages)
	}
}
