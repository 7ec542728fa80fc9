package mail

import (
	"context"
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
	"github.com/gatehouse/gatehouse/core/store"
)

func TestEveryShippedTemplateRenders(t *testing.T) {
	tpl, err := NewTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"Service": "Acme", "Code": "123456", "Link": "https://acme.example/reset-password?otp=123456",
		"Email": "old@example.com", "NewEmail": "new@example.com", "ExpiresMinutes": "10"}
	purposes := []string{PurposeEmailOTPSetup, PurposeEmailOTPChallenge, PurposePasswordReset, PurposeForgotPassword, PurposeTransferCode, PurposeTransferNotice}
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
				needs := map[string]string{PurposeTransferNotice: "new@example.com", PurposeForgotPassword: "https://acme.example/reset-password?otp=123456"}
				want, ok := needs[p]
				if !ok {
					want = "123456"
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
