package limit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

// What unauthenticated traffic can make the limiter store is bounded: the counters of subjects
// that are not accounts (unknown login names, addresses a reset or a code was asked for) do not
// get a record each. Each lives as one entry of one of UnknownBuckets bucket records per
// factor and record kind, chosen by a keyed hash of the subject; a bucket keeps at most
// UnknownBucketEntries entries, dropping expired ones first and then the oldest. So a client
// that sprays distinct names fills at most UnknownBuckets × UnknownBucketEntries entries per
// factor (a few MiB), however long it sprays, and every guess on an unknown name still writes
// one record in one synced commit, like a guess on an account.
const (
	UnknownBuckets       = 1024
	UnknownBucketEntries = 32
)

// bucketBounds are the sizes of the unknown subjects' buckets (the constants, smaller in tests).
type bucketBounds struct{ count, entries int }

// slot is where the state of one (factor, subject) lives: a record of its own (entry empty)
// or an entry of a bucket record.
type slot struct {
	key   []byte
	entry string
}

func (s slot) lockKey() string { return string(s.key) + "\x00" + s.entry }

// slotOf places the state of kind ("limit" or "send") of (f, s).
func (l *Limiter) slotOf(kind string, f Factor, s Subject) slot {
	if s.Known {
		return slot{key: store.Key(kind, f.Name, s.Key)}
	}
	mac := hmac.New(sha256.New, l.unknownKey)
	mac.Write([]byte(kind))
	mac.Write([]byte{0})
	mac.Write([]byte(f.Name))
	mac.Write([]byte{0})
	mac.Write([]byte(s.Key))
	sum := mac.Sum(nil)
	bucket := binary.BigEndian.Uint32(sum) % uint32(l.buckets.count)
	return slot{
		key:   store.Key(kind+"-unknown", f.Name, strconv.FormatUint(uint64(bucket), 10)),
		entry: hex.EncodeToString(sum[4:16]),
	}
}

// bucketEntry is one unknown subject's state inside a bucket record.
type bucketEntry struct {
	Value   json.RawMessage `json:"v"`
	Expires time.Time       `json:"e"`
}

func readBucket(txn store.Txn, key []byte) (map[string]bucketEntry, error) {
	v, err := txn.Get(key)
	if errors.Is(err, store.ErrNotFound) {
		return map[string]bucketEntry{}, nil
	}
	if err != nil {
		return nil, err
	}
	b := map[string]bucketEntry{}
	if err := json.Unmarshal(v, &b); err != nil {
		return nil, err
	}
	return b, nil
}

// load reads the state at sl into v; found is false when there is none (or it expired).
func (l *Limiter) load(txn store.Txn, sl slot, v any) (found bool, err error) {
	if sl.entry == "" {
		raw, err := txn.Get(sl.key)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return true, json.Unmarshal(raw, v)
	}
	b, err := readBucket(txn, sl.key)
	if err != nil {
		return false, err
	}
	e, ok := b[sl.entry]
	if !ok || !l.now().Before(e.Expires) {
		return false, nil
	}
	return true, json.Unmarshal(e.Value, v)
}

// save writes v at sl, kept for ttl.
func (l *Limiter) save(txn store.Txn, sl slot, v any, ttl time.Duration) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if sl.entry == "" {
		return txn.Set(sl.key, raw, ttl)
	}
	b, err := readBucket(txn, sl.key)
	if err != nil {
		return err
	}
	now := l.now()
	b[sl.entry] = bucketEntry{Value: raw, Expires: now.Add(ttl).UTC()}
	return l.writeBucket(txn, sl.key, b, now)
}

// remove deletes the state at sl.
func (l *Limiter) remove(txn store.Txn, sl slot) error {
	if sl.entry == "" {
		return txn.Delete(sl.key)
	}
	b, err := readBucket(txn, sl.key)
	if err != nil {
		return err
	}
	if _, ok := b[sl.entry]; !ok {
		return nil
	}
	delete(b, sl.entry)
	return l.writeBucket(txn, sl.key, b, l.now())
}

// writeBucket drops expired entries, then the ones that expire first while over the bound,
// and writes the bucket to live as long as its last entry.
func (l *Limiter) writeBucket(txn store.Txn, key []byte, b map[string]bucketEntry, now time.Time) error {
	for k, e := range b {
		if !now.Before(e.Expires) {
			delete(b, k)
		}
	}
	if len(b) > l.buckets.entries {
		keys := make([]string, 0, len(b))
		for k := range b {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return b[keys[i]].Expires.Before(b[keys[j]].Expires) })
		for _, k := range keys[:len(b)-l.buckets.entries] {
			delete(b, k)
		}
	}
	if len(b) == 0 {
		return txn.Delete(key)
	}
	var last time.Time
	for _, e := range b {
		if e.Expires.After(last) {
			last = e.Expires
		}
	}
	raw, err := json.Marshal(b)
	if err != nil {
		return err
	}
	return txn.Set(key, raw, last.Sub(now)+time.Second)
}
