package host

import (
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/sdk/abi"
)

func TestResolveTwoFactorInfo(t *testing.T) {
	hooks := []string{abi.HookTwoFactorEnroll, abi.HookTwoFactorActivate, abi.HookTwoFactorVerify}
	desc := func(id string, tf *abi.TwoFactorInfo) *abi.Descriptor {
		return &abi.Descriptor{ID: id, Kind: abi.KindTwoFactor, Version: "1", Hooks: hooks, TwoFactor: tf}
	}
	tests := []struct {
		name string
		desc *abi.Descriptor
		// check gets the resolved info and whether the descriptor
		// declares challenges (Challenges).
		check   func(i abi.TwoFactorInfo, challenges bool) bool
		wantErr string
	}{
		{"v1.0 plugin: every default", desc("twofactor.push-app", nil), func(i abi.TwoFactorInfo, challenges bool) bool {
			return i.Route == "push-app" && i.CodeField == "code" && i.CodePrefix == "PUSH_APP" && !challenges && i.ReplayWindowSeconds == 0 &&
				i.Codes == abi.TwoFactorCodes{Invalid: "PUSH_APP_INVALID", Uninitialized: "PUSH_APP_UNINITIALIZED", Inactive: "PUSH_APP_UNINITIALIZED",
					AlreadyInactive: "PUSH_APP_ALREADY_INACTIVE", TooMany: "TOO_MANY_PUSH_APP_CHECKS", TooManySends: "TOO_MANY_PUSH_APP_SENDS", Corrupt: "PUSH_APP_CORRUPT"}
		}, ""},
		{"email otp", desc("twofactor.email-otp", &abi.TwoFactorInfo{SummaryKey: "emailOtp", CodeField: "otp", CodeLength: 6, SetupFields: []string{"email"}, Weak: true,
			Codes: abi.TwoFactorCodes{Invalid: "OTP_INVALID_EXPIRED", Inactive: "EMAIL_OTP_INACTIVE", TooManySends: "TOO_MANY_OTP_EMAILS"}}), func(i abi.TwoFactorInfo, challenges bool) bool {
			return i.Route == "email-otp" && i.SummaryKey == "emailOtp" && i.CodeLength == 6 && i.Weak && i.Codes.Invalid == "OTP_INVALID_EXPIRED" &&
				i.Codes.Uninitialized == "EMAIL_OTP_UNINITIALIZED" && i.Codes.Inactive == "EMAIL_OTP_INACTIVE" && i.Codes.TooMany == "TOO_MANY_EMAIL_OTP_CHECKS" &&
				i.Codes.TooManySends == "TOO_MANY_OTP_EMAILS"
		}, ""},
		{"explicit route and prefix, replay window capped", desc("twofactor.x", &abi.TwoFactorInfo{Route: "y", CodePrefix: "Z", ReplayWindowSeconds: 1 << 30}), func(i abi.TwoFactorInfo, challenges bool) bool {
			return i.Route == "y" && i.Codes.Invalid == "Z_INVALID" && i.ReplayWindowSeconds == 86400
		}, ""},
		{"challenges from the hooks", &abi.Descriptor{ID: "twofactor.c", Kind: abi.KindTwoFactor, Hooks: append(hooks[:3:3], abi.HookTwoFactorChallenge)},
			func(_ abi.TwoFactorInfo, challenges bool) bool { return challenges }, ""},
		{"reserved route", desc("twofactor.recovery-code", nil), nil, "reserved"},
		{"bad route", desc("twofactor.x", &abi.TwoFactorInfo{Route: "a/b"}), nil, "route"},
		{"long route", desc("twofactor.x", &abi.TwoFactorInfo{Route: strings.Repeat("a", 33)}), nil, "route"},
		{"bad summary key", desc("twofactor.x", &abi.TwoFactorInfo{SummaryKey: "a b"}), nil, "summary key"},
		{"bad code field", desc("twofactor.x", &abi.TwoFactorInfo{CodeField: "co-de"}), nil, "code field"},
		{"code length", desc("twofactor.x", &abi.TwoFactorInfo{CodeLength: 65}), nil, "code length"},
		{"setup field is the code field", desc("twofactor.x", &abi.TwoFactorInfo{SetupFields: []string{"code"}}), nil, "setup field"},
		{"setup field twice", desc("twofactor.x", &abi.TwoFactorInfo{SetupFields: []string{"a", "a"}}), nil, "setup field"},
		{"bad prefix", desc("twofactor.x", &abi.TwoFactorInfo{CodePrefix: "lower"}), nil, "prefix"},
		{"bad code", desc("twofactor.x", &abi.TwoFactorInfo{Codes: abi.TwoFactorCodes{Corrupt: "not-a-code"}}), nil, "message code"},
		// ABI v1.2: JSON, optional setup and client data fields, additive methods.
		{"passkey-like method", desc("twofactor.passkey", &abi.TwoFactorInfo{SummaryKey: "passkeys", CodeField: "credential", JSONFields: []string{"credential"},
			OptionalSetupFields: []string{"name"}, ClientDataFields: []string{"publicKey"}, Additive: true}), func(i abi.TwoFactorInfo, challenges bool) bool {
			return i.Route == "passkey" && i.CodeField == "credential" && slices.Equal(i.JSONFields, []string{"credential"}) &&
				slices.Equal(i.OptionalSetupFields, []string{"name"}) && len(i.SetupFields) == 0 && slices.Equal(i.ClientDataFields, []string{"publicKey"}) &&
				i.Additive && !challenges && i.Codes.Invalid == "PASSKEY_INVALID"
		}, ""},
		{"json setup field", desc("twofactor.x", &abi.TwoFactorInfo{SetupFields: []string{"device"}, OptionalSetupFields: []string{"extra"}, JSONFields: []string{"device", "extra"}}),
			func(i abi.TwoFactorInfo, _ bool) bool {
				return slices.Equal(i.JSONFields, []string{"device", "extra"}) && i.CodeField == "code"
			}, ""},
		{"json field neither code nor setup field", desc("twofactor.x", &abi.TwoFactorInfo{SetupFields: []string{"email"}, JSONFields: []string{"other"}}), nil, "JSON field"},
		{"json code field with a code length", desc("twofactor.x", &abi.TwoFactorInfo{CodeField: "credential", CodeLength: 6, JSONFields: []string{"credential"}}), nil, "code length"},
		{"client data field qr is reserved", desc("twofactor.x", &abi.TwoFactorInfo{ClientDataFields: []string{"publicKey", "qr"}}), nil, "client data field"},
		{"client data field url is reserved", desc("twofactor.x", &abi.TwoFactorInfo{ClientDataFields: []string{"url"}}), nil, "client data field"},
		{"bad client data field", desc("twofactor.x", &abi.TwoFactorInfo{ClientDataFields: []string{"public key"}}), nil, "client data field"},
		{"too many client data fields", desc("twofactor.x", &abi.TwoFactorInfo{ClientDataFields: []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"}}), nil, "client data fields"},
		{"optional setup field repeats a setup field", desc("twofactor.x", &abi.TwoFactorInfo{SetupFields: []string{"name"}, OptionalSetupFields: []string{"name"}}), nil, "setup field"},
		{"optional setup field is the code field", desc("twofactor.x", &abi.TwoFactorInfo{OptionalSetupFields: []string{"code"}}), nil, "setup field"},
		{"too many setup fields with the optional ones", desc("twofactor.x", &abi.TwoFactorInfo{SetupFields: []string{"a", "b", "c", "d", "e"}, OptionalSetupFields: []string{"f", "g", "h", "i"}}), nil, "setup fields"},
		{"metadata on a password plugin", &abi.Descriptor{ID: "password.x", Kind: abi.KindPassword, TwoFactor: &abi.TwoFactorInfo{}}, nil, "on a password plugin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := ResolveTwoFactorInfo(*tt.desc)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !tt.check(info, Challenges(*tt.desc)) {
				t.Fatalf("got %+v, %v", info, err)
			}
		})
	}
}

// validateDescriptor refuses a plugin with bad metadata at load.
func TestValidateDescriptorTwoFactor(t *testing.T) {
	hooks := []string{abi.HookTwoFactorEnroll, abi.HookTwoFactorActivate, abi.HookTwoFactorVerify}
	d := &abi.Descriptor{ID: "twofactor.x", Kind: abi.KindTwoFactor, Version: "1", Hooks: hooks, TwoFactor: &abi.TwoFactorInfo{CodeLength: 99}}
	if err := validateDescriptor(d, &loadInfo{}, hooks); err == nil || !strings.Contains(err.Error(), "code length") {
		t.Fatalf("got %v", err)
	}
	d.TwoFactor.CodeLength = 6
	if err := validateDescriptor(d, &loadInfo{}, hooks); err != nil {
		t.Fatal(err)
	}
}
