package sdktest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host"
	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/internal/guest"
)

// TwoFactorMode is one way to call a twofactor plugin: "native" through the
// SDK's encoding in the test binary, or "wasm" as the built .wasm in the real
// host. Both answer with the host's types, so one test body runs in both.
type TwoFactorMode struct {
	// Name is "native" or "wasm".
	Name string
	// Info is the method's metadata as the host resolves it.
	Info host.TwoFactorInfo
	// Call runs a hook (abi.HookTwoFactorEnroll and so on). A failed call
	// returns an error and a zero outcome.
	Call func(hook string, in host.TwoFactorCall) (host.TwoFactorOutcome, error)
}

// TwoFactorModes returns the modes a twofactor plugin can be tested in:
// "native" when the test binary registered a twofactor plugin (the plugin's
// own package test), and "wasm" for the .wasm at path (pass "" to skip it).
//
//	for _, m := range sdktest.TwoFactorModes(t, wasm) {
//		t.Run(m.Name, func(t *testing.T) {
//			o, err := m.Call(abi.HookTwoFactorEnroll, host.TwoFactorCall{Email: "u@example.com"})
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
		hooks := map[string]func(context.Context, host.TwoFactorCall) (host.TwoFactorOutcome, error){
			abi.HookTwoFactorEnroll: m.Enroll, abi.HookTwoFactorActivate: m.Activate,
			abi.HookTwoFactorChallenge: m.Challenge, abi.HookTwoFactorVerify: m.Verify,
		}
		modes = append(modes, TwoFactorMode{Name: "wasm", Info: m.Info(), Call: func(hook string, in host.TwoFactorCall) (host.TwoFactorOutcome, error) {
			fn := hooks[hook]
			if fn == nil {
				return host.TwoFactorOutcome{}, fmt.Errorf("sdktest: no twofactor hook %q", hook)
			}
			return fn(context.Background(), in)
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
// the host would (without the host's checks of the output).
func nativeTwoFactor(t testing.TB, reg *guest.Registration) TwoFactorMode {
	t.Helper()
	info, err := host.ResolveTwoFactorInfo(reg.Desc)
	if err != nil {
		t.Fatalf("sdktest: the registered method's metadata: %v", err)
	}
	return TwoFactorMode{Name: "native", Info: info, Call: func(hook string, in host.TwoFactorCall) (host.TwoFactorOutcome, error) {
		now := in.Now
		if now.IsZero() {
			now = time.Now()
		}
		req := abi.TwoFactorRequest{Now: now.UnixNano(), RequestID: in.RequestID, UserID: in.UserID, Email: in.Email,
			ServiceName: in.ServiceName, State: in.State, Code: in.Code}
		if hook == abi.HookTwoFactorEnroll {
			for _, f := range info.SetupFields {
				if v, ok := in.Params[f]; ok {
					req.Params = append(req.Params, f, v)
				}
			}
		}
		status, out := guest.Dispatch(hook, req.Marshal(nil), nil)
		if status != abi.StatusOK && status != abi.StatusDenied {
			return host.TwoFactorOutcome{}, fmt.Errorf("sdktest: %s: status %v", hook, status)
		}
		var r abi.TwoFactorResult
		if err := r.Unmarshal(out); err != nil {
			return host.TwoFactorOutcome{}, err
		}
		o := host.TwoFactorOutcome{Accepted: status == abi.StatusOK, State: r.State, Secret: r.Secret, URI: r.URI, Image: r.Image,
			ReplayKey: r.ReplayKey, Public: pairs(r.Public)}
		if status == abi.StatusDenied {
			if len(r.Reasons) == 0 {
				return host.TwoFactorOutcome{}, errors.New("sdktest: denied without a reason")
			}
			o.Reason, o.Message = r.Reasons[0].Code, r.Reasons[0].Message
		}
		for _, msg := range r.Messages {
			o.Messages = append(o.Messages, host.TwoFactorMessage{Template: msg.Template, To: msg.To, Vars: pairs(msg.Vars)})
		}
		return o, nil
	}}
}

func pairs(kv []string) map[string]string {
	if len(kv) == 0 {
		return nil
	}
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// conformTwoFactor checks a twofactor plugin's hooks with edge inputs: enroll
// with every setup field, then activate and verify with wrong codes of odd
// shapes; each must answer (accept or deny with a declared code), never fail.
func conformTwoFactor(t *testing.T, h *host.Host, d *host.Descriptor) {
	t.Run("twofactor edge inputs", func(t *testing.T) {
		m, err := h.TwoFactor(d.ID)
		if err != nil {
			t.Fatal(err)
		}
		info := m.Info()
		ctx := context.Background()
		params := map[string]string{}
		for _, f := range info.SetupFields {
			params[f] = "conformance@example.com"
		}
		for _, in := range []host.TwoFactorCall{
			{UserID: "1", Email: "u@example.com", ServiceName: "Gatehouse", Params: params},
			{UserID: strings.Repeat("9", 20), Email: "josé@exämple.com", ServiceName: "Gâtehouse 🔑 " + strings.Repeat("S", 300), Params: params},
		} {
			o, err := m.Enroll(ctx, in)
			if err != nil {
				t.Fatalf("enroll: %v", err)
			}
			if !o.Accepted {
				t.Fatalf("enroll refused: %s %s", o.Reason, o.Message)
			}
			state := o.State
			if info.Challenges {
				if _, err := m.Challenge(ctx, host.TwoFactorCall{UserID: in.UserID, Email: in.Email, State: state}); err != nil {
					t.Errorf("challenge: %v", err)
				}
			}
			for _, code := range []string{"", "0", strings.Repeat("0", max(info.CodeLength, 6)), "💥💥💥", strings.Repeat("x", 64), "\x00\x01\x02"} {
				for _, call := range []func(context.Context, host.TwoFactorCall) (host.TwoFactorOutcome, error){m.Activate, m.Verify} {
					o, err := call(ctx, host.TwoFactorCall{UserID: in.UserID, Email: in.Email, State: state, Code: code})
					if err != nil {
						t.Errorf("code %q: %v", code, err)
					} else if !o.Accepted && o.Reason == "" {
						t.Errorf("code %q: denied without a reason", code)
					}
				}
			}
		}
	})
	if reg := guest.Registered(); reg != nil {
		t.Run("twofactor native metadata", func(t *testing.T) {
			var got abi.TwoFactorInfo
			if reg.Desc.TwoFactor != nil {
				got = *reg.Desc.TwoFactor
			}
			var want abi.TwoFactorInfo
			if d.TwoFactor != nil {
				want = *d.TwoFactor
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("the registration's method metadata %+v is not the plugin's %+v", got, want)
			}
		})
	}
}
