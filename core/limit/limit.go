// Package limit is the persistent guess limiter of spec section 3, one mechanism for every
// secret a client can guess (password, TOTP, recovery code, email OTP, reset code).
//
// Per (factor, subject): after Free failures, each further failure sets the next allowed time
// to now + 2^(failures-Free-1) seconds, capped at Max. A guess before that time is refused
// without being evaluated or counted. A success resets the state. Guesses on one subject are
// serialised in-process, so parallel guesses never get more evaluations than allowed, and every
// change is committed durably before the caller answers.
package limit

import (
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/core/failure"
	"github.com/gatehouse/gatehouse/core/metrics"
	"github.com/gatehouse/gatehouse/core/store"
)

// Factor names one guess counter: the secret guessed and the 429 message code it answers with.
type Factor struct {
	// Name is the counter's name in the store key, e.g. "password".
	Name string
	// Code is the 429 message code, e.g. TOO_MANY_FAILED_PASSWORD_CHECKS.
	Code string
}

// Password is the counter shared by login and the old-password change.
var Password = Factor{Name: "password", Code: failure.CodeTooManyPassword}

// Policy is the shape of the back-off. The defaults are the spec's.
type Policy struct {
	// Free is the number of failures without delay. Default 5.
	Free int
	// Max caps the delay. Default 1 hour.
	Max time.Duration
	// ForgetUnknownAfter is the lifetime of the state of a subject that is not an account
	// (an unknown login name), so guessing random names cannot fill the store. Default 24h.
	ForgetUnknownAfter time.Duration
}

// DefaultPolicy is spec section 3.
var DefaultPolicy = Policy{Free: 5, Max: time.Hour, ForgetUnknownAfter: 24 * time.Hour}

// State is the persisted counter of one (factor, subject).
type State struct {
	Failures    int       `json:"failures"`
	NextAllowed time.Time `json:"nextAllowed"`
}

// Wait returns how long a guess must wait at now (0 if allowed).
func (s State) Wait(now time.Time) time.Duration {
	if d := s.NextAllowed.Sub(now); d > 0 {
		return d
	}
	return 0
}

// Delay returns the back-off after the given number of failures.
func (p Policy) Delay(failures int) time.Duration {
	over := failures - p.Free - 1
	if over < 0 {
		return 0
	}
	if over >= 12 { // 2^12 s > 1 h; also keeps the shift small
		return p.Max
	}
	return min(time.Duration(1<<over)*time.Second, p.Max)
}

// Subject identifies whose counter: an account id, or an unknown name.
type Subject struct {
	// Key is the counter's key part, e.g. "u/42" or "n/alice@example.com".
	Key string
	// Known is false for a name that is not an account: its state expires.
	Known bool
}

// Limiter runs guesses against persistent counters.
type Limiter struct {
	store  store.Store
	policy Policy
	now    func() time.Time
	locks  keyedMutex
}

// New returns a Limiter on st with the policy p and the clock now.
func New(st store.Store, p Policy, now func() time.Time) *Limiter {
	return &Limiter{store: st, policy: p, now: now}
}

func key(f Factor, s Subject) []byte { return store.Key("limit", f.Name, s.Key) }

// Outcome is what a guess evaluation reports.
type Outcome int

// Outcomes of an evaluated guess.
const (
	// Wrong counts a failure.
	Wrong Outcome = iota
	// Right resets the counter.
	Right
	// NotCounted neither counts nor resets (the request failed for a reason that is not a guess).
	NotCounted
)

// Guess runs evaluate for one guess on (f, s) unless the subject must wait, in which case it
// returns a 429 failure.Error with the wait and evaluate is not called. Guesses on the same
// (f, s) run one at a time. evaluate returns the outcome and may return commit, a function that
// writes its own changes in the same transaction as the counter update (for example a new
// session on a right password); Guess then commits both durably before returning.
func (l *Limiter) Guess(f Factor, s Subject, evaluate func() (Outcome, func(store.Txn) error, error)) error {
	k := key(f, s)
	unlock := l.locks.lock(string(k))
	defer unlock()

	state, err := l.read(k)
	if err != nil {
		return err
	}
	if wait := state.Wait(l.now()); wait > 0 {
		metrics.Throttled.WithLabelValues(f.Name).Inc()
		return failure.TooManyRequests(f.Code, wait)
	}
	outcome, commit, evalErr := evaluate()
	switch outcome {
	case Right:
		if state.Failures == 0 && commit == nil {
			return evalErr
		}
		err = l.store.Update(func(txn store.Txn) error {
			if state.Failures > 0 {
				if err := txn.Delete(k); err != nil {
					return err
				}
			}
			if commit != nil {
				return commit(txn)
			}
			return nil
		})
	case Wrong:
		state.Failures++
		state.NextAllowed = l.now().Add(l.policy.Delay(state.Failures))
		err = l.store.Update(func(txn store.Txn) error {
			if err := l.write(txn, k, s, state); err != nil {
				return err
			}
			if commit != nil {
				return commit(txn)
			}
			return nil
		})
	default:
		if commit != nil {
			err = l.store.Update(commit)
		}
	}
	if err != nil {
		return err
	}
	return evalErr
}

// Wait returns how long the next guess on (f, s) must wait, for the next-* endpoints.
func (l *Limiter) Wait(f Factor, s Subject) (time.Duration, error) {
	state, err := l.read(key(f, s))
	if err != nil {
		return 0, err
	}
	return state.Wait(l.now()), nil
}

// Reset forgets the counter of (f, s) in txn (for example when an account is deleted).
func (l *Limiter) Reset(txn store.Txn, f Factor, s Subject) error { return txn.Delete(key(f, s)) }

func (l *Limiter) read(k []byte) (State, error) {
	var state State
	err := l.store.View(func(txn store.Txn) error {
		v, err := txn.Get(k)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return json.Unmarshal(v, &state)
	})
	return state, err
}

func (l *Limiter) write(txn store.Txn, k []byte, s Subject, state State) error {
	v, err := json.Marshal(state)
	if err != nil {
		return err
	}
	var ttl time.Duration
	if !s.Known {
		ttl = l.policy.ForgetUnknownAfter + state.Wait(l.now())
	}
	return txn.Set(k, v, ttl)
}

// keyedMutex serialises work per key; entries are dropped when no one holds or waits.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*refMutex
}

type refMutex struct {
	sync.Mutex
	refs int
}

func (k *keyedMutex) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*refMutex{}
	}
	m, ok := k.locks[key]
	if !ok {
		m = &refMutex{}
		k.locks[key] = m
	}
	m.refs++
	k.mu.Unlock()

	m.Lock()
	return func() {
		m.Unlock()
		k.mu.Lock()
		if m.refs--; m.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}
