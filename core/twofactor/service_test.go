package twofactor

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"

	"github.com/gatehouse/gatehouse/core/account"
	"github.com/gatehouse/gatehouse/core/auth"
	"github.com/gatehouse/gatehouse/core/failure"
	"github.com/gatehouse/gatehouse/core/internal/storetest"
	"github.com/gatehouse/gatehouse/core/limit"
	"github.com/gatehouse/gatehouse/core/recovery"
	"github.com/gatehouse/gatehouse/core/seal"
	"github.com/gatehouse/gatehouse/core/session"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/core/token"
)

type fixture struct {
	svc   *Service
	now   time.Time
	clock func() time.Time
	user  auth.Principal
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st := storetest.Open(t)
	sealer, _ := seal.New(make([]byte, 32))
	f := &fixture{now: time.Unix(1_800_000_000, 0)}
	f.clock = func() time.Time { return f.now }
	keys, err := token.EnsureKeys(st, sealer, f.now)
	if err != nil {
		t.Fatal(err)
	}
	minter, _ := token.NewMinter("test", token.Lifetimes{token.Refresh: time.Hour, token.Access: time.Minute, token.Sudo: time.Minute, token.Partial: time.Minute}, keys, f.clock)
	limiter := limit.New(st, limit.DefaultPolicy, f.clock)
	a := &auth.Service{Store: st, Limiter: limiter, Minter: minter, Now: f.clock, Log: hclog.NewNullLogger(), ServiceName: "test"}
	f.svc = &Service{Store: st, Sealer: sealer, Limiter: limiter, Recovery: recovery.NewKeeper(sealer.Derive("r")), Auth: a, Now: f.clock, Log: hclog.NewNullLogger()}
	a.SecondFactors = f.svc
	if err := f.svc.Register(NativeTOTP{}); err != nil {
		t.Fatal(err)
	}
	sid := "s1"
	if err := st.Update(func(txn store.Txn) error {
		if err := account.Create(txn, account.Account{ID: 7, Email: "u@example.com"}); err != nil {
			return err
		}
		return session.Put(txn, session.Session{ID: sid, UserID: 7, ExpiresAt: f.now.Add(time.Hour)}, f.now)
	}); err != nil {
		t.Fatal(err)
	}
	f.user = auth.Principal{UserID: 7, Claims: token.Claims{Type: token.Access, SessionID: sid}}
	return f
}

func (f *fixture) code(t *testing.T, secret string, offset int) string {
	t.Helper()
	c, err := hotp.GenerateCodeCustom(secret, uint64(f.now.Unix()/30+int64(offset)), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fixture) enableTOTP(t *testing.T) (string, []string) {
	t.Helper()
	ctx := context.Background()
	res, err := f.svc.Setup(ctx, f.user, "totp", nil, MailContext{})
	if err != nil {
		t.Fatal(err)
	}
	key, err := otp.NewKeyFromURL(res.URL)
	if err != nil {
		t.Fatal(err)
	}
	codes, err := f.svc.Enable(ctx, f.user, "totp", f.code(t, key.Secret(), 0))
	if err != nil {
		t.Fatal(err)
	}
	return key.Secret(), codes
}

func wantCode(t *testing.T, err error, status int, code string) {
	t.Helper()
	fe, ok := failure.As(err)
	if !ok || fe.Status != status || fe.Code != code {
		t.Fatalf("err = %v, want %d %s", err, status, code)
	}
}

func TestTOTPLifecycle(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, err := f.svc.Enable(ctx, f.user, "totp", "123456")
	wantCode(t, err, 409, "TOTP_UNINITIALIZED")
	_, err = f.svc.Authenticate(ctx, f.user, "totp", "123456")
	wantCode(t, err, 409, "TOTP_UNINITIALIZED")

	secret, codes := f.enableTOTP(t)
	if len(codes) != 10 || len(codes[0]) != 16 {
		t.Fatalf("recovery codes %v", codes)
	}
	// A second enable (after a new setup) returns no new codes.
	res, _ := f.svc.Setup(ctx, f.user, "totp", nil, MailContext{})
	key, _ := otp.NewKeyFromURL(res.URL)
	f.now = f.now.Add(30 * time.Second)
	again, err := f.svc.Enable(ctx, f.user, "totp", f.code(t, key.Secret(), 0))
	if err != nil || len(again) != 0 {
		t.Fatalf("second enable: %v %v", again, err)
	}
	secret = key.Secret()

	f.now = f.now.Add(30 * time.Second)
	c := f.code(t, secret, 0)
	tok, err := f.svc.Authenticate(ctx, f.user, "totp", c)
	if err != nil || tok.SudoToken == "" || tok.AccessToken != "" {
		t.Fatalf("authenticate with an access token: %+v %v", tok, err)
	}
	_, err = f.svc.Authenticate(ctx, f.user, "totp", c)
	wantCode(t, err, 401, "TOTP_INVALID") // replay
	if _, err := f.svc.Authenticate(ctx, f.user, "totp", f.code(t, secret, 1)); err != nil {
		t.Fatalf("the next step's code is fresh: %v", err)
	}

	partial := f.user
	partial.Claims.Type = token.Partial
	f.now = f.now.Add(90 * time.Second)
	tok, err = f.svc.Authenticate(ctx, partial, "totp", f.code(t, secret, 0))
	if err != nil || tok.AccessToken == "" || tok.RefreshToken == "" || tok.SudoToken == "" {
		t.Fatalf("authenticate with a partial token: %+v %v", tok, err)
	}

	if err := f.svc.Delete(context.Background(), f.user, "totp"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, f.svc.Delete(context.Background(), f.user, "totp"), 409, "TOTP_ALREADY_INACTIVE")
	_, err = f.svc.RecoveryNextGuess(f.user)
	wantCode(t, err, 409, CodeRecoveryUninitialized)
	_, err = f.svc.RecoveryReset(context.Background(), f.user)
	wantCode(t, err, 409, Code2FADisabled)
}

func TestTOTPThrottle(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	secret, _ := f.enableTOTP(t)
	for i := 0; i < 6; i++ {
		_, err := f.svc.Authenticate(ctx, f.user, "totp", "000000")
		wantCode(t, err, 401, "TOTP_INVALID")
	}
	_, err := f.svc.Authenticate(ctx, f.user, "totp", f.code(t, secret, 0))
	wantCode(t, err, 429, "TOO_MANY_TOTP_CHECKS")
	if d, _ := f.svc.NextGuess(ctx, f.user, "totp"); d != time.Second {
		t.Fatalf("next guess in %v, want 1s", d)
	}
	f.now = f.now.Add(time.Second)
	if _, err := f.svc.Authenticate(ctx, f.user, "totp", f.code(t, secret, 1)); err != nil {
		t.Fatal(err)
	}
}

// TestParallelRecoveryCodeUse hammers one recovery code from many goroutines: exactly one wins.
func TestParallelRecoveryCodeUse(t *testing.T) {
	f := newFixture(t)
	_, codes := f.enableTOTP(t)
	const P = 20
	var wins atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < P; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if _, err := f.svc.RecoveryAuthenticate(context.Background(), f.user, codes[3]); err == nil {
				wins.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	if got := wins.Load(); got != 1 {
		t.Fatalf("%d goroutines used the same recovery code, want exactly 1", got)
	}
	f.now = f.now.Add(2 * time.Hour)
	_, err := f.svc.RecoveryAuthenticate(context.Background(), f.user, codes[3])
	wantCode(t, err, 401, CodeRecoveryInvalid)
	// Codes are case- and dash-insensitive.
	f.now = f.now.Add(2 * time.Hour)
	lower := strings.ToLower(fmt.Sprintf("%s-%s", codes[4][:8], codes[4][8:]))
	if _, err := f.svc.RecoveryAuthenticate(context.Background(), f.user, lower); err != nil {
		t.Fatalf("a dashed code: %v", err)
	}
	fresh, err := f.svc.RecoveryReset(context.Background(), f.user)
	if err != nil || len(fresh) != 10 {
		t.Fatal(fresh, err)
	}
	_, err = f.svc.RecoveryAuthenticate(context.Background(), f.user, codes[5])
	wantCode(t, err, 401, CodeRecoveryInvalid)
}

func TestStateIsSealedAtRest(t *testing.T) {
	f := newFixture(t)
	secret, _ := f.enableTOTP(t)
	err := f.svc.Store.View(func(txn store.Txn) error {
		return txn.Scan(store.Key(""), func(k, v []byte) bool {
			if contains(v, []byte(secret)) {
				t.Errorf("the TOTP secret is readable in %s", k)
			}
			return true
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func contains(haystack, needle []byte) bool {
	for i := 0; i+len(needle) <= len(haystack); i++ {
		if string(haystack[i:i+len(needle)]) == string(needle) {
			return true
		}
	}
	return false
}
