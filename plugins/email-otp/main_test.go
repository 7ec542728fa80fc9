package main

import (
	"context"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host"
	"github.com/gatehouse/gatehouse/plugins/email-otp/emailotp"
	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

var sixDigits = regexp.MustCompile(`^[0-9]{6}$`)

// The spec's email OTP (section 4), natively and as the built .wasm in the
// real host.
func TestEmailOTP(t *testing.T) {
	wasm := sdktest.Build(t, ".")
	sdktest.Conformance(t, wasm)
	b, err := os.ReadFile(wasm)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := host.Inspect(context.Background(), b)
	if err != nil || rep.Descriptor == nil || !host.Challenges(*rep.Descriptor) {
		t.Fatalf("email-otp does not declare twofactor_challenge, or its descriptor is unreadable: %+v %v", rep.Descriptor, err)
	}
	for _, m := range sdktest.TwoFactorModes(t, wasm) {
		t.Run(m.Name, func(t *testing.T) {
			info := m.Info
			want := abi.TwoFactorCodes{Invalid: "OTP_INVALID_EXPIRED", Uninitialized: "EMAIL_OTP_UNINITIALIZED", Inactive: "EMAIL_OTP_INACTIVE",
				AlreadyInactive: "EMAIL_OTP_ALREADY_INACTIVE", TooMany: "TOO_MANY_EMAIL_OTP_CHECKS", TooManySends: "TOO_MANY_OTP_EMAILS", Corrupt: "EMAIL_OTP_CORRUPT"}
			if info.Route != "email-otp" || info.SummaryKey != "emailOtp" || info.CodeField != "otp" || info.CodeLength != 6 ||
				len(info.SetupFields) != 1 || info.SetupFields[0] != "email" || !info.Weak || info.Codes != want {
				t.Fatalf("metadata %+v", info)
			}
			now := time.Unix(1_800_000_000, 0)
			call := func(hook string, state []byte, code string, at time.Time) answer {
				t.Helper()
				o, accepted, err := m.Call(hook, abi.TwoFactorRequest{Now: at.UnixNano(), UserID: "7", Email: "account@example.com", State: state, Code: code,
					Params: []string{"email", "second@example.com"}})
				if err != nil {
					t.Fatalf("%s: %v", hook, err)
				}
				return newAnswer(o, accepted)
			}
			// sent checks a send and returns the state and the code.
			sent := func(o answer, template string) ([]byte, string) {
				t.Helper()
				if !o.accepted || o.State == nil || len(o.Messages) != 1 {
					t.Fatalf("send: %+v", o)
				}
				msg := o.Messages[0]
				vars := sdktest.Pairs(msg.Vars)
				if msg.Template != template || msg.To != "second@example.com" || !sixDigits.MatchString(vars["Code"]) ||
					vars["ExpiresMinutes"] != "10" || len(vars) != 2 || len(msg.Vars) != 4 {
					t.Fatalf("message %+v", msg)
				}
				return o.State, vars["Code"]
			}
			wrong := func(code string) string {
				if code == "000000" {
					return "000001"
				}
				return "000000"
			}

			t.Run("setup, enable, used once", func(t *testing.T) {
				state, code := sent(call(abi.HookTwoFactorEnroll, nil, "", now), emailotp.TemplateSetup)
				o := call(abi.HookTwoFactorActivate, state, code, now.Add(time.Minute))
				if !o.accepted || sdktest.Pairs(o.Public)["email"] != "second@example.com" || o.ReplayKey != "" {
					t.Fatalf("activate: %+v", o)
				}
				again := call(abi.HookTwoFactorVerify, o.State, code, now.Add(2*time.Minute))
				if again.accepted || again.reason != emailotp.CodeInvalid {
					t.Fatalf("a used code: %+v", again)
				}
			})
			t.Run("expires after 10 minutes", func(t *testing.T) {
				state, code := sent(call(abi.HookTwoFactorEnroll, nil, "", now), emailotp.TemplateSetup)
				if o := call(abi.HookTwoFactorVerify, state, code, now.Add(10*time.Minute)); o.accepted || o.reason != emailotp.CodeInvalid {
					t.Fatalf("at 10 minutes: %+v", o)
				}
				if o := call(abi.HookTwoFactorVerify, state, code, now.Add(10*time.Minute-time.Second)); !o.accepted {
					t.Fatalf("just before: %+v", o)
				}
			})
			t.Run("5 wrong tries kill the code", func(t *testing.T) {
				state, code := sent(call(abi.HookTwoFactorEnroll, nil, "", now), emailotp.TemplateSetup)
				for i := range 4 {
					o := call(abi.HookTwoFactorVerify, state, wrong(code), now)
					if o.accepted || o.reason != emailotp.CodeInvalid || o.State == nil {
						t.Fatalf("wrong try %d: %+v", i+1, o)
					}
					state = o.State
				}
				if o := call(abi.HookTwoFactorVerify, state, code, now); !o.accepted {
					t.Fatalf("the right code after 4 wrong tries: %+v", o)
				}
				state, code = sent(call(abi.HookTwoFactorEnroll, nil, "", now), emailotp.TemplateSetup)
				for range 5 {
					state = call(abi.HookTwoFactorVerify, state, wrong(code), now).State
				}
				if o := call(abi.HookTwoFactorVerify, state, code, now); o.accepted || o.reason != emailotp.CodeInvalid {
					t.Fatalf("the right code after 5 wrong tries: %+v", o)
				}
			})
			t.Run("a new send replaces the code", func(t *testing.T) {
				state, first := sent(call(abi.HookTwoFactorEnroll, nil, "", now), emailotp.TemplateSetup)
				o := call(abi.HookTwoFactorActivate, state, first, now)
				state, second := sent(call(abi.HookTwoFactorChallenge, o.State, "", now), emailotp.TemplateChallenge)
				if first != second {
					if o := call(abi.HookTwoFactorVerify, state, first, now); o.accepted {
						t.Fatal("the replaced code still works")
					}
				}
				if o := call(abi.HookTwoFactorVerify, state, second, now); !o.accepted {
					t.Fatalf("the new code: %+v", o)
				}
			})
			t.Run("codes are random", func(t *testing.T) {
				seen := map[string]bool{}
				for range 20 {
					_, code := sent(call(abi.HookTwoFactorEnroll, nil, "", now), emailotp.TemplateSetup)
					seen[code] = true
				}
				if len(seen) < 15 {
					t.Fatalf("%d distinct codes in 20", len(seen))
				}
			})
			t.Run("no address", func(t *testing.T) {
				o, accepted, err := m.Call(abi.HookTwoFactorEnroll, abi.TwoFactorRequest{Now: now.UnixNano()})
				if err != nil || accepted || o.Reasons[0].Code != emailotp.CodeNoAddress {
					t.Fatalf("%+v %v", o, err)
				}
			})
			t.Run("unreadable state fails", func(t *testing.T) {
				if _, _, err := m.Call(abi.HookTwoFactorVerify, abi.TwoFactorRequest{Now: now.UnixNano(), State: []byte{0xff}, Code: "123456"}); err == nil {
					t.Fatal("no error")
				}
			})
		})
	}
}

// answer is one call's result, whether it was accepted and, for a denial,
// the first reason's code.
type answer struct {
	*abi.TwoFactorResult
	accepted bool
	reason   string
}

func newAnswer(res *abi.TwoFactorResult, accepted bool) answer {
	a := answer{TwoFactorResult: res, accepted: accepted}
	if !accepted && len(res.Reasons) > 0 {
		a.reason = res.Reasons[0].Code
	}
	return a
}
