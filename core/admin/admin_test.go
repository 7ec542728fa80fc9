package admin

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"

	"github.com/gatehouse/gatehouse/core/account"
	"github.com/gatehouse/gatehouse/core/audit"
	"github.com/gatehouse/gatehouse/core/auth"
	"github.com/gatehouse/gatehouse/core/failure"
	"github.com/gatehouse/gatehouse/core/internal/storetest"
	"github.com/gatehouse/gatehouse/core/limit"
	"github.com/gatehouse/gatehouse/core/mail"
	mailedcodes "github.com/gatehouse/gatehouse/core/otp"
	"github.com/gatehouse/gatehouse/core/password"
	"github.com/gatehouse/gatehouse/core/recovery"
	"github.com/gatehouse/gatehouse/core/seal"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/core/token"
	"github.com/gatehouse/gatehouse/core/twofactor"
	"github.com/gatehouse/gatehouse/internal/pgtest"
)

// queue adapts the outbox to auth.Mailer, as the server does.
type queue struct{ o *mail.Outbox }

func (q queue) Enqueue(txn store.Txn, m mail.Outgoing) error { return q.o.Enqueue(txn, m) }
func (q queue) Check(purpose, origin, language string) error {
	_, err := q.o.Templates.Render(purpose, origin, language, nil)
	return err
}

type fixture struct {
	st    store.Store
	svc   *Service
	tf    *twofactor.Service
	auth  *auth.Service
	now   time.Time
	clock func() time.Time
}

func newFixture(t *testing.T, st store.Store) *fixture {
	t.Helper()
	f := &fixture{st: st, now: time.Unix(1_800_000_000, 0)}
	f.clock = func() time.Time { return f.now }
	sealer, _ := seal.New(make([]byte, 32))
	keys, err := token.EnsureKeys(st, sealer, f.now)
	if err != nil {
		t.Fatal(err)
	}
	minter, _ := token.NewMinter("test", token.Lifetimes{token.Refresh: time.Hour, token.Access: time.Minute, token.Sudo: time.Minute, token.Partial: time.Minute}, keys, f.clock)
	limiter := limit.New(st, limit.DefaultPolicy, f.clock)
	templates, err := mail.NewTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	outbox := &mail.Outbox{Store: st, Templates: templates, Sealer: sealer, From: "gatehouse@example.com", Now: f.clock, Log: hclog.NewNullLogger()}
	log := &audit.Log{Retention: time.Hour, Now: f.clock}
	f.auth = &auth.Service{Store: st, Limiter: limiter, Minter: minter, Now: f.clock, Log: hclog.NewNullLogger(), ServiceName: "test",
		Hasher: password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1}, 2, time.Second),
		Mail:   queue{outbox}, Codes: mailedcodes.New(sealer.Derive("codes")), Audit: log, RegistrationOpen: true, DeviceKey: sealer.Derive("devices")}
	f.tf = &twofactor.Service{Store: st, Sealer: sealer, Limiter: limiter, Recovery: recovery.NewKeeper(sealer.Derive("r")), Auth: f.auth, Now: f.clock, Log: hclog.NewNullLogger()}
	f.auth.SecondFactors = f.tf
	if err := f.tf.Register(twofactor.NativeTOTP{}); err != nil {
		t.Fatal(err)
	}
	f.svc = &Service{Store: st, Auth: f.auth, TwoFactor: f.tf, Outbox: outbox, Audit: log}
	return f
}

// populate gives account email everything an account can have in the store: sessions (one
// partial), TOTP active with recovery codes and a used code's replay mark, a device's and its
// own guess counters, send counters, a pending reset code and queued mail.
func (f *fixture) populate(t *testing.T, email string) uint64 {
	t.Helper()
	ctx := context.Background()
	id, err := f.svc.Create(ctx, email, "", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW")
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.auth.Login(ctx, email, "U*U", "")
	if err != nil {
		t.Fatal(err)
	}
	claims, err := f.auth.Minter.Verify(res.Token)
	if err != nil {
		t.Fatal(err)
	}
	p := auth.Principal{UserID: id, Claims: claims}
	setup, err := f.tf.Setup(ctx, p, "totp", nil, twofactor.MailContext{})
	if err != nil {
		t.Fatal(err)
	}
	code, err := hotp.GenerateCodeCustom(setup.Secret, uint64(f.now.Unix()/30), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.tf.Enable(ctx, p, "totp", code); err != nil {
		t.Fatal(err)
	}
	if _, err := f.auth.Login(ctx, email, "U*U", ""); err != nil { // a partial session
		t.Fatal(err)
	}
	if _, err := f.auth.Login(ctx, email, "wrong", ""); err == nil {
		t.Fatal("wrong password accepted")
	}
	device := f.auth.NewDeviceToken(id)
	if _, err := f.auth.Login(ctx, email, "wrong", device); err == nil {
		t.Fatal("wrong password accepted")
	}
	if err := f.auth.SendReset(email, mail.PurposePasswordReset, auth.MailContext{}); err != nil {
		t.Fatal(err)
	}
	return id
}

// keys returns every key of the store with its value.
func keys(t *testing.T, st store.Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	if err := st.View(func(txn store.Txn) error {
		return txn.Scan([]byte(store.Layout), func(k, v []byte) bool { out[string(k)] = string(v); return true })
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// ofUser reports whether key (or its value) belongs to account id with address email.
func ofUser(key, value string, id, email string) bool {
	segs := strings.Split(key, "/")
	if strings.HasPrefix(key, "v1/audit/") || strings.HasPrefix(key, "v1/audituser/") {
		return false // kept: the record of what happened
	}
	if len(segs) > 1 && strings.HasSuffix(segs[1], "-unknown") {
		return false // shared buckets of hashed unknown subjects
	}
	for _, s := range segs[1:] {
		if s == id {
			return true
		}
	}
	return strings.Contains(strings.ToLower(key), email) || strings.Contains(value, `"userId":`+id+`,`) || strings.Contains(value, email)
}

func testErase(t *testing.T, st store.Store) {
	f := newFixture(t, st)
	victim := f.populate(t, "victim@example.com")
	bystander := f.populate(t, "bystander@example.com")
	vid, bid := itoa(victim), itoa(bystander)
	before := keys(t, st)
	var victimKeys []string
	for k, v := range before {
		if ofUser(k, v, vid, "victim@example.com") {
			victimKeys = append(victimKeys, k)
		}
	}
	// The fixture made what it says: each kind of per-user key exists before the deletion.
	for _, want := range []string{"v1/user/" + vid, "v1/email/victim@example.com", "v1/usersession-stamp/" + vid, "v1/mfa/" + vid + "/totp",
		"v1/mfaactive/" + vid + "/totp", "v1/recovery/" + vid, "v1/reset/" + vid, "v1/limit/password/u/" + vid} {
		if _, ok := before[want]; !ok {
			t.Fatalf("the fixture has no %s: %q", want, victimKeys)
		}
	}
	for _, prefix := range []string{"v1/usersession/" + vid + "/", "v1/mfaused/" + vid + "/", "v1/limit/password/d/" + vid + "/", "v1/send/mail-reset/u/" + vid} {
		if !anyPrefix(before, prefix) {
			t.Fatalf("the fixture has no key under %s: %q", prefix, victimKeys)
		}
	}
	ctx := audit.WithActor(context.Background(), "admin:test")
	if err := f.svc.DeleteAccount(ctx, victim); err != nil {
		t.Fatal(err)
	}
	after := keys(t, st)
	for k, v := range after {
		if ofUser(k, v, vid, "victim@example.com") {
			t.Errorf("left after the deletion: %s", k)
		}
	}
	// Both accounts queued the same mail (sealed: counted, not read): half of it is left.
	queued := countPrefix(before, "v1/outbox/")
	if queued == 0 || countPrefix(after, "v1/outbox/") != queued/2 {
		t.Errorf("%d queued messages after the deletion, want the bystander's %d", countPrefix(after, "v1/outbox/"), queued/2)
	}
	for k, v := range before {
		if ofUser(k, v, bid, "bystander@example.com") {
			if _, ok := after[k]; !ok {
				t.Errorf("the bystander's %s is gone", k)
			}
		}
	}
	err := f.svc.DeleteAccount(ctx, victim)
	if fe, ok := failure.As(err); !ok || fe.Status != 404 || fe.Code != CodeUserNotFound {
		t.Fatalf("second deletion: %v", err)
	}
	var events []audit.Event
	if err := st.View(func(txn store.Txn) error {
		var err error
		events, _, err = audit.List(txn, audit.Query{UserID: victim, Type: audit.AccountDeleted})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].Actor != "admin:test" || events[0].Detail["queuedMailDropped"] != itoa(uint64(queued/2)) {
		t.Fatalf("the deletion's event: %+v", events)
	}
	if _, err := f.auth.Login(context.Background(), "victim@example.com", "U*U", ""); err == nil {
		t.Fatal("the deleted account logs in")
	}
	if _, err := f.svc.Create(context.Background(), "victim@example.com", "", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"); err != nil {
		t.Fatalf("the address is not free again: %v", err)
	}
}

func countPrefix(m map[string]string, prefix string) int {
	n := 0
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}

func anyPrefix(m map[string]string, prefix string) bool {
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

func itoa(n uint64) string { return account.Account{ID: n}.IDString() }

func TestEraseBadger(t *testing.T) { testErase(t, storetest.Open(t)) }

func TestErasePostgres(t *testing.T) {
	cluster := pgtest.Start(t)
	st, err := store.OpenPostgres(cluster.NewDatabase(t), store.PostgresOptions{Logger: hclog.NewNullLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	testErase(t, st)
}

func TestDisableAndResetTwoFactor(t *testing.T) {
	f := newFixture(t, storetest.Open(t))
	ctx := context.Background()
	id := f.populate(t, "ada@example.com")
	if err := f.svc.SetDisabled(ctx, id, true); err != nil {
		t.Fatal(err)
	}
	d, err := f.svc.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Disabled || d.Sessions != 0 {
		t.Fatalf("disabled: %+v", d)
	}
	f.now = f.now.Add(time.Hour) // past the waits of the fixture's wrong passwords
	_, err = f.auth.Login(ctx, "ada@example.com", "U*U", "")
	if fe, ok := failure.As(err); !ok || fe.Code != auth.CodeAccountDisabled {
		t.Fatalf("right password of a disabled account: %v", err)
	}
	_, err = f.auth.Login(ctx, "ada@example.com", "wrong", "")
	if fe, ok := failure.As(err); !ok || fe.Code != failure.CodePasswordIncorrect {
		t.Fatalf("wrong password of a disabled account: %v", err)
	}
	if err := f.svc.SetDisabled(ctx, id, false); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(time.Hour)
	res, err := f.auth.Login(ctx, "ada@example.com", "U*U", "")
	if err != nil || res.Type != token.Partial {
		t.Fatalf("enabled, 2FA on: %v %v", res.Type, err)
	}
	if err := f.svc.ResetTwoFactor(ctx, id); err != nil {
		t.Fatal(err)
	}
	res, err = f.auth.Login(ctx, "ada@example.com", "U*U", "")
	if err != nil || res.Type != token.Refresh {
		t.Fatalf("after the 2FA reset: %v %v", res.Type, err)
	}
	if err := f.st.View(func(txn store.Txn) error {
		if _, err := recovery.Get(txn, id); !errors.Is(err, recovery.ErrNone) {
			t.Errorf("recovery codes after the reset: %v", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, op := range []func() error{
		func() error { return f.svc.SetDisabled(ctx, 999, true) },
		func() error { return f.svc.ResetTwoFactor(ctx, 999) },
		func() error { return f.svc.RevokeSessions(ctx, 999) },
		func() error { return f.svc.ClearLimits(ctx, 999) },
		func() error { _, err := f.svc.Get(999); return err },
	} {
		if fe, ok := failure.As(op()); !ok || fe.Status != 404 {
			t.Errorf("unknown account: %v", fe)
		}
	}
}
