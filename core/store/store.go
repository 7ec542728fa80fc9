// Package store is Gatehouse's persistence: a small transactional key-value interface and its
// embedded implementation on Badger. Every committed write is synced to disk before Update
// returns, so a response sent after Update survives a kill -9.
package store

import (
	"errors"
	"io"
	"time"
)

// Errors returned by the store.
var (
	// ErrNotFound is returned by Txn.Get when the key does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict is returned by Update when a transaction kept conflicting after the retries.
	ErrConflict = errors.New("store: transaction conflict")
	// ErrUnavailable wraps a failure to reach the database (a store on a server: PostgreSQL
	// down, unreachable, shutting down or read-only during a failover). The change was not
	// made, or (a connection lost during the commit) made whole; the API answers 503
	// STORE_UNAVAILABLE.
	ErrUnavailable = errors.New("store: unavailable")
)

// Layout is the version prefix of every key; a layout change gets a new prefix and a migration.
const Layout = "v1/"

// Key joins parts into a key under the current layout.
func Key(parts ...string) []byte {
	n := len(Layout)
	for _, p := range parts {
		n += len(p) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, Layout...)
	for i, p := range parts {
		if i > 0 {
			b = append(b, '/')
		}
		b = append(b, p...)
	}
	return b
}

// Txn is one transaction. Reads see a consistent snapshot; writes apply atomically at commit.
type Txn interface {
	// Get returns the value of key, or ErrNotFound. The slice is valid until the transaction ends.
	Get(key []byte) ([]byte, error)
	// Set writes key. A positive ttl makes the key expire after it.
	Set(key, value []byte, ttl time.Duration) error
	// Delete removes key; deleting a missing key is not an error.
	Delete(key []byte) error
	// Scan calls fn for each key with the prefix, in key order, until fn returns false.
	Scan(prefix []byte, fn func(key, value []byte) bool) error
	// AfterCommit registers fn to run once the transaction has committed durably (never when it
	// fails or is retried). In a read-only transaction fn runs when it ends.
	AfterCommit(fn func())
	// Notify publishes a change notice (see Feed) to every process on the store once the
	// transaction has committed; in a read-only transaction it is an error to call it.
	Notify(topic, key string)
}

// Store is a transactional key-value store.
type Store interface {
	// View runs fn in a read-only transaction.
	View(fn func(Txn) error) error
	// Update runs fn in a read-write transaction and commits it durably. On a conflict with a
	// concurrent transaction fn runs again (so it must have no side effects outside txn).
	Update(fn func(Txn) error) error
	// Subscribe registers fn for the change notices of topic committed by any process on the
	// store (see Feed).
	Subscribe(topic string, fn func(key string))
	// NextID returns a new unique positive identifier for the named sequence.
	NextID(name string) (uint64, error)
	// Size returns the bytes the store uses on disk.
	Size() int64
	// Close flushes and closes the store.
	Close() error
}

// Optional abilities of a store, asked for with a type assertion by the parts that need them.

// Backupper writes a full, consistent snapshot of the store while it stays online.
type Backupper interface {
	Backup(w io.Writer) error
}

// Readier reports whether the store can serve (open, and its database reachable).
type Readier interface {
	Ready() error
}

// Seeker is a transaction that can start a prefix scan at a key (both stores are).
type Seeker interface {
	// ScanFrom is Scan of prefix starting at the first key >= start.
	ScanFrom(prefix, start []byte, fn func(key, value []byte) bool) error
}

// ScanFrom calls fn for each key with prefix from the first key >= start, in key order, until
// fn returns false: through the transaction's Seeker when it is one, else by skipping.
func ScanFrom(txn Txn, prefix, start []byte, fn func(key, value []byte) bool) error {
	if s, ok := txn.(Seeker); ok {
		return s.ScanFrom(prefix, start, fn)
	}
	return txn.Scan(prefix, func(k, v []byte) bool {
		if string(k) < string(start) {
			return true
		}
		return fn(k, v)
	})
}
