package token

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse/gatehouse/core/failure"
)

// Type is a token's `typ` claim.
type Type string

// Token types of spec section 2.
const (
	Refresh Type = "refresh"
	Access  Type = "access"
	Sudo    Type = "sudo"
	Partial Type = "partial"
)

// Claims are the claims of every Gatehouse token.
type Claims struct {
	jwt.RegisteredClaims
	Type      Type   `json:"typ"`
	SessionID string `json:"sid"`
}

// UserID parses the `sub` claim.
func (c Claims) UserID() (uint64, error) { return strconv.ParseUint(c.Subject, 10, 64) }

// Lifetimes are the default lifetime of each token type.
type Lifetimes map[Type]time.Duration

// Minter signs and verifies tokens with the current key set.
type Minter struct {
	issuer    string
	lifetimes Lifetimes
	now       func() time.Time
	keys      atomic.Pointer[keySet]
	parser    *jwt.Parser
	verified  verifiedCache
}

// verifiedCacheSize bounds the cache of verified tokens (~300 bytes each).
const verifiedCacheSize = 16384

// verifiedCache remembers tokens whose signature and claims were verified, until they expire,
// so a client presenting the same token again costs a map lookup instead of an Ed25519
// verification (~50 µs). Revocation is not cached: the session is checked on every request.
type verifiedCache struct {
	mu      sync.RWMutex
	entries map[string]Claims
}

func (c *verifiedCache) get(raw string, now time.Time) (Claims, bool) {
	c.mu.RLock()
	cl, ok := c.entries[raw]
	c.mu.RUnlock()
	return cl, ok && now.Before(cl.ExpiresAt.Time)
}

func (c *verifiedCache) getBytes(raw []byte, now time.Time) (Claims, bool) {
	c.mu.RLock()
	cl, ok := c.entries[string(raw)] // no copy: the compiler looks up without converting
	c.mu.RUnlock()
	return cl, ok && now.Before(cl.ExpiresAt.Time)
}

func (c *verifiedCache) put(raw string, cl Claims) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[string]Claims)
	}
	if len(c.entries) >= verifiedCacheSize {
		// Drop about an eighth, chosen by map order (random): cheap and good enough.
		n := 0
		for k := range c.entries {
			delete(c.entries, k)
			if n++; n >= verifiedCacheSize/8 {
				break
			}
		}
	}
	c.entries[raw] = cl
}

func (c *verifiedCache) clear() {
	c.mu.Lock()
	c.entries = nil
	c.mu.Unlock()
}

type keySet struct {
	signing Key
	byID    map[string]Key
	jwks    []byte
}

// NewMinter returns a Minter for issuer with keys (newest first; the first signs).
func NewMinter(issuer string, lifetimes Lifetimes, keys []Key, now func() time.Time) (*Minter, error) {
	m := &Minter{issuer: issuer, lifetimes: lifetimes, now: now}
	if err := m.SetKeys(keys); err != nil {
		return nil, err
	}
	m.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithIssuedAt(),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(now),
	)
	return m, nil
}

// SetKeys replaces the key set (after a rotation). keys are newest first.
func (m *Minter) SetKeys(keys []Key) error {
	if len(keys) == 0 {
		return errors.New("token: no signing key")
	}
	ks := &keySet{signing: keys[0], byID: make(map[string]Key, len(keys)), jwks: JWKS(keys)}
	for _, k := range keys {
		ks.byID[k.ID] = k
	}
	m.keys.Store(ks)
	m.verified.clear() // a removed key must stop verifying at once
	return nil
}

// JWKS returns the published key set document.
func (m *Minter) JWKS() []byte { return m.keys.Load().jwks }

// Lifetime returns the lifetime of tokens of type t.
func (m *Minter) Lifetime(t Type) time.Duration { return m.lifetimes[t] }

// Mint signs a token of type t for user in session sid.
func (m *Minter) Mint(t Type, userID uint64, sid string) (string, error) {
	ks := m.keys.Load()
	now := m.now()
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    m.issuer,
			Subject:   strconv.FormatUint(userID, 10),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(m.lifetimes[t])),
			ID:        RandomID(),
		},
		Type:      t,
		SessionID: sid,
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	tok.Header["kid"] = ks.signing.ID
	return tok.SignedString(ks.signing.Private)
}

// Verify checks signature, issuer, times and shape, and returns the claims. It does not check
// the type or the session; errors are 401 INVALID_TOKEN or TOKEN_EXPIRED.
func (m *Minter) Verify(raw string) (Claims, error) {
	if c, ok := m.verified.get(raw, m.now()); ok {
		return c, nil
	}
	return m.verify(raw)
}

// VerifyBytes is Verify for a token held in a request's buffer: a token seen before costs a
// map lookup and no copy.
func (m *Minter) VerifyBytes(raw []byte) (Claims, error) {
	if c, ok := m.verified.getBytes(raw, m.now()); ok {
		return c, nil
	}
	return m.verify(string(raw))
}

func (m *Minter) verify(raw string) (Claims, error) {
	var c Claims
	ks := m.keys.Load()
	_, err := m.parser.ParseWithClaims(raw, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k, ok := ks.byID[kid]
		if !ok {
			return nil, errors.New("token: unknown kid")
		}
		return k.Public(), nil
	})
	switch {
	case err == nil:
	case errors.Is(err, jwt.ErrTokenExpired):
		return c, failure.Unauthorized(failure.CodeTokenExpired)
	default:
		return c, failure.Unauthorized(failure.CodeInvalidToken)
	}
	if c.Subject == "" || c.SessionID == "" || c.Type == "" {
		return c, failure.Unauthorized(failure.CodeInvalidToken)
	}
	if _, err := c.UserID(); err != nil {
		return c, failure.Unauthorized(failure.CodeInvalidToken)
	}
	m.verified.put(raw, c)
	return c, nil
}

// RandomID returns 128 random bits, base64url: token ids and session ids.
func RandomID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}
