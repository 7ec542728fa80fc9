package storetest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

// Fresh makes a new, empty store for one conformance test. second, when not nil, opens
// another Store instance on the same data (another process's view of a shared database); it
// is nil for a store that one process owns (Badger). Both are closed when the test ends.
type Fresh func(t *testing.T) (st store.Store, second func() store.Store)

// liveness bounds the wait for something that must happen (a notice from another instance, a
// key's expiry): reaching it fails the test; it is not a measured duration.
const liveness = time.Minute

// Conformance runs the contract of store.Store (core/store/store.go) against the stores that
// fresh makes: reads and writes, TTL, scan order and prefixes, AfterCommit, change notices,
// serializable read-modify-write under contention, NextID.
func Conformance(t *testing.T, fresh Fresh) {
	tests := []struct {
		name string
		run  func(t *testing.T, st store.Store, second func() store.Store)
	}{
		{"get set delete", testGetSetDelete},
		{"read-only view", testReadOnlyView},
		{"ttl expiry", testTTL},
		{"scan order and prefix", testScan},
		{"after commit", testAfterCommit},
		{"notify on commit only", testNotifyLocal},
		{"notify reaches a second instance", testNotifySecond},
		{"read-modify-write from goroutines", func(t *testing.T, st store.Store, _ func() store.Store) {
			testCounter(t, st, st)
		}},
		{"read-modify-write from two instances", func(t *testing.T, st store.Store, second func() store.Store) {
			if second == nil {
				t.Skip("a store of one process")
			}
			testCounter(t, st, second())
		}},
		{"next id unique", func(t *testing.T, st store.Store, second func() store.Store) {
			other := st
			if second != nil {
				other = second()
			}
			testNextID(t, st, other)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, second := fresh(t)
			tc.run(t, st, second)
		})
	}
}

func set(t *testing.T, st store.Store, key, value string, ttl time.Duration) {
	t.Helper()
	if err := st.Update(func(txn store.Txn) error { return txn.Set([]byte(key), []byte(value), ttl) }); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, st store.Store, key string) (string, bool) {
	t.Helper()
	var v []byte
	err := st.View(func(txn store.Txn) error {
		var err error
		v, err = txn.Get([]byte(key))
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(v), true
}

func testGetSetDelete(t *testing.T, st store.Store, _ func() store.Store) {
	if _, ok := get(t, st, "v1/a"); ok {
		t.Fatal("a new store holds v1/a")
	}
	err := st.Update(func(txn store.Txn) error {
		if err := txn.Set([]byte("v1/a"), []byte("one"), 0); err != nil {
			return err
		}
		v, err := txn.Get([]byte("v1/a"))
		if err != nil || string(v) != "one" {
			return fmt.Errorf("read of the transaction's own write: %q %v", v, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := get(t, st, "v1/a"); !ok || v != "one" {
		t.Fatalf("after commit: %q %v", v, ok)
	}
	set(t, st, "v1/a", "two", 0)
	if v, _ := get(t, st, "v1/a"); v != "two" {
		t.Fatalf("overwrite: %q", v)
	}
	set(t, st, "v1/empty", "", 0)
	if v, ok := get(t, st, "v1/empty"); !ok || v != "" {
		t.Fatalf("empty value: %q %v", v, ok)
	}
	if err := st.Update(func(txn store.Txn) error { return txn.Set([]byte("v1/nil"), nil, 0) }); err != nil {
		t.Fatalf("a nil value: %v", err)
	}
	if v, ok := get(t, st, "v1/nil"); !ok || v != "" {
		t.Fatalf("nil value: %q %v", v, ok)
	}
	failed := errors.New("rolled back")
	if err := st.Update(func(txn store.Txn) error {
		_ = txn.Set([]byte("v1/a"), []byte("three"), 0)
		return failed
	}); !errors.Is(err, failed) {
		t.Fatalf("Update returned %v, want fn's error", err)
	}
	if v, _ := get(t, st, "v1/a"); v != "two" {
		t.Fatalf("a failed transaction's write is visible: %q", v)
	}
	if err := st.Update(func(txn store.Txn) error {
		if err := txn.Delete([]byte("v1/a")); err != nil {
			return err
		}
		return txn.Delete([]byte("v1/missing"))
	}); err != nil {
		t.Fatal(err)
	}
	if _, ok := get(t, st, "v1/a"); ok {
		t.Fatal("deleted key still there")
	}
	set(t, st, "v1/a", "again", 0)
	if v, _ := get(t, st, "v1/a"); v != "again" {
		t.Fatalf("set after delete: %q", v)
	}
}

func testReadOnlyView(t *testing.T, st store.Store, _ func() store.Store) {
	var setErr error
	_ = st.View(func(txn store.Txn) error {
		setErr = txn.Set([]byte("v1/ro"), []byte("x"), 0)
		return nil
	})
	if setErr == nil {
		t.Fatal("Set in View succeeded")
	}
	if _, ok := get(t, st, "v1/ro"); ok {
		t.Fatal("a write in View is visible")
	}
}

func testTTL(t *testing.T, st store.Store, _ func() store.Store) {
	set(t, st, "v1/ttl/long", "stays", time.Hour)
	set(t, st, "v1/ttl/none", "stays", 0)
	set(t, st, "v1/ttl/short", "goes", time.Second)
	deadline := time.Now().Add(liveness)
	for {
		if _, ok := get(t, st, "v1/ttl/short"); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a key with a 1s TTL is still there after %v", liveness)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var keys []string
	if err := st.View(func(txn store.Txn) error {
		return txn.Scan([]byte("v1/ttl/"), func(k, _ []byte) bool { keys = append(keys, string(k)); return true })
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(keys) != "[v1/ttl/long v1/ttl/none]" {
		t.Fatalf("scan after expiry: %v", keys)
	}
	// An expired key can be written again, and a Set without TTL clears a TTL.
	set(t, st, "v1/ttl/short", "back", 0)
	if v, ok := get(t, st, "v1/ttl/short"); !ok || v != "back" {
		t.Fatalf("rewritten expired key: %q %v", v, ok)
	}
}

func testScan(t *testing.T, st store.Store, _ func() store.Store) {
	want := []string{"v1/s/", "v1/s/\x00", "v1/s/a", "v1/s/a/b", "v1/s/b", "v1/s/\x7f", "v1/s/\xff", "v1/s/\xff\xff"}
	for i := 0; i < 600; i++ { // more than one batch of a store that fetches in batches
		want = append(want, fmt.Sprintf("v1/s/n/%04d", i))
	}
	others := []string{"v1/r", "v1/s", "v1/t", "v1/s0", "v1/s.", "v2/s/a"}
	sort.Strings(want)
	all := append(append([]string(nil), want...), others...)
	rand.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	for start := 0; start < len(all); start += 100 {
		if err := st.Update(func(txn store.Txn) error {
			for _, k := range all[start:min(start+100, len(all))] {
				if err := txn.Set([]byte(k), []byte("value of "+k), 0); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	if err := st.View(func(txn store.Txn) error {
		return txn.Scan([]byte("v1/s/"), func(k, v []byte) bool {
			if string(v) != "value of "+string(k) {
				t.Errorf("value of %q: %q", k, v)
			}
			// The transaction serves reads inside a scan.
			if _, err := txn.Get(k); err != nil {
				t.Errorf("Get inside Scan: %v", err)
			}
			got = append(got, string(k))
			return true
		})
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		t.Fatalf("scan v1/s/:\n got %q\nwant %q", got, want)
	}
	var first []string
	if err := st.View(func(txn store.Txn) error {
		return txn.Scan([]byte("v1/s/"), func(k, _ []byte) bool { first = append(first, string(k)); return len(first) < 2 })
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%q", first) != fmt.Sprintf("%q", want[:2]) {
		t.Fatalf("scan stopped after two: %q", first)
	}
	// store.ScanFrom starts inside the prefix (a listing's cursor), and never leaves it.
	for _, from := range []string{"v1/s/a/", "v1/s/n/0599", "v1/r", "v1/s/\xff\xff\xff"} {
		var seen []string
		if err := st.View(func(txn store.Txn) error {
			return store.ScanFrom(txn, []byte("v1/s/"), []byte(from), func(k, _ []byte) bool { seen = append(seen, string(k)); return true })
		}); err != nil {
			t.Fatal(err)
		}
		var expect []string
		for _, k := range want {
			if k >= from {
				expect = append(expect, k)
			}
		}
		if fmt.Sprintf("%q", seen) != fmt.Sprintf("%q", expect) {
			t.Fatalf("ScanFrom v1/s/ at %q:\n got %q\nwant %q", from, seen, expect)
		}
	}
	everything := 0
	if err := st.View(func(txn store.Txn) error {
		return txn.Scan(nil, func(_, _ []byte) bool { everything++; return true })
	}); err != nil {
		t.Fatal(err)
	}
	if everything != len(all) {
		t.Fatalf("a scan of the empty prefix saw %d keys, want %d", everything, len(all))
	}
	var ff []string
	if err := st.View(func(txn store.Txn) error {
		return txn.Scan([]byte("v1/s/\xff"), func(k, _ []byte) bool { ff = append(ff, string(k)); return true })
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%q", ff) != fmt.Sprintf("%q", []string{"v1/s/\xff", "v1/s/\xff\xff"}) {
		t.Fatalf("scan of a prefix ending in 0xff: %q", ff)
	}
}

func testAfterCommit(t *testing.T, st store.Store, _ func() store.Store) {
	var ran []string
	failed := errors.New("rolled back")
	_ = st.Update(func(txn store.Txn) error {
		txn.AfterCommit(func() { ran = append(ran, "failed") })
		_ = txn.Set([]byte("v1/ac"), []byte("no"), 0)
		return failed
	})
	var sawCommitted bool
	err := st.Update(func(txn store.Txn) error {
		txn.AfterCommit(func() {
			ran = append(ran, "committed")
			v, _ := get(t, st, "v1/ac")
			sawCommitted = v == "yes"
		})
		return txn.Set([]byte("v1/ac"), []byte("yes"), 0)
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ran) != "[committed]" || !sawCommitted {
		t.Fatalf("hooks run: %v; the hook saw the committed write: %v", ran, sawCommitted)
	}
	viewed := false
	_ = st.View(func(txn store.Txn) error { txn.AfterCommit(func() { viewed = true }); return nil })
	if !viewed {
		t.Fatal("AfterCommit of a View did not run")
	}
}

func testNotifyLocal(t *testing.T, st store.Store, _ func() store.Store) {
	var mu sync.Mutex
	var got []string
	st.Subscribe("t", func(key string) { mu.Lock(); got = append(got, key); mu.Unlock() })
	st.Subscribe("other", func(key string) { mu.Lock(); got = append(got, "other:"+key); mu.Unlock() })
	_ = st.Update(func(txn store.Txn) error { txn.Notify("t", "rolled-back"); return errors.New("no") })
	if err := st.Update(func(txn store.Txn) error {
		txn.Notify("t", "committed")
		return txn.Set([]byte("v1/n"), []byte("x"), 0)
	}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	// The notice is delivered in this process before Update returns (a shared store may
	// deliver it a second time through the database).
	if len(got) == 0 || got[0] != "committed" {
		t.Fatalf("notices right after Update: %q", got)
	}
	for _, k := range got {
		if k != "committed" {
			t.Fatalf("unexpected notice %q (all: %q)", k, got)
		}
	}
}

func testNotifySecond(t *testing.T, st store.Store, second func() store.Store) {
	if second == nil {
		t.Skip("a store of one process")
	}
	other := second()
	got := make(chan string, 16)
	other.Subscribe("t", func(key string) { got <- key })
	_ = st.Update(func(txn store.Txn) error { txn.Notify("t", "rolled-back"); return errors.New("no") })
	if err := st.Update(func(txn store.Txn) error {
		txn.Notify("t", "user:42")
		return txn.Set([]byte("v1/n"), []byte("x"), 0)
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case k := <-got:
		if k != "user:42" {
			t.Fatalf("the second instance got %q first, want user:42 (the key keeps its colons)", k)
		}
	case <-time.After(liveness):
		t.Fatalf("the second instance got no notice within %v", liveness)
	}
}

// testCounter increments one counter from many goroutines spread over a and b, each a
// read-modify-write transaction: serializable conflicts must make it end at exactly the
// number of increments.
func testCounter(t *testing.T, a, b store.Store) {
	const workers, each = 8, 25
	key := []byte("v1/counter")
	var hooks atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		st := a
		if w%2 == 1 {
			st = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				err := st.Update(func(txn store.Txn) error {
					var n uint64
					v, err := txn.Get(key)
					switch {
					case errors.Is(err, store.ErrNotFound):
					case err != nil:
						return err
					default:
						n = binary.BigEndian.Uint64(v)
					}
					txn.AfterCommit(func() { hooks.Add(1) })
					return txn.Set(key, binary.BigEndian.AppendUint64(nil, n+1), 0)
				})
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	gaveUp := 0
	for err := range errs {
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("increment: %v", err)
		}
		gaveUp++
	}
	if gaveUp > 0 {
		// The contract allows it (Update gives up after its retries); say it, it is a figure.
		t.Logf("%d of %d increments gave up with ErrConflict after the retries", gaveUp, workers*each)
	}
	v, ok := get(t, a, string(key))
	if !ok {
		t.Fatal("no counter")
	}
	committed := int64(workers*each - gaveUp)
	if n := binary.BigEndian.Uint64([]byte(v)); int64(n) != committed || hooks.Load() != committed {
		t.Fatalf("counter %d, AfterCommit hooks %d, want both %d (the committed increments)", n, hooks.Load(), committed)
	}
}

func testNextID(t *testing.T, a, b store.Store) {
	const workers, each = 6, 20
	var mu sync.Mutex
	seen := map[uint64]bool{}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		st := a
		if w%2 == 1 {
			st = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				id, err := st.NextID("conformance")
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if id == 0 || seen[id] {
					t.Errorf("NextID returned %d twice or zero", id)
				}
				seen[id] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != workers*each {
		t.Fatalf("%d distinct ids, want %d", len(seen), workers*each)
	}
	other, err := a.NextID("another")
	if err != nil || other == 0 {
		t.Fatalf("a second sequence: %d %v", other, err)
	}
}
