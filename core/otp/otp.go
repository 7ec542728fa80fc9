// Package otp keeps the one-time codes that Gatehouse mails (password reset, address transfer):
// 6 digits from the cryptographic source, stored only as a keyed hash, valid 10 minutes, dead
// after 5 wrong tries, replaced by a new send.
package otp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

// Rules of spec section 4.
const (
	Lifetime = 10 * time.Minute
	MaxTries = 5
)

// ErrNone is returned when there is no pending code.
var ErrNone = errors.New("otp: no pending code")

// Record is a pending code and what it is for.
type Record struct {
	MAC       []byte            `json:"mac"`
	ExpiresAt time.Time         `json:"expiresAt"`
	Tries     int               `json:"tries"`
	Data      map[string]string `json:"data,omitempty"`
}

// Codes makes and checks codes under one pepper.
type Codes struct{ pepper []byte }

// New returns Codes with pepper (a secret derived from the master key).
func New(pepper []byte) *Codes { return &Codes{pepper: pepper} }

func (c *Codes) mac(key []byte, code string) []byte {
	h := hmac.New(sha256.New, c.pepper)
	h.Write(key)
	h.Write([]byte{0})
	h.Write([]byte(code))
	return h.Sum(nil)
}

// Generate returns 6 decimal digits from the cryptographic source, without modulo bias.
func Generate() (string, error) {
	var b [4]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		if n := binary.BigEndian.Uint32(b[:]); n < 4_294_000_000 { // a multiple of 10^6
			return fmt.Sprintf("%06d", n%1_000_000), nil
		}
	}
}

// Issue makes a new code stored under key in txn (replacing a previous one), with data kept
// beside it, and returns the code in clear for the email.
func (c *Codes) Issue(txn store.Txn, key []byte, now time.Time, data map[string]string) (string, error) {
	code, err := Generate()
	if err != nil {
		return "", err
	}
	rec := Record{MAC: c.mac(key, code), ExpiresAt: now.Add(Lifetime).UTC(), Data: data}
	v, err := json.Marshal(rec)
	if err != nil {
		return "", err
	}
	return code, txn.Set(key, v, Lifetime+time.Minute)
}

// Get reads the pending record under key; ErrNone when there is none.
func Get(txn store.Txn, key []byte) (Record, error) {
	v, err := txn.Get(key)
	if errors.Is(err, store.ErrNotFound) {
		return Record{}, ErrNone
	}
	if err != nil {
		return Record{}, err
	}
	var rec Record
	return rec, json.Unmarshal(v, &rec)
}

// Check compares code with the pending record under key in txn. A wrong code counts a try and
// is written back (the fifth kills the code); a right one is left in place (consume it with
// txn.Delete(key) when the action succeeds). It reports whether the code is right and the data.
func (c *Codes) Check(txn store.Txn, key []byte, code string, now time.Time) (bool, map[string]string, error) {
	rec, err := Get(txn, key)
	if errors.Is(err, ErrNone) {
		return false, nil, nil
	}
	if err != nil {
		return false, nil, err
	}
	if rec.Tries < MaxTries && now.Before(rec.ExpiresAt) && hmac.Equal(rec.MAC, c.mac(key, code)) {
		return true, rec.Data, nil
	}
	rec.Tries++
	ttl := rec.ExpiresAt.Sub(now)
	if ttl <= 0 {
		return false, nil, txn.Delete(key)
	}
	// A dead code (MaxTries wrong) stays until it expires: what it belongs to (a pending
	// transfer) is still there, the code just never matches again.
	v, err := json.Marshal(rec)
	if err != nil {
		return false, nil, err
	}
	return false, nil, txn.Set(key, v, ttl+time.Minute)
}
