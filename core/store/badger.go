package store

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/hashicorp/go-hclog"
)

// updateAttempts bounds the retries of a conflicting Update.
const updateAttempts = 20

// Badger is the embedded Store on a Badger database in one folder.
type Badger struct {
	db  *badger.DB
	dir string

	mu   sync.Mutex
	seqs map[string]*badger.Sequence
	// feed delivers change notices; one process owns a Badger folder, so local is all.
	feed Feed
}

var _ Store = (*Badger)(nil)

// BadgerOptions size the embedded store's memory. The zero value of each field is the default
// for a small box beside it; records are tiny, so a big store grows its caches, not its tables.
type BadgerOptions struct {
	// MemTableSize is the size of one memtable (Badger keeps up to five). Default 16 MiB.
	MemTableSize int64
	// BlockCacheSize is the cache of decompressed table blocks. Default 32 MiB.
	BlockCacheSize int64
	// IndexCacheSize is the cache of table indexes and bloom filters. Default 16 MiB.
	IndexCacheSize int64
}

// OpenBadger opens (creating if needed) the Badger store in dir with the default sizes. Writes
// are synced (SyncWrites true: Badger's default is false, and we rely on durability).
func OpenBadger(dir string, logger hclog.Logger) (*Badger, error) {
	return OpenBadgerWith(dir, logger, BadgerOptions{})
}

// OpenBadgerWith is OpenBadger with the memory sizes of o.
func OpenBadgerWith(dir string, logger hclog.Logger, o BadgerOptions) (*Badger, error) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create %s: %w", dir, err)
	}
	size := func(v, def int64) int64 {
		if v > 0 {
			return v
		}
		return def
	}
	opts := badger.DefaultOptions(dir).
		WithSyncWrites(true).
		WithLogger(badgerLogger{logger}).
		WithNumVersionsToKeep(1).
		WithCompactL0OnClose(true).
		WithMemTableSize(size(o.MemTableSize, 16<<20)).
		WithValueLogFileSize(64 << 20).
		WithBlockCacheSize(size(o.BlockCacheSize, 32<<20)).
		WithIndexCacheSize(size(o.IndexCacheSize, 16<<20)).
		WithNumCompactors(2)
	db, err := badger.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dir, err)
	}
	return &Badger{db: db, dir: dir, seqs: map[string]*badger.Sequence{}}, nil
}

// ErrClosed is returned by Ready once the store is closed.
var ErrClosed = errors.New("store: closed")

// Ready implements Readier.
func (b *Badger) Ready() error {
	if b.db.IsClosed() {
		return ErrClosed
	}
	return nil
}

// Dir is the store's folder.
func (b *Badger) Dir() string { return b.dir }

// DB exposes the Badger database for backup and restore.
func (b *Badger) DB() *badger.DB { return b.db }

// View implements Store.
func (b *Badger) View(fn func(Txn) error) error {
	x := &badgerTxn{feed: &b.feed}
	err := b.db.View(func(t *badger.Txn) error { x.t = t; return fn(x) })
	x.runHooks(err)
	return err
}

// Update implements Store. Conflicts are retried with a short jittered backoff.
func (b *Badger) Update(fn func(Txn) error) error {
	for attempt := 0; attempt < updateAttempts; attempt++ {
		x := &badgerTxn{feed: &b.feed}
		err := b.db.Update(func(t *badger.Txn) error { x.t = t; return fn(x) })
		if !errors.Is(err, badger.ErrConflict) {
			x.runHooks(err)
			return err
		}
		time.Sleep(time.Duration(rand.IntN(200*(attempt+1))) * time.Microsecond)
	}
	return ErrConflict
}

// NextID implements Store with a Badger sequence; leased ranges are durable, so an id is never
// handed out twice, even after a crash (a crash may leave a gap).
func (b *Badger) NextID(name string) (uint64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	seq, ok := b.seqs[name]
	if !ok {
		var err error
		seq, err = b.db.GetSequence(Key("seq", name), 64)
		if err != nil {
			return 0, fmt.Errorf("store: sequence %s: %w", name, err)
		}
		b.seqs[name] = seq
	}
	for {
		id, err := seq.Next()
		if err != nil {
			return 0, fmt.Errorf("store: sequence %s: %w", name, err)
		}
		if id > 0 {
			return id, nil
		}
	}
}

// Size implements Store: the bytes the store's files take on disk now (Badger's own figure is
// refreshed only once a minute, and counts the value log's preallocated size).
func (b *Badger) Size() int64 {
	var total int64
	_ = filepath.WalkDir(b.dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if info, err := d.Info(); err == nil {
			total += diskUsage(info)
		}
		return nil
	})
	return total
}

// Close implements Store: releases sequences, then closes the database.
func (b *Badger) Close() error {
	b.mu.Lock()
	var errs []error
	for _, seq := range b.seqs {
		errs = append(errs, seq.Release())
	}
	b.seqs = map[string]*badger.Sequence{}
	b.mu.Unlock()
	errs = append(errs, b.db.Close())
	return errors.Join(errs...)
}

type badgerTxn struct {
	t     *badger.Txn
	hooks []func()
	feed  *Feed
}

func (x *badgerTxn) AfterCommit(fn func()) { x.hooks = append(x.hooks, fn) }

func (x *badgerTxn) Notify(topic, key string) {
	x.AfterCommit(func() { x.feed.Publish(topic, key) })
}

// Subscribe implements Store.
func (b *Badger) Subscribe(topic string, fn func(key string)) { b.feed.Subscribe(topic, fn) }

func (x *badgerTxn) runHooks(err error) {
	if err != nil {
		return
	}
	for _, fn := range x.hooks {
		fn()
	}
}

func (x *badgerTxn) Get(key []byte) ([]byte, error) {
	item, err := x.t.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return item.ValueCopy(nil)
}

func (x *badgerTxn) Set(key, value []byte, ttl time.Duration) error {
	e := badger.NewEntry(key, value)
	if ttl > 0 {
		e = e.WithTTL(ttl)
	}
	return x.t.SetEntry(e)
}

func (x *badgerTxn) Delete(key []byte) error { return x.t.Delete(key) }

func (x *badgerTxn) Scan(prefix []byte, fn func(key, value []byte) bool) error {
	return x.ScanFrom(prefix, prefix, fn)
}

// ScanFrom implements Seeker.
func (x *badgerTxn) ScanFrom(prefix, start []byte, fn func(key, value []byte) bool) error {
	if string(start) < string(prefix) {
		start = prefix
	}
	it := x.t.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: false})
	defer it.Close()
	for it.Seek(start); it.ValidForPrefix(prefix); it.Next() {
		item := it.Item()
		v, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		if !fn(item.KeyCopy(nil), v) {
			return nil
		}
	}
	return nil
}

// badgerLogger sends Badger's logs to hclog, one level down (Badger is chatty at info).
type badgerLogger struct{ l hclog.Logger }

func (b badgerLogger) Errorf(f string, a ...any)   { b.l.Error(fmt.Sprintf(f, a...)) }
func (b badgerLogger) Warningf(f string, a ...any) { b.l.Warn(fmt.Sprintf(f, a...)) }
func (b badgerLogger) Infof(f string, a ...any)    { b.l.Debug(fmt.Sprintf(f, a...)) }
func (b badgerLogger) Debugf(f string, a ...any)   { b.l.Trace(fmt.Sprintf(f, a...)) }

// Backup writes a full, consistent snapshot of the store to w as a store-neutral dump (see
// Export) while the store stays online.
func (b *Badger) Backup(w io.Writer) error { return Export(b, w) }

// Restore loads a backup into the store: a dump (see Export), or Badger's own backup stream
// (what Backup wrote before dumps). It is meant for an empty store.
func (b *Badger) Restore(r io.Reader) error {
	br := bufio.NewReader(r)
	if head, _ := br.Peek(len(DumpMagic)); IsDump(head) {
		return Import(b, br)
	}
	return b.db.Load(br, 256)
}

// ScanExpiry implements ExpiryScanner.
func (x *badgerTxn) ScanExpiry(prefix []byte, fn func(key, value []byte, expiresAt time.Time) bool) error {
	it := x.t.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: false})
	defer it.Close()
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		item := it.Item()
		v, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		var at time.Time
		if e := item.ExpiresAt(); e > 0 {
			at = time.Unix(int64(e), 0)
		}
		if !fn(item.KeyCopy(nil), v, at) {
			return nil
		}
	}
	return nil
}

// SetExpiresAt implements ExpirySetter (Badger keeps expiry times in whole seconds: rounded up).
func (x *badgerTxn) SetExpiresAt(key, value []byte, expiresAt time.Time) error {
	e := badger.NewEntry(key, value)
	if !expiresAt.IsZero() {
		sec := expiresAt.Unix()
		if expiresAt.After(time.Unix(sec, 0)) {
			sec++
		}
		e.ExpiresAt = uint64(sec)
	}
	return x.t.SetEntry(e)
}

// Empty reports whether the store holds no key.
func (b *Badger) Empty() (bool, error) {
	empty := true
	err := b.View(func(txn Txn) error {
		return txn.Scan([]byte(Layout), func(_, _ []byte) bool { empty = false; return false })
	})
	return empty, err
}
