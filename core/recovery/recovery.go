// Package recovery keeps a user's recovery codes: 10 codes of 16 characters, single use,
// stored only as salted keyed hashes.
//
// Why not argon2 as for passwords: a code carries 80 random bits (16 characters of a 32-symbol
// alphabet), so a brute force is out of reach even with a fast hash, and a login attempt would
// otherwise cost ten slow hashes. Each code is stored as HMAC-SHA256 under a pepper derived
// from the master key, with its own salt: the store alone reveals nothing usable.
package recovery

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

// Count and Length are the spec's numbers: 10 codes of 16 characters.
const (
	Count  = 10
	Length = 16
)

// alphabet has 32 symbols without look-alikes (no 0/O, 1/I/L): 5 bits per character.
const alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// ErrNone is returned when the user has no recovery codes.
var ErrNone = errors.New("recovery: no recovery codes")

type storedCode struct {
	Salt []byte `json:"salt"`
	MAC  []byte `json:"mac"`
}

// Set is a user's stored codes.
type Set struct {
	CompletedAt time.Time    `json:"completedAt"`
	Codes       []storedCode `json:"codes"`
}

// Keeper hashes and checks codes with a pepper.
type Keeper struct{ pepper []byte }

// NewKeeper returns a Keeper with pepper (32 secret bytes derived from the master key).
func NewKeeper(pepper []byte) *Keeper { return &Keeper{pepper: pepper} }

func key(userID uint64) []byte { return store.Key("recovery", strconv.FormatUint(userID, 10)) }

func (k *Keeper) mac(salt []byte, code string) []byte {
	h := hmac.New(sha256.New, k.pepper)
	h.Write(salt)
	h.Write([]byte(normalize(code)))
	return h.Sum(nil)
}

// normalize makes typing forgiving: case, spaces and dashes do not matter.
func normalize(code string) string {
	code = strings.ToUpper(code)
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, code)
}

// Generate makes Count new codes, stores their hashes in txn (replacing any old ones) and
// returns the codes in clear, to be shown once.
func (k *Keeper) Generate(txn store.Txn, userID uint64, now time.Time) ([]string, error) {
	set := Set{CompletedAt: now.UTC()}
	codes := make([]string, Count)
	for i := range codes {
		codes[i] = randomCode()
		salt := make([]byte, 16)
		if _, err := rand.Read(salt); err != nil {
			return nil, err
		}
		set.Codes = append(set.Codes, storedCode{Salt: salt, MAC: k.mac(salt, codes[i])})
	}
	v, err := json.Marshal(set)
	if err != nil {
		return nil, err
	}
	return codes, txn.Set(key(userID), v, 0)
}

func randomCode() string {
	b := make([]byte, Length)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)] // 256 is a multiple of 32: no bias
	}
	return string(b)
}

// Get reads the user's set; ErrNone when there is none.
func Get(txn store.Txn, userID uint64) (Set, error) {
	v, err := txn.Get(key(userID))
	if errors.Is(err, store.ErrNotFound) {
		return Set{}, ErrNone
	}
	if err != nil {
		return Set{}, err
	}
	var s Set
	return s, json.Unmarshal(v, &s)
}

// Match returns the index of code in set, or -1. Every stored code is compared, in constant
// time, whatever matches.
func (k *Keeper) Match(set Set, code string) int {
	found := -1
	for i, c := range set.Codes {
		if subtle.ConstantTimeCompare(k.mac(c.Salt, code), c.MAC) == 1 {
			found = i
		}
	}
	return found
}

// Consume removes the code at index i from the user's set in txn. It re-reads the set, so of
// two transactions that both matched the same code only one commits (the other conflicts).
func Consume(txn store.Txn, userID uint64, mac []byte) error {
	set, err := Get(txn, userID)
	if err != nil {
		return err
	}
	for i, c := range set.Codes {
		if subtle.ConstantTimeCompare(c.MAC, mac) == 1 {
			set.Codes = append(set.Codes[:i], set.Codes[i+1:]...)
			v, err := json.Marshal(set)
			if err != nil {
				return err
			}
			return txn.Set(key(userID), v, 0)
		}
	}
	return ErrNone
}

// MAC returns the stored MAC of the code at index i, to pass to Consume.
func (s Set) MAC(i int) []byte { return s.Codes[i].MAC }

// Delete removes every code of the user.
func Delete(txn store.Txn, userID uint64) error { return txn.Delete(key(userID)) }
