package store

import (
	"sync"
	"sync/atomic"
)

// Cache is a bounded read-through cache of values derived from the store. It is correct for a
// store written by this process only (the embedded one): after a commit that changes what a
// key's value derives from, call Invalidate. A load that raced with an invalidation is not
// cached, so a stale value never outlives the Invalidate call.
type Cache[K comparable, V any] struct {
	// Max bounds the entries; past it about an eighth are dropped. Default 65536.
	Max int

	mu    sync.RWMutex
	m     map[K]V
	epoch atomic.Uint64
}

// Get returns the cached value of k, or loads it. load reports whether the value may be cached
// (for example, not a "not found").
func (c *Cache[K, V]) Get(k K, load func() (V, bool, error)) (V, error) {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return v, nil
	}
	epoch := c.epoch.Load()
	v, cacheable, err := load()
	if err != nil || !cacheable {
		return v, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch.Load() != epoch {
		return v, nil // invalidated while loading: the value may be stale
	}
	if c.m == nil {
		c.m = map[K]V{}
	}
	limit := c.Max
	if limit <= 0 {
		limit = 65536
	}
	if len(c.m) >= limit {
		n := 0
		for key := range c.m {
			delete(c.m, key)
			if n++; n >= limit/8 {
				break
			}
		}
	}
	c.m[k] = v
	return v, nil
}

// Invalidate drops keys (all entries when none is given). Call it after the commit.
func (c *Cache[K, V]) Invalidate(keys ...K) {
	c.epoch.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(keys) == 0 {
		c.m = nil
		return
	}
	for _, k := range keys {
		delete(c.m, k)
	}
}
