package auth

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/failure"
	"github.com/gatehouse/gatehouse/core/mail"
	"github.com/gatehouse/gatehouse/core/reqctx"
	"github.com/gatehouse/gatehouse/core/store"
)

// fakeMail records queued mail; templates exist for the languages and origins in has.
type fakeMail struct {
	queued []mail.Outgoing
	has    map[string]bool // "origin|language"
}

func (f *fakeMail) Enqueue(_ store.Txn, m mail.Outgoing) error {
	f.queued = append(f.queued, m)
	return nil
}

func (f *fakeMail) Check(_, origin, language string) error {
	if f.has[origin+"|"+language] {
		return nil
	}
	return failure.Internal(mail.CodeNoTemplate)
}

func TestNotices(t *testing.T) {
	at := time.Date(2026, 12, 1, 13, 54, 0, 0, time.UTC)
	has := map[string]bool{"|": true, "|nl": true, "https://app.example|": true, "https://app.example|fr": true}
	tests := []struct {
		name                 string
		off                  map[string]bool
		info                 *reqctx.Info
		wantSent             bool
		wantOrigin, wantLang string
		wantIP               string
	}{
		{"on by default, in the request's language", nil, &reqctx.Info{ClientIP: netip.MustParseAddr("192.0.2.7"), Language: "nl", RequestID: "r1"}, true, "", "nl", "192.0.2.7"},
		{"turned off", map[string]bool{NoticePasswordChanged: true}, &reqctx.Info{Language: "nl"}, false, "", "", ""},
		{"another one off leaves it on", map[string]bool{NoticeAccountDeleted: true}, &reqctx.Info{}, true, "", "", "unknown"},
		{"a language without the template falls back to the default", nil, &reqctx.Info{Language: "xx"}, true, "", "", "unknown"},
		{"an origin's own template in its language", nil, &reqctx.Info{MailOrigin: "https://app.example", Language: "fr"}, true, "https://app.example", "fr", "unknown"},
		{"an origin without the language: the origin's default", nil, &reqctx.Info{MailOrigin: "https://app.example", Language: "de"}, true, "https://app.example", "", "unknown"},
		{"an origin without templates: the default", nil, &reqctx.Info{MailOrigin: "https://other.example", Language: "nl"}, true, "", "", "unknown"},
		{"outside a request", nil, nil, true, "", "", "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fm := &fakeMail{has: has}
			s := &Service{Mail: fm, NoticesOff: tt.off, ServiceName: "Acme", Now: func() time.Time { return at }}
			ctx := context.Background()
			if tt.info != nil {
				ctx = reqctx.With(ctx, *tt.info)
			}
			if err := s.NotifyAddress(ctx, nil, NoticePasswordChanged, "a@example.com", map[string]string{"Method": "totp"}); err != nil {
				t.Fatal(err)
			}
			if !tt.wantSent {
				if len(fm.queued) != 0 {
					t.Fatalf("queued %v", fm.queued)
				}
				return
			}
			if len(fm.queued) != 1 {
				t.Fatalf("queued %d mails", len(fm.queued))
			}
			m := fm.queued[0]
			if m.To != "a@example.com" || m.Purpose != "notice-password-changed" || m.Origin != tt.wantOrigin || m.Language != tt.wantLang {
				t.Fatalf("mail %+v", m)
			}
			want := map[string]string{"IP": tt.wantIP, "Time": "Tue, 01 Dec 2026 13:54:00 UTC", "Email": "a@example.com", "Service": "Acme", "Method": "totp"}
			for k, v := range want {
				if m.Vars[k] != v {
					t.Errorf("%s = %q, want %q", k, m.Vars[k], v)
				}
			}
			if tt.info != nil && m.RequestID != tt.info.RequestID {
				t.Errorf("request id %q", m.RequestID)
			}
		})
	}
}

func TestNoticePurposes(t *testing.T) {
	events := []string{NoticePasswordChanged, NoticePasswordReset, NoticeTwoFactorEnabled, NoticeTwoFactorDisabled,
		NoticeRecoveryCodesReset, NoticeRecoveryCodeUsed, NoticeEmailChanged, NoticeAccountDeleted}
	if fmt.Sprint(events) != fmt.Sprint(config.NoticeEvents) {
		t.Fatalf("GATEHOUSE_NOTICES names %v, the notices are %v", config.NoticeEvents, events)
	}
	for _, e := range events {
		p := NoticePurpose(e)
		found := false
		for _, c := range mail.CorePurposes {
			found = found || c == p
		}
		if !found {
			t.Errorf("notice %s: purpose %s is not a core template", e, p)
		}
	}
}
