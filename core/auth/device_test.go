package auth

import (
	"strings"
	"testing"
	"time"
)

func TestDeviceTokens(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	clock := now
	s := &Service{DeviceKey: []byte("0123456789abcdef0123456789abcdef"), Now: func() time.Time { return clock }}
	other := &Service{DeviceKey: []byte("another deployment's master key"), Now: s.Now}
	tok := s.NewDeviceToken(42)
	parts := strings.Split(tok, ".")
	tamper := func(i int, v string) string {
		p := append([]string{}, parts...)
		p[i] = v
		return strings.Join(p, ".")
	}
	tests := []struct {
		name   string
		svc    *Service
		tok    string
		user   uint64
		at     time.Time
		wantOK bool
	}{
		{"its account, in date", s, tok, 42, now, true},
		{"a day before it expires", s, tok, 42, now.Add(DeviceLifetime - 24*time.Hour), true},
		{"expired", s, tok, 42, now.Add(DeviceLifetime), false},
		{"issued in the future", s, tok, 42, now.Add(-2 * time.Minute), false},
		{"another account", s, tok, 43, now, false},
		{"another account's id written in", s, tamper(0, "43"), 43, now, false},
		{"an issue time changed", s, tamper(1, "1999999999"), 42, now, false},
		{"a device id changed", s, tamper(2, "AAAAAAAAAAAAAAAAAAAAAA"), 42, now, false},
		{"a MAC changed", s, tamper(3, strings.Repeat("A", len(parts[3]))), 42, now, false},
		{"another deployment's key", other, tok, 42, now, false},
		{"no key configured", &Service{Now: s.Now}, tok, 42, now, false},
		{"empty", s, "", 42, now, false},
		{"malformed", s, "42.x", 42, now, false},
		{"too long", s, tok + strings.Repeat("A", 300), 42, now, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock = tt.at
			defer func() { clock = now }()
			id, ok := tt.svc.deviceID(tt.tok, tt.user)
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			if ok && id != parts[2] {
				t.Fatalf("device id %q, want %q", id, parts[2])
			}
		})
	}
}

func TestLoginSubject(t *testing.T) {
	s := &Service{DeviceKey: []byte("0123456789abcdef0123456789abcdef"), Now: time.Now}
	a, b := s.NewDeviceToken(7), s.NewDeviceToken(7)
	subjects := map[string]string{
		"no device":           s.loginSubject(7, "").Key,
		"a forged device":     s.loginSubject(7, "7.1.AAAA.BBBB").Key,
		"device a":            s.loginSubject(7, a).Key,
		"device b":            s.loginSubject(7, b).Key,
		"another user's view": s.loginSubject(8, a).Key,
	}
	if subjects["no device"] != "u/7" || subjects["a forged device"] != "u/7" || subjects["another user's view"] != "u/8" {
		t.Fatalf("logins without a valid device token must count on the account: %v", subjects)
	}
	if !strings.HasPrefix(subjects["device a"], "d/7/") || subjects["device a"] == subjects["device b"] {
		t.Fatalf("each device has a counter of its own: %v", subjects)
	}
	if !s.loginSubject(7, a).Known {
		t.Fatal("a device counter is a known subject (a record of its own)")
	}
}

// BenchmarkDeviceToken is the cost a device token adds to a login: checking the presented one
// and issuing the next.
func BenchmarkDeviceToken(b *testing.B) {
	s := &Service{DeviceKey: []byte("0123456789abcdef0123456789abcdef"), Now: time.Now}
	tok := s.NewDeviceToken(42)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, ok := s.deviceID(tok, 42); !ok {
			b.Fatal("refused")
		}
		_ = s.NewDeviceToken(42)
	}
}
