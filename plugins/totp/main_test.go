package main

import (
	"context"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"

	coretf "github.com/gatehouse/gatehouse/core/twofactor"
	"github.com/gatehouse/gatehouse/host"
	"github.com/gatehouse/gatehouse/plugins/totp/totp"
	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

func code(t *testing.T, secret string, step uint64) string {
	t.Helper()
	c, err := hotp.GenerateCodeCustom(secret, step, hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var urlPattern = regexp.MustCompile(`^otpauth://totp/Acme%20Portal:jane@example\.com\?secret=([A-Z2-7]{32})&issuer=Acme\+Portal&algorithm=SHA1&digits=6&period=30$`)

// The spec's TOTP, natively and as the built .wasm in the real host.
func TestTOTP(t *testing.T) {
	wasm := sdktest.Build(t, ".")
	sdktest.Conformance(t, wasm)
	// The HMAC is the host's: the plugin declares and imports crypto, and nothing else.
	if raw, err := os.ReadFile(wasm); err != nil {
		t.Fatal(err)
	} else if rep, err := host.Inspect(context.Background(), raw); err != nil || strings.Join(rep.Capabilities, ",") != "crypto" ||
		strings.Join(rep.Descriptor.Capabilities, ",") != "crypto" {
		t.Fatalf("capabilities: %+v %v", rep, err)
	} else if host.Challenges(*rep.Descriptor) {
		t.Fatal("totp declares twofactor_challenge")
	}
	for _, m := range sdktest.TwoFactorModes(t, wasm) {
		t.Run(m.Name, func(t *testing.T) {
			info := m.Info
			if info.Route != "totp" || info.SummaryKey != "totp" || info.CodeField != "totp" || info.CodeLength != 6 || info.Weak ||
				coretf.Codes(info.Codes) != coretf.TOTPInfo.Codes || time.Duration(info.ReplayWindowSeconds)*time.Second != coretf.TOTPInfo.ReplayWindow {
				t.Fatalf("metadata %+v", info)
			}
			enroll, accepted, err := m.Call(abi.HookTwoFactorEnroll, abi.TwoFactorRequest{UserID: "7", Email: "jane@example.com", ServiceName: "Acme Portal"})
			if err != nil || !accepted {
				t.Fatalf("enroll: %+v %v", enroll, err)
			}
			match := urlPattern.FindStringSubmatch(enroll.URI)
			if match == nil || match[1] != string(enroll.State) {
				t.Fatalf("url %q (state %q)", enroll.URI, enroll.State)
			}
			if _, err := otp.NewKeyFromURL(enroll.URI); err != nil {
				t.Fatalf("pquerna/otp cannot read the URL: %v", err)
			}
			if u, _ := url.Parse(enroll.URI); u.Query().Get("issuer") != "Acme Portal" {
				t.Fatalf("issuer %q", u.Query().Get("issuer"))
			}
			again, _, err := m.Call(abi.HookTwoFactorEnroll, abi.TwoFactorRequest{Email: "jane@example.com", ServiceName: "Acme Portal"})
			if err != nil || string(again.State) == string(enroll.State) {
				t.Fatal("two enrolments made the same secret")
			}

			secret := string(enroll.State)
			now := time.Unix(1_800_000_015, 0) // mid-step
			step := uint64(now.Unix()) / 30
			tests := []struct {
				name   string
				code   string
				ok     bool
				replay uint64
			}{
				{"current step", code(t, secret, step), true, step},
				{"previous step", code(t, secret, step-1), true, step - 1},
				{"next step", code(t, secret, step+1), true, step + 1},
				{"two steps back", code(t, secret, step-2), false, 0},
				{"two steps ahead", code(t, secret, step+2), false, 0},
				{"wrong", "000000", false, 0},
				{"too short", code(t, secret, step)[:5], false, 0},
				{"too long", code(t, secret, step) + "0", false, 0},
				{"empty", "", false, 0},
			}
			for _, hook := range []string{abi.HookTwoFactorActivate, abi.HookTwoFactorVerify} {
				for _, tt := range tests {
					t.Run(hook+" "+tt.name, func(t *testing.T) {
						if tt.name == "wrong" && tt.code == code(t, secret, step) {
							t.Skip("the random secret's code is 000000")
						}
						o, accepted, err := m.Call(hook, abi.TwoFactorRequest{Now: now.UnixNano(), State: []byte(secret), Code: tt.code})
						if err != nil {
							t.Fatal(err)
						}
						if accepted != tt.ok {
							t.Fatalf("accepted %v, want %v (%+v)", accepted, tt.ok, o)
						}
						if o.State != nil {
							t.Fatalf("the state changed: %q", o.State)
						}
						if tt.ok {
							if o.ReplayKey != strconv.FormatUint(tt.replay, 10) {
								t.Fatalf("replay key %q, want step %d", o.ReplayKey, tt.replay)
							}
						} else if len(o.Reasons) == 0 || o.Reasons[0].Code != totp.CodeInvalid || o.Reasons[0].Message != totp.MsgInvalid || o.ReplayKey != "" {
							t.Fatalf("denial %+v", o)
						}
					})
				}
			}
			o, accepted, err := m.Call(abi.HookTwoFactorVerify, abi.TwoFactorRequest{Now: now.UnixNano(), State: []byte("not base32!"), Code: "123456"})
			if err != nil || accepted || o.Reasons[0].Code != totp.CodeInvalid {
				t.Fatalf("corrupt secret: %+v %v", o, err)
			}
		})
	}
}

// The plugin's method agrees with the core's native reference on the same
// inputs.
func TestMatchesNativeReference(t *testing.T) {
	secret := "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	for s := int64(0); s < 200; s++ {
		now := time.Unix(1_700_000_000+s*7, 0)
		for _, c := range []string{code(t, secret, uint64(now.Unix())/30), code(t, secret, uint64(now.Unix())/30+1), "123456"} {
			gs, gok := totp.Match(secret, c, now)
			ws, wok := coretf.MatchTOTP(secret, c, now)
			if gs != ws || gok != wok {
				t.Fatalf("at %v code %s: plugin %d %v, native %d %v", now, c, gs, gok, ws, wok)
			}
		}
	}
	if totp.URL("Acme Portal", "jane@example.com", "ABC") != coretf.TOTPURL("Acme Portal", "jane@example.com", "ABC") {
		t.Fatal("the URL differs from the native reference")
	}
}
