package auth

import (
	"context"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/gatehouse/gatehouse/core/failure"
	"github.com/gatehouse/gatehouse/core/internal/storetest"
	"github.com/gatehouse/gatehouse/core/limit"
	"github.com/gatehouse/gatehouse/core/mail"
	"github.com/gatehouse/gatehouse/core/otp"
	"github.com/gatehouse/gatehouse/core/password"
	"github.com/gatehouse/gatehouse/core/seal"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/core/token"
)

type acceptAll struct{}

func (acceptAll) Check(context.Context, password.Candidate) (password.Verdict, error) {
	return password.Verdict{Accepted: true}, nil
}

type secondFactors map[uint64]bool

func (f secondFactors) HasActiveMethod(_ store.Txn, id uint64) (bool, error) { return f[id], nil }

type authFixture struct {
	svc    *Service
	mail   *fakeMail
	now    time.Time
	erased []uint64
}

func newAuthFixture(t *testing.T) *authFixture {
	t.Helper()
	st := storetest.Open(t)
	sealer, _ := seal.New(make([]byte, 32))
	f := &authFixture{now: time.Unix(1_800_000_000, 0), mail: &fakeMail{has: map[string]bool{"|": true}}}
	clock := func() time.Time { return f.now }
	keys, err := token.EnsureKeys(st, sealer, f.now)
	if err != nil {
		t.Fatal(err)
	}
	minter, _ := token.NewMinter("test", token.Lifetimes{token.Refresh: time.Hour, token.Access: time.Minute, token.Sudo: time.Minute, token.Partial: time.Minute}, keys, clock)
	f.svc = &Service{Store: st, Hasher: password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1}, 2, time.Second),
		Policy: acceptAll{}, Limiter: limit.New(st, limit.DefaultPolicy, clock), Minter: minter, SecondFactors: secondFactors{},
		Mail: f.mail, Codes: otp.New([]byte("pepper")), Now: clock, Log: hclog.NewNullLogger(), RegistrationOpen: true,
		ServiceName: "test", DeviceKey: []byte("device key"), RequireVerifiedEmail: true}
	return f
}

var codeRE = regexp.MustCompile(`^\d{6}$`)

// lastCode is the code of the last verification mail queued to to.
func (f *authFixture) lastCode(t *testing.T, to string) string {
	t.Helper()
	for i := len(f.mail.queued) - 1; i >= 0; i-- {
		if m := f.mail.queued[i]; m.To == to && m.Purpose == mail.PurposeVerifyEmail && codeRE.MatchString(m.Vars["Code"]) {
			return m.Vars["Code"]
		}
	}
	t.Fatalf("no verification mail to %s in %v", to, f.mail.queued)
	return ""
}

func wantCode(t *testing.T, err error, status int, code string) {
	t.Helper()
	var fe *failure.Error
	if !errors.As(err, &fe) || fe.Status != status || fe.Code != code {
		t.Fatalf("got %v, want %d %s", err, status, code)
	}
}

func TestEmailVerification(t *testing.T) {
	f := newAuthFixture(t)
	ctx := context.Background()
	const email, pw = "ada@example.com", "Engine3rs-9"
	if _, err := f.svc.Register(ctx, email, pw, false); err != nil {
		t.Fatal(err)
	}
	code := f.lastCode(t, email)
	_, err := f.svc.Login(ctx, email, "wrong", "")
	wantCode(t, err, 401, failure.CodePasswordIncorrect)
	_, err = f.svc.Login(ctx, email, pw, "")
	wantCode(t, err, 403, CodeEmailNotVerified)

	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	wantCode(t, f.svc.VerifyEmail(ctx, nil, email, wrong), 401, CodeOTPInvalid)
	wantCode(t, f.svc.VerifyEmail(ctx, nil, "nobody@example.com", code), 401, CodeOTPInvalid)
	if err := f.svc.VerifyEmail(ctx, nil, email, code); err != nil {
		t.Fatal(err)
	}
	res, err := f.svc.Login(ctx, email, pw, "")
	if err != nil || res.Type != token.Refresh || res.Device == "" {
		t.Fatalf("login after verification: %+v %v", res, err)
	}
	wantCode(t, f.svc.VerifyEmail(ctx, nil, email, code), 401, CodeOTPInvalid) // used up

	// Without a token every address gets null; only an unverified account gets a mail.
	before := len(f.mail.queued)
	f.now = f.now.Add(time.Minute)
	if err := f.svc.SendVerification(ctx, nil, email); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SendVerification(ctx, nil, "nobody@example.com"); err != nil {
		t.Fatal(err)
	}
	if len(f.mail.queued) != before {
		t.Fatalf("mail to a verified or unknown address: %v", f.mail.queued[before:])
	}
	wantCode(t, f.svc.SendVerification(ctx, nil, "nobody@example.com"), 429, CodeTooManyVerifyMails)
}

func TestDeleteAccount(t *testing.T) {
	f := newAuthFixture(t)
	f.svc.RequireVerifiedEmail = false
	ctx := context.Background()
	erase := func(_ context.Context, txn store.Txn, id uint64) error {
		f.erased = append(f.erased, id)
		return nil
	}
	login := func(email string) Principal {
		t.Helper()
		res, err := f.svc.Login(ctx, email, "Engine3rs-9", "")
		if err != nil {
			t.Fatal(err)
		}
		p, err := f.svc.Authorize([]byte(res.Token), Refresh)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	id, err := f.svc.Register(ctx, "ada@example.com", "Engine3rs-9", false)
	if err != nil {
		t.Fatal(err)
	}
	p := login("ada@example.com")
	p.Claims.Type = token.Access
	wantCode(t, f.svc.DeleteAccount(ctx, p, "", erase), 400, "body must have required property 'password'")
	wantCode(t, f.svc.DeleteAccount(ctx, p, "wrong", erase), 401, failure.CodePasswordIncorrect)
	f.svc.SecondFactors = secondFactors{id: true}
	wantCode(t, f.svc.DeleteAccount(ctx, p, "Engine3rs-9", erase), 401, failure.CodeSudoTokenRequired)
	if len(f.erased) != 0 {
		t.Fatalf("erased %v before a proof of presence", f.erased)
	}
	p.Claims.Type = token.Sudo
	before := len(f.mail.queued)
	if err := f.svc.DeleteAccount(ctx, p, "", erase); err != nil {
		t.Fatal(err)
	}
	if len(f.erased) != 1 || f.erased[0] != id {
		t.Fatalf("erased %v", f.erased)
	}
	if n := f.mail.queued[before:]; len(n) != 1 || n[0].Purpose != "notice-account-deleted" || n[0].To != "ada@example.com" {
		t.Fatalf("notice %v", n)
	}
	// A revoked session deletes nothing.
	if err := f.svc.Logout(ctx, p); err != nil {
		t.Fatal(err)
	}
	wantCode(t, f.svc.DeleteAccount(ctx, p, "", erase), 401, failure.CodeTokenRevoked)
}

func TestDeviceLoginAfterAttack(t *testing.T) {
	f := newAuthFixture(t)
	f.svc.RequireVerifiedEmail = false
	ctx := context.Background()
	const email, pw = "ada@example.com", "Engine3rs-9"
	if _, err := f.svc.Register(ctx, email, pw, false); err != nil {
		t.Fatal(err)
	}
	first, err := f.svc.Login(ctx, email, pw, "")
	if err != nil {
		t.Fatal(err)
	}
	// The attacker: 20 wrong passwords (the clock stands still, so the later ones are 429s).
	for i := 0; i < 20; i++ {
		if _, err := f.svc.Login(ctx, email, "wrong", ""); err == nil {
			t.Fatal("a wrong password logged in")
		}
	}
	_, err = f.svc.Login(ctx, email, pw, "")
	wantCode(t, err, 429, failure.CodeTooManyPassword)
	forged := first.Device[:len(first.Device)-1] + "A"
	if forged == first.Device {
		forged = first.Device[:len(first.Device)-1] + "B"
	}
	_, err = f.svc.Login(ctx, email, pw, forged)
	wantCode(t, err, 429, failure.CodeTooManyPassword)
	res, err := f.svc.Login(ctx, email, pw, first.Device)
	if err != nil {
		t.Fatalf("the owner's device: %v", err)
	}
	if res.Device == "" || res.Device == first.Device {
		t.Fatalf("a new device token each login: %q", res.Device)
	}
	_, err = f.svc.Login(ctx, email, pw, "")
	wantCode(t, err, 429, failure.CodeTooManyPassword)
}
