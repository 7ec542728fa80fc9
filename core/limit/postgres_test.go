package limit

import (
	"sync"
	"sync/atomic"
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
	var evaluated atomic.Int32
	const P = 50
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < P; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			limiters[i%2].Guess(Password, subject, func() (Outcome, func(store.Txn) error, error) {
				evaluated.Add(1)
				return wrong()
			})
		}(i)
	}
	close(start)
	wg.Wait()
	if got := evaluated.Load(); got > 6 {
		t.Fatalf("%d guesses evaluated over two nodes, want at most 6", got)
	}
	t.Logf("%d of %d parallel wrong guesses evaluated over two nodes (allowed: 6)", evaluated.Load(), P)
	err := limiters[1].Guess(Password, subject, right)
	if fe, _ := failure.As(err); evaluated.Load() == 6 && (fe == nil || fe.Status != 429) {
		t.Fatalf("the right password past the allowance: %v, want 429", err)
	}
}
