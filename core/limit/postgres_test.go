package limit

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/failure"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/internal/pgtest"
)

// TestParallelGuessesAcrossPostgresNodes is TestParallelGuessesAcrossLimiters on PostgreSQL
// with two Store instances on one database (two nodes): together they evaluate no more guesses
// than allowed, and the right password past the allowance is refused.
func TestParallelGuessesAcrossPostgresNodes(t *testing.T) {
	url := pgtest.Database(t)
	var stores []store.Store
	for i := 0; i < 2; i++ {
		st, err := store.OpenPostgres(url, store.PostgresOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		stores = append(stores, st)
	}
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	limiters := []*Limiter{New(stores[0], DefaultPolicy, clock.Now), New(stores[1], DefaultPolicy, clock.Now)}
	const P = 50
	evaluated := wrongBurst(limiters, P)
	if got := evaluated; got > 6 {
		t.Fatalf("%d guesses evaluated over two nodes, want at most 6", got)
	}
	t.Logf("%d of %d parallel wrong guesses evaluated over two nodes (allowed: 6)", evaluated, P)
	err := limiters[1].Guess(Password, subject, right)
	if fe, _ := failure.As(err); evaluated == 6 && (fe == nil || fe.Status != 429) {
		t.Fatalf("the right password past the allowance: %v, want 429", err)
	}
}
