package host_test

import (
	"context"
	"errors"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host"
	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

var (
	chaos2FAOnce sync.Once
	chaos2FAWasm []byte
	totpOnce     sync.Once
	totpBytes    []byte
)

// totpGrants grant the first-party TOTP plugin its capability (the host's
// HMAC), as the server does.
var totpGrants = map[string][]string{"twofactor.totp": {"crypto"}}

// totpWasm is the first-party TOTP plugin, built once per test binary.
func totpWasm(t testing.TB) []byte {
	t.Helper()
	totpOnce.Do(func() {
		b, err := os.ReadFile(sdktest.Build(t, "../plugins/totp"))
		if err != nil {
			t.Fatal(err)
		}
		totpBytes = b
	})
	if totpBytes == nil {
		t.Fatal("totp not built")
	}
	return totpBytes
}

// chaos2FA is the twofactor fault fixture (testdata/twofactor-chaos), a Go
// plugin built once per test binary.
func chaos2FA(t testing.TB) []byte {
	t.Helper()
	chaos2FAOnce.Do(func() {
		b, err := os.ReadFile(sdktest.Build(t, "testdata/twofactor-chaos"))
		if err != nil {
			t.Fatal(err)
		}
		chaos2FAWasm = b
	})
	if chaos2FAWasm == nil {
		t.Fatal("twofactor-chaos not built")
	}
	return chaos2FAWasm
}

func twoFactor(t testing.TB, h *host.Host, id string) *host.TwoFactorMethod {
	t.Helper()
	m, err := h.TwoFactor(id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestTwoFactorInfo(t *testing.T) {
	h := newHost(t, host.Config{})
	mustLoad(t, h, "chaos", chaos2FA(t))
	m := twoFactor(t, h, "twofactor.chaos")
	info := m.Info()
	want := abi.TwoFactorInfo{
		Route: "chaos", CodeField: "code", SetupFields: []string{"mode"}, ClientDataFields: []string{"publicKey"},
		CodePrefix: "CHAOS", ReplayWindowSeconds: 60,
		Codes: abi.TwoFactorCodes{Invalid: "CHAOS_INVALID", Uninitialized: "CHAOS_UNINITIALIZED", Inactive: "CHAOS_UNINITIALIZED",
			AlreadyInactive: "CHAOS_ALREADY_INACTIVE", TooMany: "TOO_MANY_CHAOS_CHECKS", TooManySends: "TOO_MANY_CHAOS_MAILS", Corrupt: "CHAOS_CORRUPT"},
	}
	if !reflect.DeepEqual(info, want) {
		t.Fatalf("info\n got %+v\nwant %+v", info, want)
	}
	if d := m.Descriptor(); d.ID != "twofactor.chaos" || !host.Challenges(d) {
		t.Fatalf("descriptor %+v: challenges %v", d, host.Challenges(d))
	}
	// Info is a copy: changing it changes nothing the host holds.
	info.SetupFields[0], info.ClientDataFields[0] = "changed", "changed"
	if again := m.Info(); !reflect.DeepEqual(again, want) {
		t.Fatalf("Info shares its slices: %+v", again)
	}
	// Kinds are kept apart.
	mustLoad(t, h, "ok", fixture(t, "ok"))
	if _, err := h.TwoFactor("password.wat-ok"); !isCode(err, host.CodeUnavailable) || !errors.Is(err, host.ErrWrongKind) {
		t.Fatalf("a password plugin as a method: %v", err)
	}
	if _, err := h.TwoFactor("twofactor.none"); !isCode(err, host.CodeUnavailable) || !errors.Is(err, host.ErrNotLoaded) {
		t.Fatalf("a missing method: %v", err)
	}
	if _, err := h.PasswordPolicy("twofactor.chaos"); !isCode(err, host.CodeUnavailable) {
		t.Fatalf("a method as a password policy: %v", err)
	}
}

// TestTwoFactorCalls: proper answers pass through; every fault fails the call
// closed (no result, never accepted) with its code, and the instance is
// replaced.
func TestTwoFactorCalls(t *testing.T) {
	h := newHost(t, host.Config{CallTimeout: 500 * time.Millisecond})
	mustLoad(t, h, "chaos", chaos2FA(t))
	m := twoFactor(t, h, "twofactor.chaos")
	ctx := context.Background()
	call := func(hook, mode string) (*abi.TwoFactorResult, bool, error) {
		in := abi.TwoFactorRequest{UserID: "7", Email: "u@example.com", ServiceName: "Gatehouse", State: []byte("s0"), Code: mode}
		if hook == "enroll" {
			in.State, in.Code, in.Params = nil, "", []string{"mode", mode}
		}
		return m.Call(ctx, "twofactor_"+hook, in)
	}

	t.Run("proper", func(t *testing.T) {
		o, accepted, err := call("enroll", "ok")
		if err != nil || !accepted || string(o.State) != "s0" || o.URI == "" || o.Secret != "SECRET" || !strings.HasPrefix(string(o.Image), "\x89PNG") {
			t.Fatalf("enroll: %+v %v", o, err)
		}
		o, accepted, err = call("verify", "ok")
		if err != nil || !accepted || string(o.State) != "s1" || o.ReplayKey != "r1" || sdktest.Pairs(o.Public)["email"] != "u@example.com" {
			t.Fatalf("verify: %+v %v", o, err)
		}
		o, accepted, err = call("verify", "wrong")
		if err != nil || accepted || len(o.Reasons) != 1 || o.Reasons[0].Code != "CHAOS_INVALID" || o.Reasons[0].Message != "Wrong code" || string(o.State) != "tries=1" {
			t.Fatalf("wrong code: %+v %v", o, err)
		}
		o, accepted, err = call("challenge", "ok")
		if err != nil || !accepted || len(o.Messages) != 1 || o.Messages[0].Template != "chaos-challenge" || o.Messages[0].To != "u@example.com" ||
			len(sdktest.Pairs(o.Messages[0].Vars)) != 1 || sdktest.Pairs(o.Messages[0].Vars)["Code"] != "123456" {
			t.Fatalf("challenge: %+v %v", o, err)
		}
	})

	// ABI v1.2 output: client data from enroll and challenge, a summary from
	// activate and verify, unique keys from an accepted activate pass
	// through as the plugin wrote them.
	t.Run("proper v1.2", func(t *testing.T) {
		const clientData = `{"publicKey": {"challenge": "Y2hhb3M", "timeout": 60000}}`
		for _, hook := range []string{"enroll", "challenge"} {
			if o, accepted, err := call(hook, "clientdata"); err != nil || !accepted || string(o.ClientData) != clientData {
				t.Fatalf("%s client data: %+v %v", hook, o, err)
			}
		}
		const summary = `{"credentials": [{"name": "laptop"}]}`
		for _, hook := range []string{"activate", "verify"} {
			if o, accepted, err := call(hook, "summary"); err != nil || !accepted || string(o.Summary) != summary {
				t.Fatalf("%s summary: %+v %v", hook, o, err)
			}
		}
		if o, accepted, err := call("activate", "unique"); err != nil || !accepted || strings.Join(o.UniqueKeys, ",") != "k1,k2" {
			t.Fatalf("activate unique keys: %+v %v", o, err)
		}
	})

	t.Run("request", func(t *testing.T) {
		now := time.Unix(1_800_000_000, 5)
		o, accepted, err := m.Call(ctx, abi.HookTwoFactorEnroll, abi.TwoFactorRequest{Now: now.UnixNano(), UserID: "7", Email: "u@exa\xffmple.com", ServiceName: "S",
			Params: []string{"other", "not a setup field", "mode", "echo"}})
		if err != nil || !accepted {
			t.Fatalf("%+v %v", o, err)
		}
		public := sdktest.Pairs(o.Public)
		want := map[string]string{"user": "7", "email": "u@exa\uFFFDmple.com", "service": "S", "code": "", "params": "mode,echo",
			"now": strconv.FormatInt(now.UnixNano(), 10), "state": ""}
		for k, v := range want {
			if public[k] != v {
				t.Errorf("%s: got %q, want %q", k, public[k], v)
			}
		}
		o, _, err = m.Call(ctx, abi.HookTwoFactorVerify, abi.TwoFactorRequest{State: []byte("st"), Code: "echo", Params: []string{"mode", "x"}})
		public = sdktest.Pairs(o.Public)
		if err != nil || public["params"] != "" || public["state"] != "st" || public["code"] != "echo" {
			t.Fatalf("params go to enroll only: %+v %v", public, err)
		}
	})

	tests := []struct {
		hook, mode, code, want string
	}{
		{"verify", "panic", host.CodeFailed, "reported a failure"},
		{"verify", "exit", host.CodeFailed, "exit"},
		{"verify", "loop", host.CodeTimeout, "deadline exceeded"},
		{"verify", "garbage", host.CodeBadOutput, "malformed"},
		{"verify", "status42", host.CodeBadOutput, "status 42"},
		{"activate", "badinput", host.CodeFailed, "could not decode"},
		{"verify", "noreason", host.CodeBadOutput, "denied without a reason"},
		{"activate", "undeclared", host.CodeBadOutput, `"NOPE" is not declared`},
		{"verify", "okreasons", host.CodeBadOutput, "reasons with status ok"},
		{"verify", "bigstate", host.CodeBadOutput, "state over"},
		{"enroll", "notpng", host.CodeBadOutput, "not a PNG"},
		{"enroll", "nostate", host.CodeBadOutput, "no state"},
		{"verify", "verifymsg", host.CodeBadOutput, "messages from twofactor_verify"},
		{"challenge", "badtemplate", host.CodeBadOutput, `template "password-reset"`},
		{"challenge", "pathtemplate", host.CodeBadOutput, `template "chaos-x/../../password-reset"`},
		{"challenge", "noto", host.CodeBadOutput, "without a recipient"},
		{"enroll", "oddvars", host.CodeBadOutput, "name/value pairs"},
		{"verify", "bigreplay", host.CodeBadOutput, "replay key"},
		{"activate", "manypublic", host.CodeBadOutput, "public must be at most 8"},
		// ABI v1.2: client data, summary, unique keys.
		{"enroll", "cdarray", host.CodeBadOutput, "client data is not a JSON object"},
		{"challenge", "cdnull", host.CodeBadOutput, "client data is not a JSON object"},
		{"enroll", "cdundeclared", host.CodeBadOutput, `client data property "qr" is not declared`},
		{"challenge", "bigclientdata", host.CodeBadOutput, "client data over 65536 bytes"},
		{"verify", "clientdata", host.CodeBadOutput, "client data from twofactor_verify"},
		{"activate", "clientdata", host.CodeBadOutput, "client data from twofactor_activate"},
		{"verify", "summarydone", host.CodeBadOutput, `summary property "completedAt"`},
		{"activate", "bigsummary", host.CodeBadOutput, "summary over 8192 bytes"},
		{"enroll", "summary", host.CodeBadOutput, "summary from twofactor_enroll"},
		{"challenge", "summary", host.CodeBadOutput, "summary from twofactor_challenge"},
		{"activate", "uniquedenied", host.CodeBadOutput, "unique keys from twofactor_activate"},
		{"verify", "unique", host.CodeBadOutput, "unique keys from twofactor_verify"},
		{"enroll", "unique", host.CodeBadOutput, "unique keys from twofactor_enroll"},
		{"activate", "manyunique", host.CodeBadOutput, "more than 32 unique keys"},
		{"activate", "longunique", host.CodeBadOutput, "unique key is empty or over 128 bytes"},
		{"activate", "emptyunique", host.CodeBadOutput, "unique key is empty or over 128 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.hook+" "+tt.mode, func(t *testing.T) {
			before := status(t, h, "twofactor.chaos")
			o, accepted, err := call(tt.hook, tt.mode)
			var pe *host.PluginError
			if !errors.As(err, &pe) || pe.Code != tt.code || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %s containing %q", err, tt.code, tt.want)
			}
			if pe.Plugin != "twofactor.chaos" || pe.Hook != "twofactor_"+tt.hook {
				t.Fatalf("error names plugin %q hook %q", pe.Plugin, pe.Hook)
			}
			if accepted || o != nil {
				t.Fatalf("a failed call returned accepted=%v %+v", accepted, o)
			}
			if after := status(t, h, "twofactor.chaos"); after.Discarded != before.Discarded+1 {
				t.Fatalf("instance not thrown away: before %+v after %+v", before, after)
			}
			if o, accepted, err := call("verify", "ok"); err != nil || !accepted {
				t.Fatalf("call after the fault: %+v %v", o, err)
			}
		})
	}
}

// A method that does not declare twofactor_challenge is never called for it,
// even though the Go SDK exports it.
func TestTwoFactorUndeclaredChallenge(t *testing.T) {
	h := newHost(t, host.Config{Grants: totpGrants})
	mustLoad(t, h, "totp", totpWasm(t))
	m := twoFactor(t, h, "twofactor.totp")
	if host.Challenges(m.Descriptor()) {
		t.Fatal("totp says it challenges")
	}
	before := status(t, h, "twofactor.totp")
	if o, accepted, err := m.Call(context.Background(), abi.HookTwoFactorChallenge, abi.TwoFactorRequest{State: []byte("x")}); !isCode(err, host.CodeUnavailable) || accepted || o != nil {
		t.Fatalf("%+v %v", o, err)
	}
	if after := status(t, h, "twofactor.totp"); after.Calls != before.Calls {
		t.Fatal("the plugin was called")
	}
}

// The first-party TOTP plugin imports the host's HMAC: without the crypto
// grant it does not load (the server grants it by default).
func TestTOTPNeedsCryptoGrant(t *testing.T) {
	h := newHost(t, host.Config{Grants: map[string][]string{"twofactor.totp": {"smtp"}}})
	err := h.Load(context.Background(), "totp", totpWasm(t))
	if err == nil || !strings.Contains(err.Error(), `"crypto"`) {
		t.Fatalf("loaded without the crypto grant: %v", err)
	}
	if st := status(t, h, "twofactor.totp"); st.Loaded {
		t.Fatalf("status %+v", st)
	}
	if _, err := h.TwoFactor("twofactor.totp"); !isCode(err, host.CodeUnavailable) {
		t.Fatalf("a method that did not load: %v", err)
	}
}
