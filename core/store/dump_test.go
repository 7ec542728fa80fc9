package store_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/internal/storetest"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/internal/pgtest"
)

// entry is one key as a dump carries it (expiry in whole seconds: Badger's granularity).
type entry struct {
	value   string
	expires int64
}

func contents(t *testing.T, st store.Store) map[string]entry {
	t.Helper()
	out := map[string]entry{}
	err := st.View(func(txn store.Txn) error {
		return txn.(store.ExpiryScanner).ScanExpiry(nil, func(k, v []byte, at time.Time) bool {
			var sec int64
			if !at.IsZero() {
				sec = at.Unix()
			}
			out[string(k)] = entry{string(v), sec}
			return true
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A Badger store dumped, restored into PostgreSQL, dumped again and restored into a new
// Badger store holds the same keys, values and expiry times, and its sequence goes on.
func TestDumpRoundTripBadgerPostgresBadger(t *testing.T) {
	src := storetest.Open(t)
	for i := 0; i < 700; i++ { // several import batches
		ttl := time.Duration(0)
		if i%3 == 0 {
			ttl = time.Duration(i+10) * time.Hour
		}
		if err := src.Update(func(txn store.Txn) error {
			return txn.Set(store.Key("k", fmt.Sprintf("%04d", i)), []byte(fmt.Sprintf("value %d \x00\xff", i)), ttl)
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := src.Update(func(txn store.Txn) error { return txn.Set(store.Key("empty"), nil, 0) }); err != nil {
		t.Fatal(err)
	}
	if err := src.Update(func(txn store.Txn) error { return txn.Set(store.Key("short"), []byte("x"), time.Second) }); err != nil {
		t.Fatal(err)
	}
	id, err := src.NextID("user")
	if err != nil {
		t.Fatal(err)
	}
	// The short key expires before the dump (polled; a liveness bound, not a measure).
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if _, ok := contents(t, src)[string(store.Key("short"))]; !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the 1s key did not expire")
		}
	}
	src.Close() // releases the sequence's lease: the stored next value is then exact

	// Reopen the source (the test helper closed it): its folder is the data to move.
	var dump1 bytes.Buffer
	reopened := reopenBadger(t, src)
	want := contents(t, reopened)
	if err := reopened.Backup(&dump1); err != nil {
		t.Fatal(err)
	}

	pg := openPostgres(t, pgtest.Database(t))
	if err := pg.Restore(bytes.NewReader(dump1.Bytes())); err != nil {
		t.Fatal(err)
	}
	if got := contents(t, pg); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("PostgreSQL after restore differs: %d keys, want %d", len(got), len(want))
	}
	next, err := pg.NextID("user")
	if err != nil || next <= id {
		t.Fatalf("NextID on PostgreSQL after restore: %d %v, want more than %d", next, err, id)
	}

	var dump2 bytes.Buffer
	if err := pg.Backup(&dump2); err != nil {
		t.Fatal(err)
	}
	back := storetest.Open(t)
	if err := back.Restore(bytes.NewReader(dump2.Bytes())); err != nil {
		t.Fatal(err)
	}
	want = contents(t, pg)
	if got := contents(t, back); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Badger after the second restore differs: %d keys, want %d", len(got), len(want))
	}
	if again, err := back.NextID("user"); err != nil || again <= next {
		t.Fatalf("NextID on Badger after the round trip: %d %v, want more than %d", again, err, next)
	}

	// A truncated or altered dump is refused, and writes nothing of its last batch.
	for name, bad := range map[string][]byte{
		"truncated": dump2.Bytes()[:dump2.Len()-3],
		"altered":   append(append([]byte(nil), dump2.Bytes()[:100]...), append([]byte{dump2.Bytes()[100] ^ 1}, dump2.Bytes()[101:]...)...),
	} {
		if err := storetest.Open(t).Restore(bytes.NewReader(bad)); err == nil {
			t.Errorf("a %s dump was restored", name)
		}
	}
}

// reopenBadger opens the folder of a closed Badger store again, closed when the test ends.
func reopenBadger(t *testing.T, closed *store.Badger) *store.Badger {
	t.Helper()
	st, err := store.OpenBadger(closed.Dir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
