// Package password hashes and verifies passwords with argon2id and defines the password-policy
// interface that policy plugins implement.
package password

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
)

// Errors of the hasher.
var (
	// ErrBusy is returned when no hashing slot frees up in time (a login flood).
	ErrBusy = errors.New("password: too many hashes in progress")
	// ErrMalformedHash is returned for a stored hash that is not an argon2id PHC string.
	ErrMalformedHash = errors.New("password: malformed stored hash")
)

// Params are argon2id parameters. Memory is in KiB.
type Params struct {
	Memory  uint32
	Time    uint32
	Threads uint8
}

const (
	saltLen = 16
	keyLen  = 32
)

// Hasher computes argon2id hashes with a bound on how many run at once, so a flood of logins
// queues instead of exhausting memory (each hash holds Params.Memory KiB while it runs).
type Hasher struct {
	params    Params
	slots     chan struct{}
	waitLimit time.Duration
	dummy     string
	// currentCost is a moving average of how long a verification at the configured parameters
	// takes (nanoseconds), what a hash of weaker, older parameters is padded to.
	currentCost atomic.Int64
}

// NewHasher returns a Hasher running at most concurrency hashes at once; a caller waits at most
// waitLimit for a slot.
func NewHasher(p Params, concurrency int, waitLimit time.Duration) *Hasher {
	h := &Hasher{params: p, slots: make(chan struct{}, max(concurrency, 1)), waitLimit: waitLimit}
	// The dummy hash has the configured parameters, so verifying against it for an unknown
	// account costs exactly what a real verification costs.
	h.dummy = encode(p, make([]byte, saltLen), make([]byte, keyLen))
	return h
}

// Params returns the configured parameters.
func (h *Hasher) Params() Params { return h.params }

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	default:
	}
	timer := time.NewTimer(h.waitLimit)
	defer timer.Stop()
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-timer.C:
		return ErrBusy
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.slots }

// Hash returns the PHC string of a new argon2id hash of password with a random salt.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	key := argon2.IDKey([]byte(password), salt, h.params.Time, h.params.Memory, h.params.Threads, keyLen)
	return encode(h.params, salt, key), nil
}

// Verify reports whether password matches the stored hash (argon2id, or an imported format:
// see import.go), and whether the hash should be upgraded because it is of another format or
// its parameters differ from the configured ones. An empty stored hash (an
// unknown account) is verified against a dummy hash with the same cost and never matches.
func (h *Hasher) Verify(ctx context.Context, password, stored string) (match, rehash bool, err error) {
	known := stored != ""
	if !known {
		stored = h.dummy
	}
	v, err := parseStored(stored)
	if err != nil {
		return false, false, ErrMalformedHash
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	start := time.Now()
	ok := v.check(password)
	h.release()
	elapsed := time.Since(start)
	p, isArgon2id := v.argon2id()
	current := isArgon2id && p == h.params
	if current {
		h.recordCost(elapsed)
	} else if err := h.padToCurrentCost(ctx, elapsed); err != nil {
		return false, false, err
	}
	match = ok && known
	return match, match && !current, nil
}

// recordCost folds one verification at the configured parameters into the moving average.
func (h *Hasher) recordCost(d time.Duration) {
	old := h.currentCost.Load()
	if old == 0 {
		h.currentCost.Store(int64(d))
		return
	}
	h.currentCost.Store(old + (int64(d)-old)/8)
}

// padToCurrentCost makes a verification at other (older) parameters last as long as one at the
// configured parameters, so an account not yet rehashed after the cost was raised answers no
// faster than an unknown name (which is verified against the dummy hash at the current cost).
// Before any verification at the current cost was measured, it runs one.
func (h *Hasher) padToCurrentCost(ctx context.Context, elapsed time.Duration) error {
	cost := time.Duration(h.currentCost.Load())
	if cost == 0 {
		_, _, err := h.Verify(ctx, "", h.dummy)
		return err
	}
	if wait := cost - elapsed; wait > 0 {
		timer := time.NewTimer(wait)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

var b64 = base64.RawStdEncoding

func encode(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}
