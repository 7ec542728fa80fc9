// Package token mints and verifies Gatehouse's EdDSA JWTs and keeps their signing keys.
package token

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/gatehouse/gatehouse/core/seal"
	"github.com/gatehouse/gatehouse/core/store"
)

// Key is one Ed25519 signing key.
type Key struct {
	ID        string
	Private   ed25519.PrivateKey
	CreatedAt time.Time
}

// Public returns the public half.
func (k Key) Public() ed25519.PublicKey { return k.Private.Public().(ed25519.PublicKey) }

type keyRecord struct {
	ID         string    `json:"kid"`
	SealedSeed []byte    `json:"sealedSeed"`
	CreatedAt  time.Time `json:"createdAt"`
}

var keyPrefix = store.Key("key", "")

// Thumbprint is the RFC 7638 JWK thumbprint of an Ed25519 public key, used as its kid.
func Thumbprint(pub ed25519.PublicKey) string {
	canonical := `{"crv":"Ed25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`
	sum := sha256.Sum256([]byte(canonical))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// LoadKeys reads every signing key from the store, newest first.
func LoadKeys(st store.Store, sealer *seal.Sealer) ([]Key, error) {
	var keys []Key
	err := st.View(func(txn store.Txn) error {
		var errs []error
		scanErr := txn.Scan(keyPrefix, func(k, v []byte) bool {
			var rec keyRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				errs = append(errs, fmt.Errorf("token: key record %s: %w", k, err))
				return false
			}
			seed, err := sealer.Open(k, rec.SealedSeed)
			if err != nil || len(seed) != ed25519.SeedSize {
				errs = append(errs, fmt.Errorf("token: key %s does not open with the master key: %w", rec.ID, seal.ErrOpen))
				return false
			}
			keys = append(keys, Key{ID: rec.ID, Private: ed25519.NewKeyFromSeed(seed), CreatedAt: rec.CreatedAt})
			return true
		})
		return errors.Join(append(errs, scanErr)...)
	})
	sort.Slice(keys, func(i, j int) bool { return keys[i].CreatedAt.After(keys[j].CreatedAt) })
	return keys, err
}

// AddKey generates a new signing key, stores it sealed, and returns it. The newest key signs.
// also, when not nil, writes in the same transaction (the key rotation's audit event).
func AddKey(st store.Store, sealer *seal.Sealer, now time.Time, also ...func(store.Txn, Key) error) (Key, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Key{}, err
	}
	k := Key{ID: Thumbprint(priv.Public().(ed25519.PublicKey)), Private: priv, CreatedAt: now.UTC()}
	dbKey := store.Key("key", k.ID)
	rec := keyRecord{ID: k.ID, SealedSeed: sealer.Seal(dbKey, priv.Seed()), CreatedAt: k.CreatedAt}
	v, err := json.Marshal(rec)
	if err != nil {
		return Key{}, err
	}
	return k, st.Update(func(txn store.Txn) error {
		txn.Notify(store.TopicKeys, "")
		for _, fn := range also {
			if err := fn(txn, k); err != nil {
				return err
			}
		}
		return txn.Set(dbKey, v, 0)
	})
}

// EnsureKeys loads the signing keys, generating the first on first start.
func EnsureKeys(st store.Store, sealer *seal.Sealer, now time.Time) ([]Key, error) {
	keys, err := LoadKeys(st, sealer)
	if err != nil || len(keys) > 0 {
		return keys, err
	}
	k, err := AddKey(st, sealer, now)
	if err != nil {
		return nil, err
	}
	return []Key{k}, nil
}

// JWKS renders the public keys as an RFC 7517 key set.
func JWKS(keys []Key) []byte {
	type jwk struct {
		Kty string `json:"kty"`
		Crv string `json:"crv"`
		X   string `json:"x"`
		Kid string `json:"kid"`
		Use string `json:"use"`
		Alg string `json:"alg"`
	}
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{}}
	for _, k := range keys {
		set.Keys = append(set.Keys, jwk{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(k.Public()), Kid: k.ID, Use: "sig", Alg: "EdDSA"})
	}
	out, _ := json.Marshal(set)
	return out
}
