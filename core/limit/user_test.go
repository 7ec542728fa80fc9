package limit

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/failure"
	"github.com/gatehouse/gatehouse/core/internal/storetest"
	"github.com/gatehouse/gatehouse/core/store"
)

// GuessNoting notes the first refusal of each wait only: one write, however many guesses the
// wait refuses; a new failure starts a new wait with a new note.
func TestGuessNotingOncePerWait(t *testing.T) {
	st := storetest.Open(t)
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	l := New(st, DefaultPolicy, clock.Now)
	s := UserSubject(42)
	notes := 0
	note := func(txn store.Txn) error { notes++; return txn.Set([]byte("v1/note"), []byte("x"), 0) }
	guess := func(eval func() (Outcome, func(store.Txn) error, error)) error {
		return l.GuessNoting(Password, s, note, eval)
	}
	for i := 0; i < DefaultPolicy.Free+1; i++ {
		_ = guess(wrong)
	}
	for i := 0; i < 4; i++ {
		if fe, ok := failure.As(guess(right)); !ok || fe.Status != 429 {
			t.Fatalf("guess %d during the wait: %v", i, fe)
		}
	}
	if notes != 1 {
		t.Fatalf("%d notes for one wait, want 1", notes)
	}
	clock.Advance(2 * time.Second)
	_ = guess(wrong)
	_ = guess(right)
	if notes != 2 {
		t.Fatalf("%d notes after a second wait, want 2", notes)
	}
	// The counters an operator sees, and their clearing.
	var counters []Counter
	if err := st.View(func(txn store.Txn) error {
		var err error
		counters, err = l.Counters(txn, 42)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(counters) != 1 || counters[0].Factor != "password" || counters[0].Failures != DefaultPolicy.Free+2 || counters[0].WaitSeconds < 1 {
		t.Fatalf("counters: %+v", counters)
	}
	var n int
	if err := st.Update(func(txn store.Txn) error {
		var err error
		n, err = l.ClearUser(txn, 42, false)
		return err
	}); err != nil || n != 1 {
		t.Fatalf("ClearUser: %d %v", n, err)
	}
	if err := guess(right); err != nil {
		t.Fatalf("after clearing: %v", err)
	}
}
