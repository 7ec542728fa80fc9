package server

import (
	"context"
	"errors"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"

	"github.com/gatehouse/gatehouse/core/twofactor"
	"github.com/gatehouse/gatehouse/host"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

// twoFactorHost loads the first-party 2FA plugins and the HOTP example, built from source,
// with the server's first-party grants (TOTP's crypto).
func twoFactorHost(t *testing.T) *host.Host {
	t.Helper()
	h := sdktest.NewHost(t, host.Config{Grants: pluginGrants(nil)})
	for _, dir := range []string{"../../plugins/totp", "../../plugins/email-otp", "../../examples/hotp"} {
		wasm, err := os.ReadFile(sdktest.Build(t, dir))
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Load(context.Background(), dir, wasm); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// The plugins' metadata maps to the core's method descriptions: TOTP's is the native
// reference's, email OTP's has the spec's codes, and the third party gets the defaults.
func TestPluginMethodInfo(t *testing.T) {
	h := twoFactorHost(t)
	s := &Server{plugins: h, twoFactor: &twofactor.Service{}, log: hclog.NewNullLogger()}
	s.registerTwoFactorPlugins()
	got := map[string]twofactor.Info{}
	for _, info := range s.twoFactor.Methods() {
		got[info.ID] = info
	}
	if len(got) != 3 {
		t.Fatalf("methods %+v", got)
	}
	if !reflect.DeepEqual(got["totp"], twofactor.TOTPInfo) {
		t.Errorf("totp\n got %+v\nwant %+v", got["totp"], twofactor.TOTPInfo)
	}
	email := twofactor.Info{ID: "email-otp", SummaryKey: "emailOtp", CodeField: "otp", CodeLength: 6, SetupFields: []string{"email"},
		Challenges: true, Weak: true, Codes: twofactor.Codes{Invalid: "OTP_INVALID_EXPIRED", Uninitialized: "EMAIL_OTP_UNINITIALIZED",
			Inactive: "EMAIL_OTP_INACTIVE", AlreadyInactive: "EMAIL_OTP_ALREADY_INACTIVE", TooMany: "TOO_MANY_EMAIL_OTP_CHECKS",
			TooManySends: "TOO_MANY_OTP_EMAILS", Corrupt: "EMAIL_OTP_CORRUPT"}}
	if !reflect.DeepEqual(got["email-otp"], email) {
		t.Errorf("email-otp\n got %+v\nwant %+v", got["email-otp"], email)
	}
	hotp := twofactor.Info{ID: "hotp", CodeField: "code", CodeLength: 6, Codes: twofactor.DefaultCodes("hotp")}
	if !reflect.DeepEqual(got["hotp"], hotp) {
		t.Errorf("hotp\n got %+v\nwant %+v", got["hotp"], hotp)
	}
}

// The adapter's answers: an acceptance with its replay key, a denial with the plugin's reason
// and no replay key, messages with their recipient, and a fault as the host's error.
func TestPluginMethodCalls(t *testing.T) {
	h := twoFactorHost(t)
	ctx := context.Background()
	method := func(id string) pluginMethod {
		m, err := h.TwoFactor(id)
		if err != nil {
			t.Fatal(err)
		}
		return newPluginMethod(m)
	}
	totp, email := method("twofactor.totp"), method("twofactor.email-otp")
	now := time.Unix(1_800_000_015, 0)
	res, err := totp.Enroll(ctx, twofactor.Request{Now: now, UserID: 7, Email: "u@example.com", ServiceName: "Gatehouse"})
	if err != nil || res.Denied || res.State == nil || res.URI == "" {
		t.Fatalf("enroll: %+v %v", res, err)
	}
	right, err := hotp.GenerateCodeCustom(string(res.State), uint64(now.Unix())/30, hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{right, "abcdef"} {
		want, err := twofactor.NativeTOTP{}.Verify(ctx, twofactor.Request{Now: now, State: res.State, Code: code})
		if err != nil {
			t.Fatal(err)
		}
		got, err := totp.Verify(ctx, twofactor.Request{Now: now, State: res.State, Code: code})
		if err != nil || got.Denied != want.Denied || got.ReplayKey != want.ReplayKey || got.State != nil {
			t.Fatalf("code %s: plugin %+v %v, native %+v", code, got, err, want)
		}
		if got.Denied && got.Reason != "TOTP_INVALID" {
			t.Fatalf("denial reason %q", got.Reason)
		}
	}

	res, err = email.Enroll(ctx, twofactor.Request{Now: now, UserID: 7, Params: map[string]string{"email": "second@example.com"}})
	if err != nil || res.Denied || len(res.Messages) != 1 {
		t.Fatalf("email enroll: %+v %v", res, err)
	}
	msg := res.Messages[0]
	if msg.Template != "email-otp-setup" || msg.To != "second@example.com" || len(msg.Vars["Code"]) != 6 || msg.Vars["ExpiresMinutes"] != "10" {
		t.Fatalf("message %+v", msg)
	}
	ok, err := email.Activate(ctx, twofactor.Request{Now: now.Add(time.Minute), State: res.State, Code: msg.Vars["Code"]})
	if err != nil || ok.Denied || ok.Public["email"] != "second@example.com" {
		t.Fatalf("activate: %+v %v", ok, err)
	}
	if _, err := email.Verify(ctx, twofactor.Request{Now: now, State: []byte{0xff}, Code: "123456"}); err == nil {
		t.Fatal("a fault is not an error")
	} else if pe := (*host.PluginError)(nil); !errors.As(err, &pe) || pe.Code != host.CodeFailed {
		t.Fatalf("fault: %v", err)
	}
}
