package token

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse/gatehouse/core/failure"
	"github.com/gatehouse/gatehouse/core/internal/storetest"
	"github.com/gatehouse/gatehouse/core/seal"
)

func newMinter(t *testing.T, now func() time.Time) (*Minter, []Key) {
	t.Helper()
	st := storetest.Open(t)
	sealer, err := seal.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := EnsureKeys(st, sealer, now())
	if err != nil {
		t.Fatal(err)
	}
	again, err := EnsureKeys(st, sealer, now())
	if err != nil || len(again) != 1 || again[0].ID != keys[0].ID {
		t.Fatalf("EnsureKeys must reuse the stored key: %v %v", again, err)
	}
	m, err := NewMinter("test-issuer", Lifetimes{Access: 5 * time.Minute, Refresh: time.Hour}, keys, now)
	if err != nil {
		t.Fatal(err)
	}
	return m, keys
}

func TestMintVerify(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	m, keys := newMinter(t, clock)
	good, err := m.Mint(Access, 42, "sid1")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewMinter("other-issuer", Lifetimes{Access: time.Minute}, keys, clock)
	foreign, _ := other.Mint(Access, 42, "sid1")

	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	strangerTok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, Claims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer: "test-issuer", Subject: "42", IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute))},
		Type: Access, SessionID: "sid1"})
	strangerTok.Header["kid"] = keys[0].ID
	forged, _ := strangerTok.SignedString(stranger)

	parts := strings.Split(good, ".")
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, Claims{RegisteredClaims: jwt.RegisteredClaims{Issuer: "test-issuer", Subject: "42",
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute))}, Type: Access, SessionID: "s"})
	hs.Header["kid"] = keys[0].ID
	hsTok, _ := hs.SignedString([]byte(keys[0].Public()))
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"test-issuer","sub":"1","typ":"access","sid":"x","exp":9999999999,"iat":1}`)) + "." + parts[2]

	later := func() time.Time { return now.Add(6 * time.Minute) }
	expiredMinter, _ := NewMinter("test-issuer", Lifetimes{}, keys, later)

	tests := []struct {
		name   string
		minter *Minter
		raw    string
		want   string // "" = valid
	}{
		{"valid", m, good, ""},
		{"garbage", m, "garbage", failure.CodeInvalidToken},
		{"alg none", m, none, failure.CodeInvalidToken},
		{"HS256 with the public key", m, hsTok, failure.CodeInvalidToken},
		{"tampered payload", m, tampered, failure.CodeInvalidToken},
		{"signed by another key", m, forged, failure.CodeInvalidToken},
		{"another issuer", m, foreign, failure.CodeInvalidToken},
		{"expired", expiredMinter, good, failure.CodeTokenExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.minter.Verify(tt.raw)
			got := ""
			if err != nil {
				fe, ok := failure.As(err)
				if !ok || fe.Status != 401 {
					t.Fatalf("err = %v, want 401", err)
				}
				got = fe.Code
			}
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			if tt.want == "" && (c.Subject != "42" || c.Type != Access || c.SessionID != "sid1" || c.ID == "") {
				t.Fatalf("claims %+v", c)
			}
		})
	}
}

func TestJWKSListsEveryKey(t *testing.T) {
	m, keys := newMinter(t, time.Now)
	second := Key{ID: "second", Private: ed25519.NewKeyFromSeed(make([]byte, 32)), CreatedAt: time.Now()}
	if err := m.SetKeys([]Key{second, keys[0]}); err != nil {
		t.Fatal(err)
	}
	jwks := string(m.JWKS())
	for _, id := range []string{"second", keys[0].ID} {
		if !strings.Contains(jwks, `"kid":"`+id+`"`) {
			t.Fatalf("JWKS %s lacks %s", jwks, id)
		}
	}
	if got := Thumbprint(keys[0].Public()); got != keys[0].ID {
		t.Fatalf("kid %s is not the thumbprint %s", keys[0].ID, got)
	}
}

func FuzzVerify(f *testing.F) {
	now := time.Now()
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	keys := []Key{{ID: Thumbprint(priv.Public().(ed25519.PublicKey)), Private: priv, CreatedAt: now}}
	m, _ := NewMinter("fuzz", Lifetimes{Access: time.Minute}, keys, func() time.Time { return now })
	good, _ := m.Mint(Access, 1, "s")
	f.Add(good)
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, raw string) {
		_, err := m.Verify(raw)
		if err != nil {
			if fe, ok := failure.As(err); !ok || fe.Status != 401 {
				t.Fatalf("non-401 error %v", err)
			}
		}
	})
}

func TestVerifiedCacheRespectsExpiryAndKeyRemoval(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	m, keys := newMinter(t, clock)
	tok, _ := m.Mint(Access, 1, "s")
	for i := 0; i < 2; i++ { // the second verification is served by the cache
		if _, err := m.Verify(tok); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(6 * time.Minute)
	if _, err := m.Verify(tok); err == nil {
		t.Fatal("an expired token was accepted from the cache")
	}
	now = now.Add(-6 * time.Minute)
	other := Key{ID: "other", Private: ed25519.NewKeyFromSeed(make([]byte, 32)), CreatedAt: now}
	if err := m.SetKeys([]Key{other}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verify(tok); err == nil {
		t.Fatal("a token of a removed key was accepted from the cache")
	}
	_ = keys
}

func TestRotateKeepsKeysOfTokensInDate(t *testing.T) {
	st := storetest.Open(t)
	sealer, _ := seal.New(make([]byte, 32))
	t0 := time.Unix(1_800_000_000, 0)
	first, err := EnsureKeys(st, sealer, t0)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := NewMinter("iss", Lifetimes{Refresh: time.Hour}, first, func() time.Time { return t0.Add(time.Minute) })
	old, _ := m.Mint(Refresh, 1, "s")

	keys, err := Rotate(st, sealer, t0.Add(2*time.Minute), time.Hour)
	if err != nil || len(keys) != 2 || keys[1].ID != first[0].ID {
		t.Fatalf("after the first rotation: %v %v", keys, err)
	}
	if err := m.SetKeys(keys); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Verify(old); err != nil {
		t.Fatalf("a token of the previous key must stay valid: %v", err)
	}
	fresh, _ := m.Mint(Refresh, 1, "s")
	if !strings.Contains(string(m.JWKS()), first[0].ID) || !strings.Contains(string(m.JWKS()), keys[0].ID) {
		t.Fatal("JWKS must list both keys")
	}
	_ = fresh
	// Two hours later the first key signed nothing still valid: the next rotation drops it.
	keys, err = Rotate(st, sealer, t0.Add(3*time.Hour), time.Hour)
	if err != nil || len(keys) != 2 || keys[0].ID == first[0].ID || keys[1].ID == first[0].ID {
		t.Fatalf("after the second rotation: %v %v", keys, err)
	}
}
