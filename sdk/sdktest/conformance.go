package sdktest

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/host"
	"github.com/gatehouse/gatehouse/host/conformance"
	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/internal/guest"
)

// Conformance checks the plugin at path against ABI v1 with the host's
// conformance kit (host/conformance, what `gatehouse plugin test` runs: load
// checks, describe and configure, every declared hook with valid and hostile
// inputs, the state round trip, replay-key rules, the capabilities it
// declares granted against test doubles), one subtest per check, and, when
// the test binary registered a plugin (a Go plugin's own test), natively: the
// registration describes the same plugin, and undecodable input gets status
// bad_input rather than a panic.
func Conformance(t *testing.T, path string) {
	t.Helper()
	ctx := context.Background()
	// The shared compilation cache: a large module (a Go plugin of several MB) is compiled once,
	// not at every run (minutes under -race).
	rep := conformance.RunFile(ctx, path, conformance.Options{CacheDir: filepath.Join(CacheDir(), "wazero")})
	for _, c := range rep.Checks {
		t.Run(c.Name, func(t *testing.T) {
			switch c.Verdict {
			case conformance.Fail:
				t.Error(c.Detail)
			case conformance.Warn, conformance.Skip:
				t.Logf("%s: %s", c.Verdict, c.Detail)
			}
		})
	}
	if rep.Failed() > 0 {
		return
	}
	wasm, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ins, err := host.Inspect(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	d := ins.Descriptor
	reg := guest.Registered()
	if reg == nil {
		return
	}
	t.Run("native", func(t *testing.T) {
		if reg.Desc.ID != d.ID || reg.Desc.Kind != d.Kind || !slices.Equal(reg.Desc.Hooks, d.Hooks) || !slices.Equal(reg.Desc.Codes, d.Codes) {
			t.Fatalf("the registration (%+v) is not the plugin at %s (%+v)", reg.Desc, path, *d)
		}
		status, out := guest.Describe((&abi.HostInfo{ABIMinor: abi.Minor}).Marshal(nil), nil)
		var got abi.Descriptor
		if status != abi.StatusOK || got.Unmarshal(out) != nil || got.ID != d.ID {
			t.Fatalf("describe: status %v, %+v", status, got)
		}
		for _, hook := range d.Hooks {
			status, _ := guest.Dispatch(hook, []byte{0xff, 0xff, 0xff}, nil)
			if status != abi.StatusBadInput {
				t.Errorf("hook %s with undecodable input: status %v, want bad_input", hook, status)
			}
		}
		if status, _ := guest.Configure([]byte{0x0a, 0x7f}, nil); status != abi.StatusBadInput {
			t.Errorf("configure with undecodable input: status %v, want bad_input", status)
		}
	})
}
