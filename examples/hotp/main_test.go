package main

import (
	"context"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/pquerna/otp/hotp"

	"github.com/gatehouse/gatehouse/host"
	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
	"github.com/gatehouse/gatehouse/sdk/twofactor"
)

var uriPattern = regexp.MustCompile(`^otpauth://hotp/Acme:jane@example\.com\?secret=([A-Z2-7]{32})&issuer=Acme&algorithm=SHA1&digits=6&counter=0$`)

// The same steps run natively (the method registered by this package's init)
// and as the built .wasm in the real host.
func TestHOTP(t *testing.T) {
	wasm := sdktest.Build(t, ".")
	sdktest.Conformance(t, wasm)
	b, err := os.ReadFile(wasm)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := host.Inspect(context.Background(), b)
	if err != nil || rep.Descriptor == nil || host.Challenges(*rep.Descriptor) {
		t.Fatalf("hotp challenges, or its descriptor is unreadable: %+v %v", rep.Descriptor, err)
	}
	for _, m := range sdktest.TwoFactorModes(t, wasm) {
		t.Run(m.Name, func(t *testing.T) {
			info := m.Info
			if info.Route != "hotp" || info.SummaryKey != "" || info.CodeField != "code" || info.CodeLength != 6 ||
				info.Codes.Invalid != "HOTP_INVALID" || info.Codes.TooMany != "TOO_MANY_HOTP_CHECKS" || info.Codes.Uninitialized != "HOTP_UNINITIALIZED" {
				t.Fatalf("metadata %+v", info)
			}
			enroll, accepted, err := m.Call(abi.HookTwoFactorEnroll, abi.TwoFactorRequest{Email: "jane@example.com", ServiceName: "Acme"})
			if err != nil || !accepted {
				t.Fatalf("enroll: %+v %v", enroll, err)
			}
			match := uriPattern.FindStringSubmatch(enroll.URI)
			if match == nil {
				t.Fatalf("uri %q", enroll.URI)
			}
			secret := match[1]
			code := func(c uint64) string {
				s, err := hotp.GenerateCodeCustom(secret, c, opts)
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			now := time.Unix(1_800_000_000, 0)
			state := enroll.State
			keys := map[string]bool{}
			// step presents a code and checks the answer; it keeps the new state.
			step := func(hook, c string, at time.Time, ok bool) {
				t.Helper()
				o, accepted, err := m.Call(hook, abi.TwoFactorRequest{Now: at.UnixNano(), State: state, Code: c})
				if err != nil {
					t.Fatal(err)
				}
				if accepted != ok {
					t.Fatalf("code %s: accepted %v, want %v", c, accepted, ok)
				}
				if ok {
					if o.ReplayKey == "" || keys[o.ReplayKey] {
						t.Fatalf("replay key %q repeats or is empty", o.ReplayKey)
					}
					keys[o.ReplayKey] = true
				} else if o.Reasons[0].Code != CodeInvalid {
					t.Fatalf("denied with %q", o.Reasons[0].Code)
				}
				if o.State == nil {
					t.Fatal("no new state")
				}
				state = o.State
			}
			verify := abi.HookTwoFactorVerify
			later := now.Add(6 * time.Minute)
			// The window is the next 10 counters: [counter, counter+10).
			step(abi.HookTwoFactorActivate, code(0), now, true) // counter 1
			step(verify, code(0), now, false)                   // used: the counter moved
			step(verify, code(1), now, true)                    // counter 2
			step(verify, code(11), now, true)                   // the window's last: counter 12
			step(verify, code(5), now, false)                   // behind the counter
			step(verify, "12345", now, false)                   // not 6 digits
			// Resynchronisation: two consecutive codes beyond the window.
			step(verify, code(22), now, false) // just past [12, 22): refused, remembered
			step(verify, code(23), now, true)  // the next one: counter 24
			step(verify, code(24), now, true)  // counter 25
			// Not consecutive: both refused, the counter stays.
			step(verify, code(80), now, false)
			step(verify, code(82), now, false)
			step(verify, code(25), now, true) // counter 26
			// A wrong code in between forgets the first.
			step(verify, code(60), now, false)
			step(verify, "abcdef", now, false)
			step(verify, code(61), now, false)
			step(verify, code(26), now, true) // counter 27
			// The second code more than 5 minutes after the first.
			step(verify, code(100), now, false)
			step(verify, code(101), later, false)
			step(verify, code(27), later, true) // counter 28
			// Beyond the resynchronisation window (28+10+100 = 138): never remembered.
			step(verify, code(138), later, false)
			step(verify, code(139), later, false)
			step(verify, code(28), later, true)
			if _, _, err := m.Call(verify, abi.TwoFactorRequest{Now: now.UnixNano(), State: []byte{0xff}, Code: code(29)}); err == nil {
				t.Fatal("an unreadable state did not fail the call")
			}
		})
	}
}

func TestConfigure(t *testing.T) {
	tests := []struct {
		name, config string
		ok           bool
	}{
		{"none", "", true},
		{"look-ahead 3", `{"lookAhead": 3}`, true},
		{"no resync", `{"resyncWindow": 0}`, true},
		{"look-ahead 0", `{"lookAhead": 0}`, false},
		{"look-ahead 51", `{"lookAhead": 51}`, false},
		{"unknown field", `{"window": 4}`, false},
		{"not JSON", `{`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := newMethod().Configure([]byte(tt.config)); (len(got) == 0) != tt.ok {
				t.Fatalf("Configure(%s) = %v", tt.config, got)
			}
		})
	}
	// A window of one counter: the code after the expected one is refused.
	m := newMethod()
	m.Configure([]byte(`{"lookAhead": 1, "resyncWindow": 0}`))
	st := state{Secret: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"}
	c1, _ := hotp.GenerateCodeCustom(st.Secret, 1, opts)
	res, err := m.Verify(&twofactor.Request{Now: time.Now(), State: st.marshal(), Code: c1})
	if err != nil || len(res.Reasons) == 0 {
		t.Fatalf("%+v %v", res, err)
	}
}
