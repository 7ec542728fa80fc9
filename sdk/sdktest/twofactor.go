package sdktest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host"
	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/internal/guest"
)

// TwoFactorMode is one way to call a twofactor plugin: "native" through the
// SDK's encoding in the test binary, or "wasm" as the built .wasm in the real
// host. Both answer as host.TwoFactorMethod.Call does, with the ABI's
// messages, so one test body runs in both.
type TwoFactorMode struct {
	// Name is "native" or "wasm".
	Name string
	// Info is the method's metadata as the host resolves it.
	Info abi.TwoFactorInfo
	// Call runs a hook (abi.HookTwoFactorEnroll and so on). accepted is true
	// for status ok; a denial's result has at least one reason. A failed
	// call returns an error and no result.
	Call func(hook string, in abi.TwoFactorRequest) (res *abi.TwoFactorResult, accepted bool, err error)
}

// TwoFactorModes returns the modes a twofactor plugin can be tested in:
// "native" when the test binary registered a twofactor plugin (the plugin's
// own package test), and "wasm" for the .wasm at path (pass "" to skip it).
//
//	for _, m := range sdktest.TwoFactorModes(t, wasm) {
//		t.Run(m.Name, func(t *testing.T) {
//			res, ok, err := m.Call(abi.HookTwoFactorEnroll, abi.TwoFactorRequest{Email: "u@example.com"})
//			...
//		})
//	}
func TwoFactorModes(t testing.TB, path string) []TwoFactorMode {
	t.Helper()
	var modes []TwoFactorMode
	if reg := guest.Registered(); reg != nil && reg.Desc.Kind == abi.KindTwoFactor {
		modes = append(modes, nativeTwoFactor(t, reg))
	}
	if path != "" {
		h, d := Load(t, path, host.Config{Grants: declaredGrants(t, path)})
		m, err := h.TwoFactor(d.ID)
		if err != nil {
			t.Fatal(err)
		}
		modes = append(modes, TwoFactorMode{Name: "wasm", Info: m.Info(), Call: func(hook string, in abi.TwoFactorRequest) (*abi.TwoFactorResult, bool, error) {
			return m.Call(context.Background(), hook, in)
		}})
	}
	return modes
}

// declaredGrants grants the plugin at path the capabilities it declares, as
// its operator would (twofactor.totp: crypto, for the host's HMAC).
func declaredGrants(t testing.TB, path string) map[string][]string {
	t.Helper()
	wasm, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := host.Inspect(context.Background(), wasm)
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]string{rep.Descriptor.ID: rep.Capabilities}
}

// nativeTwoFactor calls the registered plugin through the SDK's encoding, as
// the host would (without the host's checks of the output, but with its
// defaults: the clock, setup fields at enroll only).
func nativeTwoFactor(t testing.TB, reg *guest.Registration) TwoFactorMode {
	t.Helper()
	info, err := host.ResolveTwoFactorInfo(reg.Desc)
	if err != nil {
		t.Fatalf("sdktest: the registered method's metadata: %v", err)
	}
	return TwoFactorMode{Name: "native", Info: info, Call: func(hook string, in abi.TwoFactorRequest) (*abi.TwoFactorResult, bool, error) {
		if in.Now == 0 {
			in.Now = time.Now().UnixNano()
		}
		if hook != abi.HookTwoFactorEnroll {
			in.Params = nil
		}
		status, out := guest.Dispatch(hook, in.Marshal(nil), nil)
		if status != abi.StatusOK && status != abi.StatusDenied {
			return nil, false, fmt.Errorf("sdktest: %s: status %v", hook, status)
		}
		var r abi.TwoFactorResult
		if err := r.Unmarshal(out); err != nil {
			return nil, false, err
		}
		if status == abi.StatusDenied && len(r.Reasons) == 0 {
			return nil, false, errors.New("sdktest: denied without a reason")
		}
		return &r, status == abi.StatusOK, nil
	}}
}

// Pairs is ABI pairs (name, value, ...) as a map, for reading a result's
// Public or a message's Vars in a test; nil for none.
func Pairs(kv []string) map[string]string {
	if len(kv) == 0 {
		return nil
	}
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}
