package store

import (
	"sync"
	"sync/atomic"
	"testing"
)

func TestCacheInvalidationWinsOverARacingLoad(t *testing.T) {
	var c Cache[string, int]
	var source atomic.Int64
	source.Store(1)
	// A load that reads the old value, then an invalidation, then the load's insert: the stale
	// value must not be cached.
	v, _ := c.Get("k", func() (int, bool, error) {
		old := int(source.Load())
		source.Store(2)
		c.Invalidate("k")
		return old, true, nil
	})
	if v != 1 {
		t.Fatalf("got %d", v)
	}
	v, _ = c.Get("k", func() (int, bool, error) { return int(source.Load()), true, nil })
	if v != 2 {
		t.Fatalf("a stale value was cached: got %d, want 2", v)
	}
}

func TestCacheHammer(t *testing.T) {
	c := Cache[int, int64]{Max: 64}
	var source, published atomic.Int64 // published: the value whose invalidation completed
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				k := i % 100
				if g == 0 && i%10 == 0 {
					n := source.Add(1)
					c.Invalidate()
					published.Store(n)
					continue
				}
				before := published.Load()
				v, _ := c.Get(k, func() (int64, bool, error) { return source.Load(), true, nil })
				if v < before {
					t.Errorf("stale value %d after invalidation at %d", v, before)
					return
				}
			}
		}(g)
	}
	wg.Wait()
}
