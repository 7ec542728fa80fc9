package sdktest

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/host"
	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/internal/guest"
)

// Conformance checks the plugin at path against ABI v1, under the real host
// and, when the test binary registered a plugin (a Go plugin's own test),
// natively:
//   - the host can load it (exports, signatures, imports, descriptor), with
//     the capabilities it imports granted;
//   - its descriptor names it, versions it and lists reason codes;
//   - every hook of its kind answers well-formed edge inputs without a
//     failure (empty, very long and non-ASCII values), with declared codes;
//   - natively: the registration describes the same plugin, and undecodable
//     input gets status bad_input rather than a panic.
func Conformance(t *testing.T, path string) {
	t.Helper()
	wasm, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rep, err := host.Inspect(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Loadable {
		t.Fatalf("conformance: the host cannot load %s: %s", path, rep.Problem)
	}
	d := rep.Descriptor
	t.Run("descriptor", func(t *testing.T) {
		if d.Name == "" || d.Version == "" {
			t.Errorf("descriptor has no name or version: %+v", d)
		}
		if d.Kind == abi.KindPassword && len(d.Codes) == 0 {
			t.Errorf("a password policy must declare the codes it refuses with")
		}
	})
	cfg := host.Config{Grants: map[string][]string{d.ID: rep.Capabilities}}
	h := NewHost(t, cfg)
	if err := h.Load(ctx, path, wasm); err != nil {
		t.Fatal(err)
	}
	if d.Kind == abi.KindTwoFactor {
		conformTwoFactor(t, h, d)
	}
	if d.Kind == abi.KindMailer {
		conformMailer(t, h, d)
	}
	if d.Kind == abi.KindPassword {
		t.Run("password_check edge inputs", func(t *testing.T) {
			pp, err := h.PasswordPolicy(d.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, in := range []host.PasswordCheck{
				{},
				{Password: strings.Repeat("Aa1!", 4096), Email: strings.Repeat("x", 300) + "@example.com", ServiceName: strings.Repeat("S", 300), Field: "newPassword"},
				{Password: "пароль-Ünïcødé-密码-🔑1A", Email: "josé@exämple.com", ServiceName: "Gatehouse", Field: "password"},
				{Password: "\x00\x01\x02 \t\n"},
			} {
				v, err := pp.Check(ctx, in)
				if err != nil {
					t.Errorf("password of %d bytes: %v", len(in.Password), err)
					continue
				}
				if v.Accepted == (len(v.Reasons) > 0) || len(v.Reasons) != len(v.Codes) {
					t.Errorf("inconsistent verdict %+v", v)
				}
			}
		})
	}
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
