// Package limit is the persistent guess limiter of spec section 3, one mechanism for every
// secret a client can guess (password, TOTP, recovery code, email OTP, reset code).
//
// Per (factor, subject): after Free failures, each further failure sets the next allowed time
// to now + 2^(failures-Free-1) seconds, capped at Max. A guess before that time is refused
// without being evaluated or counted. A success resets the state. Each guess is reserved in the
// store before it is evaluated, so parallel guesses never get more evaluations than allowed
// (also across processes sharing the store), and every change is committed durably before the
// caller answers. What unknown subjects can make it store is bounded (see UnknownBuckets).
package limit

import (
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
	// Refused is true once a guess was refused during the current wait and the refusal noted
	// (GuessNoting): later refusals of the same wait write nothing.
	Refused bool `json:"refused,omitempty"`
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
	store      store.Store
	policy     Policy
	now        func() time.Time
	locks      keyedMutex
	unknownKey []byte
	buckets    bucketBounds
}

// New returns a Limiter on st with the policy p and the clock now.
func New(st store.Store, p Policy, now func() time.Time) *Limiter {
	return &Limiter{store: st, policy: p, now: now, buckets: bucketBounds{UnknownBuckets, UnknownBucketEntries}}
}

// SetUnknownKey sets the secret that places unknown subjects in their buckets, so a client
// cannot aim its names at one bucket. It must be the same on every start and every node
// (derive it from the master key); call it before the first guess.
func (l *Limiter) SetUnknownKey(k []byte) { l.unknownKey = k }

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
// returns a 429 failure.Error with the wait and evaluate is not called.
//
// The guess is reserved in the store before it is evaluated: one committed transaction reads
// the counter and, when a guess is allowed, counts this one as a failure (with the delay that
// failure sets). So however many guesses arrive at once, on however many processes sharing the
// store, no more are evaluated than the policy allows. evaluate returns the outcome and may
// return commit, a function that writes its own changes (for example a new session on a right
// password); Guess then commits them durably before returning: with the counter's reset on
// Right, alone on Wrong (the failure is already counted), with the reservation given back on
// NotCounted. A commit that fails (its checks against the state in force refused it) leaves
// the guess counted as a failure.
func (l *Limiter) Guess(f Factor, s Subject, evaluate func() (Outcome, func(store.Txn) error, error)) error {
	return l.GuessNoting(f, s, nil, evaluate)
}

// GuessNoting is Guess that also calls refused, in a committed transaction, at the first guess
// refused in each wait (the audit event of a throttled login): one write per wait, however
// many guesses the wait refuses. refused nil is Guess.
func (l *Limiter) GuessNoting(f Factor, s Subject, refused func(txn store.Txn) error, evaluate func() (Outcome, func(store.Txn) error, error)) error {
	sl := l.slotOf("limit", f, s)
	// Guesses on one subject run one at a time in this process, evaluation included: a
	// success then resets only what was evaluated before it (and what other processes have in
	// flight, at most one guess each), and a burst of one right code is evaluated right once.
	unlock := l.locks.lock(sl.lockKey())
	defer unlock()
	before, err := l.reserve(f, s, sl, refused)
	if err != nil {
		return err
	}
	outcome, commit, evalErr := evaluate()
	switch outcome {
	case Right:
		err = l.store.Update(func(txn store.Txn) error {
			if err := l.resetAfter(txn, s, sl, before); err != nil {
				return err
			}
			if commit != nil {
				return commit(txn)
			}
			return nil
		})
	case Wrong:
		if commit != nil {
			err = l.store.Update(commit)
		}
	default:
		err = l.store.Update(func(txn store.Txn) error {
			if err := l.giveBack(txn, s, sl, before); err != nil {
				return err
			}
			if commit != nil {
				return commit(txn)
			}
			return nil
		})
	}
	if err != nil {
		return err
	}
	return evalErr
}

// reserve counts one guess on sl as a failure, or returns the 429 when the subject must wait.
// It returns the state before the reservation.
func (l *Limiter) reserve(f Factor, s Subject, sl slot, refused func(store.Txn) error) (State, error) {
	var before State
	var refusal error
	err := l.store.Update(func(txn store.Txn) error {
		refusal = nil
		state, err := l.readState(txn, sl)
		if err != nil {
			return err
		}
		before = state
		if wait := state.Wait(l.now()); wait > 0 {
			metrics.Throttled.WithLabelValues(f.Name).Inc()
			refusal = failure.TooManyRequests(f.Code, wait)
			if refused == nil || state.Refused {
				return refusal // nothing to write
			}
			state.Refused = true
			if err := l.writeState(txn, sl, s, state); err != nil {
				return err
			}
			return refused(txn)
		}
		return l.writeState(txn, sl, s, l.failed(state))
	})
	if err == nil && refusal != nil {
		err = refusal
	}
	return before, err
}

// failed returns state after one more failure.
func (l *Limiter) failed(state State) State {
	state.Failures++
	state.NextAllowed = l.now().Add(l.policy.Delay(state.Failures)).UTC()
	state.Refused = false
	return state
}

// resetAfter is the reset of a right guess whose reservation found the state before: the
// failures counted up to and including this reservation are forgotten, and the reservations
// other guesses made since (in flight, not yet evaluated) stay counted, so a success in a
// burst does not give the rest of the burst a fresh allowance.
func (l *Limiter) resetAfter(txn store.Txn, s Subject, sl slot, before State) error {
	state, err := l.readState(txn, sl)
	if err != nil {
		return err
	}
	since := state.Failures - before.Failures - 1
	if since <= 0 {
		return l.remove(txn, sl)
	}
	state.Failures = since
	state.NextAllowed = l.now().Add(l.policy.Delay(since)).UTC()
	state.Refused = false
	return l.writeState(txn, sl, s, state)
}

// giveBack undoes a reservation whose guess was not evaluated to an outcome.
func (l *Limiter) giveBack(txn store.Txn, s Subject, sl slot, before State) error {
	state, err := l.readState(txn, sl)
	if err != nil {
		return err
	}
	if state.Failures == 0 {
		return nil
	}
	state.Failures--
	if state.Failures <= before.Failures {
		state.NextAllowed = before.NextAllowed
	}
	if state.Failures == 0 {
		return l.remove(txn, sl)
	}
	return l.writeState(txn, sl, s, state)
}

// GuessInTxn runs one guess whose evaluation needs no slow work outside the store (a mailed
// code, a recovery code): the counter is read, the guess evaluated and the outcome counted in
// one transaction, committed once. evaluate may write in txn; its writes commit with the
// counter when it returns Wrong or Right. A NotCounted outcome with an error aborts the
// transaction and returns that error; with no error it commits evaluate's writes alone. The
// error evaluate returns with Wrong or Right is returned after the commit. On a conflict the
// whole function runs again.
func (l *Limiter) GuessInTxn(f Factor, s Subject, evaluate func(txn store.Txn) (Outcome, error)) error {
	sl := l.slotOf("limit", f, s)
	unlock := l.locks.lock(sl.lockKey())
	defer unlock()
	var result error
	err := l.store.Update(func(txn store.Txn) error {
		result = nil
		state, err := l.readState(txn, sl)
		if err != nil {
			return err
		}
		if wait := state.Wait(l.now()); wait > 0 {
			metrics.Throttled.WithLabelValues(f.Name).Inc()
			return failure.TooManyRequests(f.Code, wait)
		}
		outcome, evalErr := evaluate(txn)
		switch outcome {
		case Right:
			result = evalErr
			if state.Failures > 0 {
				return l.remove(txn, sl)
			}
			return nil
		case Wrong:
			result = evalErr
			return l.writeState(txn, sl, s, l.failed(state))
		default:
			return evalErr
		}
	})
	if err != nil {
		return err
	}
	return result
}

// Wait returns how long the next guess on (f, s) must wait, for the next-* endpoints.
func (l *Limiter) Wait(f Factor, s Subject) (time.Duration, error) {
	var state State
	err := l.store.View(func(txn store.Txn) error {
		var err error
		state, err = l.readState(txn, l.slotOf("limit", f, s))
		return err
	})
	if err != nil {
		return 0, err
	}
	return state.Wait(l.now()), nil
}

// Reset forgets the counter of (f, s) in txn (for example when an account is deleted, or a
// new code is mailed to its owner).
func (l *Limiter) Reset(txn store.Txn, f Factor, s Subject) error {
	return l.remove(txn, l.slotOf("limit", f, s))
}

func (l *Limiter) readState(txn store.Txn, sl slot) (State, error) {
	var state State
	_, err := l.load(txn, sl, &state)
	return state, err
}

func (l *Limiter) writeState(txn store.Txn, sl slot, s Subject, state State) error {
	var ttl time.Duration
	if !s.Known {
		ttl = l.policy.ForgetUnknownAfter + state.Wait(l.now())
	}
	return l.save(txn, sl, state, ttl)
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
