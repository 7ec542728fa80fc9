package limit

import (
	"encoding/json"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/failure"
	"github.com/gatehouse/gatehouse/core/internal/storetest"
	"github.com/gatehouse/gatehouse/core/store"
)

func TestDelay(t *testing.T) {
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{0, 0}, {1, 0}, {5, 0},
		{6, time.Second}, {7, 2 * time.Second}, {8, 4 * time.Second},
		{17, 2048 * time.Second}, {18, time.Hour}, {100, time.Hour},
	}
	for _, tt := range tests {
		if got := DefaultPolicy.Delay(tt.failures); got != tt.want {
			t.Errorf("Delay(%d) = %v, want %v", tt.failures, got, tt.want)
		}
	}
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

var subject = Subject{Key: "u/1", Known: true}

func wrong() (Outcome, func(store.Txn) error, error) {
	return Wrong, nil, failure.Unauthorized("WRONG")
}
func right() (Outcome, func(store.Txn) error, error) { return Right, nil, nil }

func TestGuessSequence(t *testing.T) {
	st := storetest.Open(t)
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	l := New(st, DefaultPolicy, clock.Now)

	for i := 1; i <= 6; i++ {
		err := l.Guess(Password, subject, wrong)
		if fe, _ := failure.As(err); fe == nil || fe.Code != "WRONG" {
			t.Fatalf("guess %d: got %v, want the evaluation's error", i, err)
		}
	}
	evaluated := false
	err := l.Guess(Password, subject, func() (Outcome, func(store.Txn) error, error) { evaluated = true; return right() })
	fe, ok := failure.As(err)
	if !ok || fe.Status != 429 || fe.Code != failure.CodeTooManyPassword || fe.RetryAfterSeconds() != 1 {
		t.Fatalf("7th guess: got %v, want 429 retry after 1s", err)
	}
	if evaluated {
		t.Fatal("a throttled guess was evaluated")
	}
	if wait, _ := l.Wait(Password, subject); wait != time.Second {
		t.Fatalf("Wait = %v, want 1s (a throttled guess is not counted)", wait)
	}
	clock.Advance(time.Second)
	if err := l.Guess(Password, subject, wrong); err == nil {
		t.Fatal("want the evaluation's error")
	}
	if wait, _ := l.Wait(Password, subject); wait != 2*time.Second {
		t.Fatalf("after the 7th failure Wait = %v, want 2s", wait)
	}
	clock.Advance(2 * time.Second)
	if err := l.Guess(Password, subject, right); err != nil {
		t.Fatal(err)
	}
	if wait, _ := l.Wait(Password, subject); wait != 0 {
		t.Fatalf("a success must reset: Wait = %v", wait)
	}
	for i := 0; i < 6; i++ {
		l.Guess(Password, subject, wrong)
	}
	if wait, _ := l.Wait(Password, subject); wait != time.Second {
		t.Fatalf("after reset the free failures start again: Wait = %v", wait)
	}
}

func TestStatePersists(t *testing.T) {
	dir := t.TempDir()
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	open := func() *store.Badger {
		st, err := store.OpenBadger(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	st := open()
	l := New(st, DefaultPolicy, clock.Now)
	for i := 0; i < 8; i++ {
		wait, _ := l.Wait(Password, subject)
		clock.Advance(wait)
		l.Guess(Password, subject, wrong)
	}
	st.Close()
	st = open()
	defer st.Close()
	if wait, _ := New(st, DefaultPolicy, clock.Now).Wait(Password, subject); wait != 4*time.Second {
		t.Fatalf("after reopen Wait = %v, want 4s", wait)
	}
}

// TestParallelGuessesAreBounded hammers one subject: only the free failures plus one may be
// evaluated before the delay starts, however many guesses arrive at once.
func TestParallelGuessesAreBounded(t *testing.T) {
	st := storetest.Open(t)
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	l := New(st, DefaultPolicy, clock.Now)
	var evaluated atomic.Int32
	var throttled atomic.Int32
	const P = 50
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < P; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := l.Guess(Password, subject, func() (Outcome, func(store.Txn) error, error) {
				evaluated.Add(1)
				return wrong()
			})
			if fe, ok := failure.As(err); ok && fe.Status == 429 {
				throttled.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	if got := evaluated.Load(); got != 6 {
		t.Fatalf("%d guesses evaluated, want 6 (5 free + the one that starts the delay)", got)
	}
	if got := throttled.Load(); got != P-6 {
		t.Fatalf("%d throttled, want %d", got, P-6)
	}
}

func TestUnknownSubjectExpires(t *testing.T) {
	st := storetest.Open(t)
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	l := New(st, Policy{Free: 5, Max: time.Hour, ForgetUnknownAfter: time.Minute}, clock.Now)
	unknown := Subject{Key: "n/nobody@example.com"}
	for i := 0; i < 6; i++ {
		l.Guess(Password, unknown, wrong)
	}
	if wait, _ := l.Wait(Password, unknown); wait != time.Second {
		t.Fatalf("Wait = %v, want 1s: an unknown name is throttled like an account", wait)
	}
	clock.Advance(time.Minute + 2*time.Second)
	var found bool
	st.View(func(txn store.Txn) error {
		var s State
		found, _ = l.load(txn, l.slotOf("limit", Password, unknown), &s)
		return nil
	})
	if found {
		t.Fatal("the state of an unknown subject should expire")
	}
}

// TestUnknownSubjectsAreBounded sprays distinct unknown names: what they leave in the store is
// bounded by the buckets, however many names there are.
func TestUnknownSubjectsAreBounded(t *testing.T) {
	st := storetest.Open(t)
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	l := New(st, DefaultPolicy, clock.Now)
	l.SetUnknownKey([]byte("test key"))
	l.buckets = bucketBounds{count: 16, entries: 4} // the same code as the real bounds, fewer commits
	buckets, perBucket := l.buckets.count, l.buckets.entries
	names := 3 * buckets * perBucket
	for i := 0; i < names; i++ {
		s := Subject{Key: "n/spray" + strconv.Itoa(i) + "@example.com"}
		err := l.GuessInTxn(Password, s, func(store.Txn) (Outcome, error) { return Wrong, failure.Unauthorized("WRONG") })
		if fe, _ := failure.As(err); fe == nil || fe.Code != "WRONG" {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	records, entries := 0, 0
	st.View(func(txn store.Txn) error {
		return txn.Scan(store.Key("limit-unknown"), func(_, v []byte) bool {
			records++
			var b map[string]json.RawMessage
			json.Unmarshal(v, &b)
			entries += len(b)
			return true
		})
	})
	if records > buckets || entries > buckets*perBucket {
		t.Fatalf("%d names left %d records with %d entries, want at most %d and %d",
			names, records, entries, buckets, buckets*perBucket)
	}
	if entries < buckets*perBucket/2 {
		t.Fatalf("only %d entries kept: the buckets should hold the recent names", entries)
	}
}

// TestParallelGuessesAcrossLimiters is two processes on one store: each limiter has its own
// in-process lock, so only the reservation in the store bounds what is evaluated. After the
// burst the right password is refused too.
func TestParallelGuessesAcrossLimiters(t *testing.T) {
	st := storetest.Open(t)
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	limiters := []*Limiter{New(st, DefaultPolicy, clock.Now), New(st, DefaultPolicy, clock.Now)}
	evaluated := wrongBurst(limiters, 50)
	if got := evaluated; got != 6 {
		t.Fatalf("%d guesses evaluated over two limiters, want 6", got)
	}
	err := limiters[1].Guess(Password, subject, right)
	if fe, _ := failure.As(err); fe == nil || fe.Status != 429 {
		t.Fatalf("the right password past the allowance: %v, want 429", err)
	}
}

func TestNotCountedGivesTheReservationBack(t *testing.T) {
	st := storetest.Open(t)
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	l := New(st, DefaultPolicy, clock.Now)
	for i := 0; i < 5; i++ {
		l.Guess(Password, subject, wrong)
	}
	for i := 0; i < 3; i++ {
		err := l.Guess(Password, subject, func() (Outcome, func(store.Txn) error, error) {
			return NotCounted, nil, failure.Unavailable("BUSY")
		})
		if fe, _ := failure.As(err); fe == nil || fe.Code != "BUSY" {
			t.Fatalf("not counted %d: %v", i, err)
		}
	}
	if wait, _ := l.Wait(Password, subject); wait != 0 {
		t.Fatalf("Wait = %v after 5 failures and 3 uncounted, want 0", wait)
	}
	l.Guess(Password, subject, wrong)
	if wait, _ := l.Wait(Password, subject); wait != time.Second {
		t.Fatalf("the 6th failure: Wait = %v, want 1s", wait)
	}
}

func TestGuessInTxn(t *testing.T) {
	st := storetest.Open(t)
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	l := New(st, DefaultPolicy, clock.Now)
	mark := store.Key("test", "written")
	tests := []struct {
		name     string
		outcome  Outcome
		err      error
		wantErr  string
		wantWait time.Duration
		written  bool
	}{
		{"wrong commits the write and the failure", Wrong, failure.Unauthorized("WRONG"), "WRONG", 0, true},
		{"not counted with an error aborts", NotCounted, failure.Internal("BROKEN"), "BROKEN", 0, false},
		{"right resets", Right, nil, "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st.Update(func(txn store.Txn) error { return txn.Delete(mark) })
			err := l.GuessInTxn(Password, subject, func(txn store.Txn) (Outcome, error) {
				if err := txn.Set(mark, []byte("x"), 0); err != nil {
					return NotCounted, err
				}
				return tt.outcome, tt.err
			})
			if fe, _ := failure.As(err); (fe == nil) != (tt.wantErr == "") || (fe != nil && fe.Code != tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			var written bool
			st.View(func(txn store.Txn) error { _, err := txn.Get(mark); written = err == nil; return nil })
			if written != tt.written {
				t.Fatalf("written = %v, want %v", written, tt.written)
			}
		})
	}
	for i := 0; i < 6; i++ {
		l.GuessInTxn(Password, subject, func(store.Txn) (Outcome, error) { return Wrong, failure.Unauthorized("WRONG") })
	}
	evaluated := false
	err := l.GuessInTxn(Password, subject, func(store.Txn) (Outcome, error) { evaluated = true; return Right, nil })
	if fe, _ := failure.As(err); fe == nil || fe.Status != 429 || evaluated {
		t.Fatalf("7th guess: %v (evaluated %v), want a 429 without evaluation", err, evaluated)
	}
}

func TestSendLimiter(t *testing.T) {
	st := storetest.Open(t)
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	l := New(st, DefaultPolicy, clock.Now)
	f := Factor{Name: "otp-mail", Code: "TOO_MANY_OTP_EMAILS"}
	take := func() error {
		return st.Update(func(txn store.Txn) error { return l.TakeSend(txn, DefaultSendPolicy, f, subject) })
	}
	if err := take(); err != nil {
		t.Fatal(err)
	}
	err := take()
	if fe, ok := failure.As(err); !ok || fe.Code != "TOO_MANY_OTP_EMAILS" || fe.RetryAfterSeconds() != 60 {
		t.Fatalf("second send at once: %v", err)
	}
	clock.Advance(59 * time.Second)
	if w, _ := l.SendWait(DefaultSendPolicy, f, subject); w != time.Second {
		t.Fatalf("wait %v, want 1s", w)
	}
	for i := 2; i <= 10; i++ {
		clock.Advance(time.Minute)
		if err := take(); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	clock.Advance(time.Minute)
	if err := take(); err == nil {
		t.Fatal("the 11th send in a day must wait")
	}
	if w, _ := l.SendWait(DefaultSendPolicy, f, subject); w < 20*time.Hour {
		t.Fatalf("wait %v, want until the day is over", w)
	}
	clock.Advance(24 * time.Hour)
	if err := take(); err != nil {
		t.Fatal(err)
	}
}

// TestRightGuessInABurstKeepsTheOthersCounted: 50 parallel uses of one right code (the first
// evaluated is right, the rest are replays and wrong): the success resets the failures counted
// before it, not the reservations the rest of the burst made meanwhile, so at most the free
// failures and the one that starts the delay are evaluated wrong after it.
func TestRightGuessInABurstKeepsTheOthersCounted(t *testing.T) {
	st := storetest.Open(t)
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	limiters := []*Limiter{New(st, DefaultPolicy, clock.Now), New(st, DefaultPolicy, clock.Now)}
	var used atomic.Bool
	var wrongEvaluated atomic.Int32
	const P = 50
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < P; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			limiters[i%2].Guess(Password, subject, func() (Outcome, func(store.Txn) error, error) {
				time.Sleep(time.Millisecond) // an evaluation takes a while: others reserve meanwhile
				if used.CompareAndSwap(false, true) {
					return right()
				}
				wrongEvaluated.Add(1)
				return wrong()
			})
		}(i)
	}
	close(start)
	wg.Wait()
	if !used.Load() {
		t.Fatal("the right code was never evaluated")
	}
	if got := wrongEvaluated.Load(); got > 6 {
		t.Fatalf("%d replays evaluated wrong, want at most 6", got)
	}
}

// wrongBurst sends n wrong guesses at once, spread over limiters in turn, and returns how many
// were evaluated.
func wrongBurst(limiters []*Limiter, n int) int32 {
	var evaluated atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			limiters[i%len(limiters)].Guess(Password, subject, func() (Outcome, func(store.Txn) error, error) {
				evaluated.Add(1)
				return wrong()
			})
		}(i)
	}
	close(start)
	wg.Wait()
	return evaluated.Load()
}
