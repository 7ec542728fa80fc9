package audit

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/internal/storetest"
	"github.com/gatehouse/gatehouse/core/reqctx"
	"github.com/gatehouse/gatehouse/core/store"
)

func TestRecordAndList(t *testing.T) {
	st := storetest.Open(t)
	now := time.Unix(1_800_000_000, 0)
	l := &Log{Retention: time.Hour, Now: func() time.Time { return now }}
	ctx := reqctx.With(context.Background(), reqctx.Info{RequestID: "r-1", ClientIP: netip.MustParseAddr("192.0.2.7"), UserAgent: strings.Repeat("é", 300)})
	ctx = WithActor(ctx, "admin:ops")
	types := []string{LoginFailed, LoginFailed, TwoFactorEnabled, LoginSucceeded, TwoFactorVerified}
	for i, typ := range types {
		user := uint64(1 + i%2)
		if err := st.Update(func(txn store.Txn) error { return l.Record(ctx, txn, Event{Type: typ, UserID: user}) }); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Second)
	}
	list := func(q Query) ([]Event, string) {
		t.Helper()
		var evs []Event
		var next string
		if err := st.View(func(txn store.Txn) error {
			var err error
			evs, next, err = List(txn, q)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return evs, next
	}
	all, next := list(Query{})
	if len(all) != 5 || next != "" {
		t.Fatalf("all: %d events, next %q", len(all), next)
	}
	e := all[0]
	if e.ClientIP != "192.0.2.7" || e.RequestID != "r-1" || e.Actor != "admin:ops" || e.Outcome != Success || len(e.UserAgent) > maxUserAgent || !strings.HasPrefix(e.UserAgent, "éé") {
		t.Fatalf("first event: %+v", e)
	}
	for _, tc := range []struct {
		name string
		q    Query
		want []string // types
	}{
		{"user 1", Query{UserID: 1}, []string{LoginFailed, TwoFactorEnabled, TwoFactorVerified}},
		{"user 2", Query{UserID: 2}, []string{LoginFailed, LoginSucceeded}},
		{"type", Query{Type: LoginFailed}, []string{LoginFailed, LoginFailed}},
		{"family", Query{Type: "2fa.*"}, []string{TwoFactorEnabled, TwoFactorVerified}},
		{"user and family", Query{UserID: 1, Type: "login.*"}, []string{LoginFailed}},
		{"since", Query{Since: all[3].Time}, []string{LoginSucceeded, TwoFactorVerified}},
		{"after a cursor", Query{Cursor: all[1].ID}, []string{TwoFactorEnabled, LoginSucceeded, TwoFactorVerified}},
		{"none", Query{UserID: 3}, []string{}},
	} {
		evs, _ := list(tc.q)
		got := []string{}
		for _, e := range evs {
			got = append(got, e.Type)
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	// Pages of two walk the whole log once.
	var seen []string
	cursor := ""
	for {
		evs, next := list(Query{Limit: 2, Cursor: cursor})
		for _, e := range evs {
			seen = append(seen, e.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != 5 || seen[4] != all[4].ID {
		t.Fatalf("paged: %v", seen)
	}
	if err := st.View(func(txn store.Txn) error { _, _, err := List(txn, Query{Cursor: "nope"}); return err }); err != ErrBadCursor {
		t.Fatalf("bad cursor: %v", err)
	}
}

func TestNilLogRecordsNothing(t *testing.T) {
	var l *Log
	st := storetest.Open(t)
	if err := st.Update(func(txn store.Txn) error {
		return l.Record(context.Background(), txn, Event{Type: LoginFailed, UserID: 1})
	}); err != nil {
		t.Fatal(err)
	}
	l.LogOnly(context.Background(), Event{Type: LoginFailed})
}

func TestValidCursor(t *testing.T) {
	for c, want := range map[string]bool{
		"18ed25f1593e4060-65e7365f": true,
		"18ed25f1593e4060-65e7365":  false,
		"18ed25f1593e4060_65e7365f": false,
		"18ed25f1593e406g-65e7365f": false,
		"":                          false,
	} {
		if ValidCursor(c) != want {
			t.Errorf("ValidCursor(%q) = %v", c, !want)
		}
	}
}
