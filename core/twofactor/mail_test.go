package twofactor

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/core/failure"
	"github.com/gatehouse/gatehouse/core/mail"
	"github.com/gatehouse/gatehouse/core/store"
)

// scriptedMethod is a 2FA method that sends whatever messages the test gives it (a hostile
// plugin as the core sees it).
type scriptedMethod struct {
	id       string
	messages func(hook string, req Request) []Message
}

func (m scriptedMethod) Info() Info {
	return Info{ID: m.id, CodeField: "code", SetupFields: []string{"email"}, Challenges: true, Codes: DefaultCodes(m.id)}
}

func (m scriptedMethod) result(hook string, req Request) (Result, error) {
	return Result{State: []byte("state"), Public: map[string]string{"email": "shown@evil.example"}, Messages: m.messages(hook, req)}, nil
}

func (m scriptedMethod) Enroll(_ context.Context, req Request) (Result, error) {
	return m.result("enroll", req)
}

func (m scriptedMethod) Activate(_ context.Context, req Request) (Result, error) {
	return Result{Public: map[string]string{"email": "shown@evil.example"}}, nil
}

func (m scriptedMethod) Challenge(_ context.Context, req Request) (Result, error) {
	return m.result("challenge", req)
}

func (m scriptedMethod) Verify(context.Context, Request) (Result, error) { return Result{}, nil }

// renderingMailer renders each queued message with the shipped templates and keeps it.
type renderingMailer struct {
	templates *mail.Templates
	mu        sync.Mutex
	queued    []mail.Outgoing
	rendered  []mail.Rendered
}

func (m *renderingMailer) Enqueue(_ store.Txn, out mail.Outgoing) error {
	r, err := m.templates.Render(out.Purpose, out.Origin, out.Language, out.Vars)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.queued, m.rendered = append(m.queued, out), append(m.rendered, r)
	return nil
}

func (m *renderingMailer) Check(purpose, origin, language string) error {
	_, err := m.templates.Render(purpose, origin, language, nil)
	return err
}

func (m *renderingMailer) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.queued)
}

func newMailFixture(t *testing.T, methods ...Method) (*fixture, *renderingMailer) {
	t.Helper()
	f := newFixture(t)
	tpl, err := mail.NewTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	m := &renderingMailer{templates: tpl}
	f.svc.Auth.Mail = m
	for _, method := range methods {
		if err := f.svc.Register(method); err != nil {
			t.Fatal(err)
		}
	}
	return f, m
}

// A method names templates only inside its own namespace: a route named like a core purpose's
// prefix ("forgot", "password", "transfer") does not reach the core's reset or transfer mail,
// and a name outside "<route>-..." is refused. Nothing is queued and the call fails closed.
func TestMethodCannotSendTheCoresMail(t *testing.T) {
	tests := []struct{ route, template string }{
		{"forgot", "forgot-password"},
		{"password", "password-reset"},
		{"transfer", "transfer-code"},
		{"transfer", "transfer-notice"},
		{"evil", "password-reset"},
		{"evil", "forgot-password"},
		{"evil", "evil-../../password-reset"},
		{"evil", "evil-x/../../../password-reset"},
		{"evil", "email-otp-setup"},
		{"email", "email-otp-setup"},
	}
	for _, tt := range tests {
		t.Run(tt.route+"/"+tt.template, func(t *testing.T) {
			method := scriptedMethod{id: tt.route, messages: func(string, Request) []Message {
				return []Message{{Template: tt.template, To: "u@example.com", Vars: map[string]string{"Code": "123456", "Link": "https://evil.example/"}}}
			}}
			f, m := newMailFixture(t, method)
			_, err := f.svc.Setup(context.Background(), f.user, tt.route, nil, MailContext{})
			fe, ok := failure.As(err)
			if !ok || fe.Status != 500 || (fe.Code != CodeMethodMailRefused && fe.Code != mail.CodeNoTemplate) {
				t.Fatalf("err = %v, want a 500 refusal", err)
			}
			if n := m.count(); n != 0 {
				t.Fatalf("%d messages queued: %+v", n, m.rendered)
			}
			// Failed closed: the setup stored no pending state.
			if rec, found, _, err := f.svc.readRecord(context.Background(), f.user, method.Info()); err != nil || found {
				t.Fatalf("record %+v found %v err %v", rec, found, err)
			}
		})
	}
}

// A method mails only the user's addresses: the account's, and the one the user gave at the
// setup; at a challenge, the one given at the active setup. Another recipient fails closed.
func TestMethodMailsOnlyTheUsersAddresses(t *testing.T) {
	var to func(hook string, req Request) string
	method := scriptedMethod{id: "email-otp", messages: func(hook string, req Request) []Message {
		return []Message{{Template: "email-otp-" + map[string]string{"enroll": "setup", "challenge": "challenge"}[hook], To: to(hook, req),
			Vars: map[string]string{"Code": "123456"}}}
	}}
	f, m := newMailFixture(t, method)
	ctx := context.Background()
	setup := func(to string) error {
		return func() error {
			_, err := f.svc.Setup(ctx, f.user, "email-otp", map[string]string{"email": to}, MailContext{})
			return err
		}()
	}
	refused := func(t *testing.T, err error, before int) {
		t.Helper()
		wantCode(t, err, 500, CodeMethodMailRefused)
		if m.count() != before {
			t.Fatalf("a refused message was queued: %+v", m.queued[before:])
		}
	}

	to = func(string, Request) string { return "attacker@evil.example" }
	refused(t, setup("second@example.com"), 0)

	to = func(_ string, req Request) string { return req.Params["email"] }
	if err := setup("Second@Example.com"); err != nil {
		t.Fatal(err)
	}
	to = func(_ string, req Request) string { return req.Email }
	f.now = f.now.Add(61e9)
	if err := setup("second@example.com"); err != nil {
		t.Fatal(err)
	}
	if got := []string{m.queued[0].To, m.queued[1].To}; got[0] != "Second@Example.com" || got[1] != "u@example.com" {
		t.Fatalf("recipients %v", got)
	}
	if _, err := f.svc.Enable(ctx, f.user, "email-otp", "123456"); err != nil {
		t.Fatal(err)
	}
	// The activation's security notice goes to the account's own address.
	if got := m.queued[2]; got.To != "u@example.com" || got.Purpose != "notice-2fa-enabled" || got.Vars["Method"] != "email-otp" {
		t.Fatalf("activation notice %+v", got)
	}

	// The challenge may mail the address of the active setup and the account's, nothing else:
	// not the address the method shows in GET /user/2fa.
	f.now = f.now.Add(61e9)
	for _, evil := range []string{"attacker@evil.example", "shown@evil.example", ""} {
		to = func(string, Request) string { return evil }
		_, err := f.svc.Challenge(ctx, f.user, "email-otp", MailContext{})
		refused(t, err, 3)
	}
	to = func(string, Request) string { return "SECOND@example.com" }
	if _, err := f.svc.Challenge(ctx, f.user, "email-otp", MailContext{}); err != nil {
		t.Fatal(err)
	}
	if got := m.queued[3]; got.To != "second@example.com" || got.Purpose != mail.PurposeEmailOTPChallenge {
		t.Fatalf("challenge queued %+v", got)
	}
}

// A method's variables never override the core's: the mail shows the service, the account's
// address and the lifetime the core says, and no link the method planted.
func TestMethodVariablesDoNotOverrideTheCores(t *testing.T) {
	method := scriptedMethod{id: "email-otp", messages: func(string, Request) []Message {
		return []Message{{Template: "email-otp-setup", To: "u@example.com", Vars: map[string]string{
			"Code": "654321", "Service": "Evil Corp", "Email": "attacker@evil.example", "NewEmail": "attacker@evil.example",
			"Link": "https://evil.example/phish", "ExpiresMinutes": "999", "Extra": "kept"}}}
	}}
	f, m := newMailFixture(t, method)
	if _, err := f.svc.Setup(context.Background(), f.user, "email-otp", nil, MailContext{}); err != nil {
		t.Fatal(err)
	}
	if m.count() != 1 {
		t.Fatalf("%d messages", m.count())
	}
	vars, r := m.queued[0].Vars, m.rendered[0]
	want := map[string]string{"Service": "test", "Email": "u@example.com", "ExpiresMinutes": "10", "Code": "654321", "Extra": "kept"}
	for k, v := range want {
		if vars[k] != v {
			t.Errorf("%s = %q, want %q", k, vars[k], v)
		}
	}
	for _, k := range []string{"Link", "NewEmail"} {
		if _, set := vars[k]; set {
			t.Errorf("the method set %s", k)
		}
	}
	all := r.Subject + r.Text + r.HTML
	for _, bad := range []string{"Evil", "evil.example", "999"} {
		if strings.Contains(all, bad) {
			t.Errorf("the mail carries %q:\n%s", bad, all)
		}
	}
	if !strings.Contains(r.Text, "654321") || !strings.Contains(r.Subject, "test") {
		t.Errorf("the mail lacks the method's code or the core's service:\n%s\n%s", r.Subject, r.Text)
	}
}

// A record enabled before the core kept the setup's addresses still lets a challenge mail the
// address the method confirmed at its enable (what GET /user/2fa shows).
func TestLegacyRecordChallengesTheConfirmedAddress(t *testing.T) {
	method := scriptedMethod{id: "email-otp", messages: func(string, Request) []Message {
		return []Message{{Template: "email-otp-challenge", To: "old@example.com", Vars: map[string]string{"Code": "1"}}}
	}}
	f, m := newMailFixture(t, method)
	if err := f.svc.Store.Update(func(txn store.Txn) error {
		if err := (records{f.svc.Sealer}).put(txn, 7, "email-otp", record{Active: []byte("state")}); err != nil {
			return err
		}
		return setActive(txn, 7, ActiveEntry{Method: "email-otp", CompletedAt: f.now, Public: map[string]string{"email": "old@example.com"}})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Challenge(context.Background(), f.user, "email-otp", MailContext{}); err != nil {
		t.Fatal(err)
	}
	if m.count() != 1 || m.queued[0].To != "old@example.com" {
		t.Fatalf("queued %+v", m.queued)
	}
}
