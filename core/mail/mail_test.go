package mail

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/gatehouse/gatehouse/core/failure"
	"github.com/gatehouse/gatehouse/core/seal"
	"github.com/gatehouse/gatehouse/core/store"
)

func TestEveryShippedTemplateRenders(t *testing.T) {
	tpl, err := NewTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"Service": "Acme", "Code": "123456", "Link": "https://acme.example/reset-password?otp=123456",
		"Email": "old@example.com", "NewEmail": "new@example.com", "ExpiresMinutes": "10",
		"Time": "Tue, 01 Dec 2026 13:54:00 UTC", "IP": "192.0.2.1", "Method": "totp"}
	purposes := append([]string{PurposeEmailOTPSetup, PurposeEmailOTPChallenge}, CorePurposes...)
	for _, lang := range []string{"en", "nl", "fr", "de"} {
		for _, p := range purposes {
			t.Run(lang+"/"+p, func(t *testing.T) {
				r, err := tpl.Render(p, "", lang, vars)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(r.Subject, "Acme") || strings.Contains(r.Text, "<no value>") {
					t.Fatalf("subject %q text %q", r.Subject, r.Text)
				}
				needs := map[string]string{PurposeTransferNotice: "new@example.com", PurposeForgotPassword: "https://acme.example/reset-password?otp=123456", PurposeTwoFactorReset: "old@example.com"}
				want, ok := needs[p]
				if !ok {
					want = "123456"
				}
				if strings.HasPrefix(p, "notice-") || p == PurposeTransferNotice {
					// A security notice names the time and the client address of the change.
					for _, v := range []string{vars["Time"], vars["IP"]} {
						if !strings.Contains(r.Text, v) || !strings.Contains(r.HTML, v) {
							t.Fatalf("%q missing from the notice:\n%s", v, r.Text)
						}
					}
					if strings.Contains(p, "2fa") && !strings.Contains(r.Text, "totp") {
						t.Fatalf("the method is not named:\n%s", r.Text)
					}
					want = "old@example.com"
				}
				if !strings.Contains(r.Text, want) || !strings.Contains(r.HTML, strings.ReplaceAll(want, "&", "&amp;")) {
					t.Fatalf("%q missing from text or HTML:\n%s\n%s", want, r.Text, r.HTML)
				}
			})
		}
	}
}

func TestTemplateLookup(t *testing.T) {
	dir := t.TempDir()
	write := func(path, content string) {
		full := filepath.Join(dir, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("app.example.com/en/password-reset.txt", "Subject: App reset\n\nApp code {{.Code}}\n")
	write("app.example.com/en/password-reset.html", "<p>App <b>{{.Code}}</b></p>")
	write("default/es/password-reset.txt", "Subject: Restablecer\n\nCódigo {{.Code}}\n")
	tpl, err := NewTemplates(dir, "https://app.example.com", "https://other.example")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		origin, lang, wantSubject string
		wantErr                   bool
	}{
		{"https://app.example.com", "en", "App reset", false},
		{"https://APP.example.com/", "", "App reset", false},
		{"https://other.example", "en", "Reset your Svc password", false},
		{"https://other.example", "es", "Restablecer", false},
		{"https://app.example.com", "es", "Restablecer", false},
		{"", "xx", "", true},
		{"../../etc", "en", "Reset your Svc password", false},
		{"..", "en", "Reset your Svc password", false},
	}
	for _, tt := range tests {
		t.Run(tt.origin+"/"+tt.lang, func(t *testing.T) {
			r, err := tpl.Render(PurposePasswordReset, tt.origin, tt.lang, map[string]string{"Code": "42", "Service": "Svc"})
			if tt.wantErr {
				if fe, ok := failure.As(err); !ok || fe.Code != CodeNoTemplate || fe.Status != 500 {
					t.Fatalf("err = %v, want 500 %s", err, CodeNoTemplate)
				}
				return
			}
			if err != nil || r.Subject != tt.wantSubject {
				t.Fatalf("subject %q err %v, want %q", r.Subject, err, tt.wantSubject)
			}
		})
	}
	r, _ := tpl.Render(PurposePasswordReset, "https://app.example.com", "en", map[string]string{"Code": "<42>"})
	if r.HTML != "<p>App <b>&lt;42&gt;</b></p>" {
		t.Fatalf("override HTML %q", r.HTML)
	}
}

// An origin is the client's choice: one that is not configured renders the default templates
// (even with a folder of its own) and never adds a cache entry, so distinct origins cannot grow
// the memory; a configured origin with a folder gets its own templates.
func TestUnconfiguredOriginsShareTheDefaultTemplates(t *testing.T) {
	dir := t.TempDir()
	for _, host := range []string{"app.example.com", "unlisted.example.com", "default"} {
		if err := os.MkdirAll(filepath.Join(dir, host, "en"), 0o755); err != nil {
			t.Fatal(err)
		}
		src := "Subject: " + host + " reset\n\nCode {{.Code}}\n"
		if err := os.WriteFile(filepath.Join(dir, host, "en", PurposePasswordReset+".txt"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, overrides := range []string{"", dir} {
		t.Run("overrides="+overrides, func(t *testing.T) {
			tpl, err := NewTemplates(overrides, "https://app.example.com")
			if err != nil {
				t.Fatal(err)
			}
			render := func(origin string) Rendered {
				t.Helper()
				r, err := tpl.Render(PurposePasswordReset, origin, "en", map[string]string{"Code": "1", "Service": "Svc"})
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			def := render("")
			render("https://app.example.com")
			size := tpl.CacheSize()
			for i := range 5000 {
				if r := render(fmt.Sprintf("https://o%d.example", i)); r.Subject != def.Subject {
					t.Fatalf("an unconfigured origin got %q, want the default %q", r.Subject, def.Subject)
				}
			}
			if r := render("https://unlisted.example.com"); r.Subject != def.Subject {
				t.Fatalf("an unconfigured origin with a folder got %q", r.Subject)
			}
			if got := tpl.CacheSize(); got != size {
				t.Fatalf("cache grew from %d to %d entries with unconfigured origins", size, got)
			}
			if overrides != "" {
				if r := render("https://app.example.com"); r.Subject != "app.example.com reset" {
					t.Fatalf("the configured origin got %q", r.Subject)
				}
			}
		})
	}
}

// The cache has a ceiling whatever the configuration holds.
func TestTemplateCacheIsBounded(t *testing.T) {
	dir := t.TempDir()
	var origins []string
	for i := range MaxCachedTemplates + 10 {
		host := fmt.Sprintf("o%d.example", i)
		origins = append(origins, "https://"+host)
		if err := os.MkdirAll(filepath.Join(dir, host, "en"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, host, "en", PurposePasswordReset+".txt"), []byte("Subject: "+host+"\n\nx\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tpl, err := NewTemplates(dir, origins...)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range origins {
		r, err := tpl.Render(PurposePasswordReset, o, "en", nil)
		if err != nil || r.Subject != strings.TrimPrefix(o, "https://") {
			t.Fatalf("%s: %q %v", o, r.Subject, err)
		}
	}
	if got := tpl.CacheSize(); got > MaxCachedTemplates {
		t.Fatalf("%d cached templates, over the ceiling %d", got, MaxCachedTemplates)
	}
}

// recordingMailer fails the first failures deliveries, then records.
type recordingMailer struct {
	mu       sync.Mutex
	failures int
	got      map[string]int
	done     chan string
}

func (m *recordingMailer) Deliver(_ context.Context, e Envelope) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failures > 0 {
		m.failures--
		return errors.New("relay unavailable")
	}
	m.got[e.ID]++
	m.done <- e.ID
	return nil
}

func openStore(t *testing.T, dir string) *store.Badger {
	t.Helper()
	st, err := store.OpenBadger(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestOutboxDeliversOnceAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	tpl, _ := NewTemplates("")
	st := openStore(t, dir)
	queue := &Outbox{Store: st, Templates: tpl, From: "gh@example.com", Now: time.Now, Log: hclog.NewNullLogger()}
	// A committed message, then a "crash" before any delivery.
	if err := st.Update(func(txn store.Txn) error {
		return queue.Enqueue(txn, Outgoing{To: "a@example.com", Purpose: PurposePasswordReset, Vars: map[string]string{"Code": "1"}})
	}); err != nil {
		t.Fatal(err)
	}
	// A rolled-back transaction queues nothing.
	_ = st.Update(func(txn store.Txn) error {
		if err := queue.Enqueue(txn, Outgoing{To: "b@example.com", Purpose: PurposePasswordReset}); err != nil {
			return err
		}
		return errors.New("the state change failed")
	})
	st.Close()

	st = openStore(t, dir)
	defer st.Close()
	m := &recordingMailer{failures: 1, got: map[string]int{}, done: make(chan string, 4)}
	queue = &Outbox{Store: st, Templates: tpl, Mailer: m, From: "gh@example.com", Now: time.Now, Log: hclog.NewNullLogger(), Backoff: 20 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := queue.Start(ctx)
	select {
	case <-m.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the queued message was not delivered after the restart")
	}
	time.Sleep(100 * time.Millisecond)
	cancel()
	<-stopped
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.got) != 1 {
		t.Fatalf("delivered %v, want exactly the committed message once", m.got)
	}
	for _, n := range m.got {
		if n != 1 {
			t.Fatalf("delivered %d times", n)
		}
	}
	if s := queue.Stats(); s.Depth != 0 || s.Failed != 1 || s.Delivered != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// envelopeMailer keeps what it delivers; it fails the first failures deliveries.
type envelopeMailer struct {
	mu        sync.Mutex
	failures  int
	delivered chan Envelope
}

func (m *envelopeMailer) Deliver(_ context.Context, e Envelope) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failures > 0 {
		m.failures--
		return errors.New("relay unavailable")
	}
	m.delivered <- e
	return nil
}

func rawOutbox(t *testing.T, st store.Store) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	if err := st.View(func(txn store.Txn) error {
		return txn.Scan(outboxPrefix, func(k, v []byte) bool {
			out[string(k)] = append([]byte{}, v...)
			return true
		})
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func testSealer(t *testing.T, fill byte) *seal.Sealer {
	t.Helper()
	s, err := seal.New(bytes.Repeat([]byte{fill}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func waitDelivered(t *testing.T, m *envelopeMailer) Envelope {
	t.Helper()
	select {
	case e := <-m.delivered:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("not delivered")
		return Envelope{}
	}
}

// A queued message is sealed at rest: the store's bytes of a queued reset mail hold neither its
// code nor its link; the delivery worker opens it and the mailer gets it whole.
func TestOutboxSealsQueuedMail(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	tpl, _ := NewTemplates("")
	m := &envelopeMailer{delivered: make(chan Envelope, 4)}
	queue := &Outbox{Store: st, Templates: tpl, Mailer: m, Sealer: testSealer(t, 7), From: "gh@example.com", Now: time.Now, Log: hclog.NewNullLogger()}
	const code, link = "493817", "https://app.example/reset-password?email=a%40example.com&otp=493817"
	for _, purpose := range []string{PurposePasswordReset, PurposeForgotPassword} {
		if err := st.Update(func(txn store.Txn) error {
			return queue.Enqueue(txn, Outgoing{To: "a@example.com", Purpose: purpose, Vars: map[string]string{"Code": code, "Link": link, "Service": "Svc"}})
		}); err != nil {
			t.Fatal(err)
		}
	}
	raw := rawOutbox(t, st)
	if len(raw) != 2 {
		t.Fatalf("%d queued records", len(raw))
	}
	for k, v := range raw {
		if bytes.Contains(v, []byte(code)) || bytes.Contains(v, []byte("reset-password")) || bytes.Contains(v, []byte("a@example.com")) {
			t.Fatalf("record %s is not sealed: %q", k, v)
		}
		if !bytes.HasPrefix(v, sealedMarker) {
			t.Fatalf("record %s has no sealed marker", k)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := queue.Start(ctx)
	defer func() { cancel(); <-stopped }()
	for range 2 {
		if e := waitDelivered(t, m); !strings.Contains(e.Text, code) || e.To[0] != "a@example.com" {
			t.Fatalf("delivered %+v", e)
		}
	}
}

// Mail queued in clear before sealing (no marker) is still delivered; a retry stores it sealed.
// A sealed message the server cannot open (another master key) is kept, not sent or dropped.
func TestOutboxReadsClearAndUnopenableRecords(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	tpl, _ := NewTemplates("")
	now := time.Now().UTC()
	legacy := Envelope{ID: "0000000000000001-legacy", From: "gh@example.com", To: []string{"old@example.com"}, Purpose: PurposePasswordReset,
		CreatedAt: now, Rendered: Rendered{Subject: "Reset", Text: "code 271828"}, NextAttempt: now}
	clear, _ := json.Marshal(legacy)
	legacyKey := append(append([]byte{}, outboxPrefix...), legacy.ID...)
	other := &Outbox{Store: st, Templates: tpl, Sealer: testSealer(t, 9), From: "gh@example.com", Now: time.Now, Log: hclog.NewNullLogger()}
	if err := st.Update(func(txn store.Txn) error {
		if err := txn.Set(legacyKey, clear, 0); err != nil {
			return err
		}
		return other.Enqueue(txn, Outgoing{To: "b@example.com", Purpose: PurposePasswordReset, Vars: map[string]string{"Code": "1"}})
	}); err != nil {
		t.Fatal(err)
	}
	m := &envelopeMailer{failures: 1, delivered: make(chan Envelope, 4)}
	queue := &Outbox{Store: st, Templates: tpl, Mailer: m, Sealer: testSealer(t, 7), From: "gh@example.com", Now: time.Now,
		Log: hclog.NewNullLogger(), Backoff: 300 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := queue.Start(ctx)
	// The first attempt fails: the rescheduled record is sealed.
	deadline := time.Now().Add(5 * time.Second)
	for v := rawOutbox(t, st)[string(legacyKey)]; !bytes.HasPrefix(v, sealedMarker); v = rawOutbox(t, st)[string(legacyKey)] {
		if time.Now().After(deadline) {
			t.Fatalf("the rescheduled record is %q", v)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if e := waitDelivered(t, m); e.ID != legacy.ID || e.Text != legacy.Text || e.To[0] != "old@example.com" {
		t.Fatalf("delivered %+v", e)
	}
	time.Sleep(200 * time.Millisecond)
	cancel()
	<-stopped
	select {
	case e := <-m.delivered:
		t.Fatalf("a message sealed with another key was delivered: %+v", e)
	default:
	}
	if raw := rawOutbox(t, st); len(raw) != 1 {
		t.Fatalf("%d records left, want the unopenable one kept", len(raw))
	}
}

// A 2FA method's template name resolves only inside its route's namespace, never to a core
// purpose or a path; the override folder refuses method templates left where core ones live.
func TestMethodTemplatesHaveTheirOwnNamespace(t *testing.T) {
	tests := []struct {
		route, name, want string
	}{
		{"email-otp", "email-otp-setup", PurposeEmailOTPSetup},
		{"password", "password-reset", "2fa/password/password-reset"},
		{"forgot", "forgot-password", "2fa/forgot/forgot-password"},
		{"evil", "password-reset", ""},
		{"evil", "evil-../../password-reset", ""},
		{"evil", "evil-a/b", ""},
		{"Evil", "Evil-x", ""},
		{"../x", "../x-y", ""},
	}
	for _, tt := range tests {
		got, err := MethodPurpose(tt.route, tt.name)
		if got != tt.want || (err != nil) != (tt.want == "") {
			t.Errorf("MethodPurpose(%q, %q) = %q, %v; want %q", tt.route, tt.name, got, err, tt.want)
		}
	}
	tpl, _ := NewTemplates("")
	for _, purpose := range []string{"2fa/password/password-reset", "2fa/forgot/forgot-password", "2fa/email-otp/../password-reset", "../en/password-reset", "email-otp-setup"} {
		if _, err := tpl.Render(purpose, "", "en", nil); err == nil {
			t.Errorf("%s rendered", purpose)
		}
	}
	for _, lang := range []string{"..", "e/", "EN"} {
		_, err := tpl.Render(PurposePasswordReset, "", lang, nil)
		if (err == nil) != (lang == "EN") {
			t.Errorf("language %q: %v", lang, err)
		}
	}

	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "default", "en"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "default", "en", "email-otp-setup.txt"), []byte("Subject: x\n\ny\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewTemplates(dir); err == nil || !strings.Contains(err.Error(), filepath.Join("default", "en", "2fa", "<route>", "email-otp-setup.txt")) {
		t.Fatalf("a method template among the core's: %v", err)
	}
}
