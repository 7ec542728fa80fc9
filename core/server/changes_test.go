package server

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/session"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/core/token"
)

// TestCachesFollowTheStoresNotices changes the store directly, as another node on a shared
// store would (no call into this server's use cases): the session cache and the signing keys
// follow, through the store's change notices alone.
func TestCachesFollowTheStoresNotices(t *testing.T) {
	base, srv := startServerWith(t, func(c *config.Config) { c.Argon2Memory, c.Argon2Time = 64, 1 })
	c := client{t, base, &fasthttp.Client{}}
	code, body := c.do("POST", "/user", "", `{"email":"feed@example.com","password":"Passw0rdX"}`)
	if code != 200 {
		t.Fatal(code, body)
	}
	var reg struct{ UserID uint64 }
	json.Unmarshal([]byte(body), &reg)
	_, refresh := c.do("POST", "/auth/login", "", `{"username":"feed@example.com","password":"Passw0rdX"}`)
	_, access := c.do("GET", "/auth/accesstoken", refresh, "")
	for i := 0; i < 2; i++ { // the second answer comes from the cache
		if code, body := c.do("GET", "/auth/accesstoken/validate", access, ""); code != 200 {
			t.Fatal(code, body)
		}
	}

	t.Run("a revocation committed by another process", func(t *testing.T) {
		if err := srv.Store().Update(func(txn store.Txn) error { return session.RevokeAll(txn, reg.UserID, "") }); err != nil {
			t.Fatal(err)
		}
		if code, body := c.do("GET", "/auth/accesstoken/validate", access, ""); code != 401 || !strings.Contains(body, "TOKEN_REVOKED") {
			t.Fatalf("the revoked session's token: %d %s, want 401 TOKEN_REVOKED", code, body)
		}
	})

	t.Run("a key rotation committed by another process", func(t *testing.T) {
		keys, err := token.Rotate(srv.Store(), srv.sealer, time.Now(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		newKid := keys[0].ID
		deadline := time.Now().Add(30 * time.Second) // the reload runs off the committing goroutine
		for {
			_, jwks := c.do("GET", "/.well-known/jwks.json", "", "")
			if strings.Contains(jwks, newKid) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("JWKS without the new key %s: %s", newKid, jwks)
			}
			time.Sleep(10 * time.Millisecond)
		}
		_, refresh := c.do("POST", "/auth/login", "", `{"username":"feed@example.com","password":"Passw0rdX"}`)
		raw, _ := base64.RawURLEncoding.DecodeString(strings.SplitN(refresh, ".", 2)[0])
		var header struct{ Kid string }
		json.Unmarshal(raw, &header)
		if header.Kid != newKid {
			t.Fatalf("a new token is signed with %q, want the new key %q", header.Kid, newKid)
		}
	})
}
