package session

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/core/internal/storetest"
	"github.com/gatehouse/gatehouse/core/store"
)

func TestTrimUserAgent(t *testing.T) {
	tests := []struct {
		name, in string
		wantLen  int
	}{
		{"short", "curl/8.5.0", 10},
		{"exactly the bound", strings.Repeat("a", MaxUserAgent), MaxUserAgent},
		{"long ASCII", strings.Repeat("a", 1000), MaxUserAgent},
		{"a multi-byte character across the bound", strings.Repeat("a", MaxUserAgent-1) + "é" + "tail", MaxUserAgent - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := TrimUserAgent(tt.in)
			if len(got) != tt.wantLen || !utf8.ValidString(got) || !strings.HasPrefix(tt.in, got) {
				t.Fatalf("got %d bytes (valid %v), want %d", len(got), utf8.ValidString(got), tt.wantLen)
			}
		})
	}
}

func TestPublicID(t *testing.T) {
	a, b := PublicID("session-a"), PublicID("session-b")
	if a == b || a != PublicID("session-a") {
		t.Fatal("a public id is a function of the session id, one per session")
	}
	if len(a) != 22 || strings.Contains(a, "session-a") {
		t.Fatalf("public id %q", a)
	}
}

func TestListAndRevoke(t *testing.T) {
	st := storetest.Open(t)
	now := time.Now()
	put := func(id string, user uint64, ttl time.Duration) {
		t.Helper()
		s := Session{ID: id, UserID: user, CreatedAt: now, ExpiresAt: now.Add(ttl), IP: "192.0.2.1", UserAgent: "ua-" + id}
		if err := st.Update(func(txn store.Txn) error { return Put(txn, s, now) }); err != nil {
			t.Fatal(err)
		}
	}
	put("s1", 1, time.Hour)
	put("s2", 1, time.Hour)
	put("s3", 2, time.Hour)
	list := func(user uint64) []string {
		t.Helper()
		var ids []string
		if err := st.View(func(txn store.Txn) error {
			l, err := List(txn, user)
			for _, s := range l {
				ids = append(ids, s.ID+"/"+s.UserAgent)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if got := strings.Join(list(1), ","); got != "s1/ua-s1,s2/ua-s2" {
		t.Fatalf("user 1: %s", got)
	}
	if got := strings.Join(list(2), ","); got != "s3/ua-s3" {
		t.Fatalf("user 2: %s", got)
	}
	if err := st.Update(func(txn store.Txn) error { return Revoke(txn, 1, "s1") }); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(list(1), ","); got != "s2/ua-s2" {
		t.Fatalf("after revoking s1: %s", got)
	}
	if got := list(3); len(got) != 0 {
		t.Fatalf("a user without sessions: %v", got)
	}
}
