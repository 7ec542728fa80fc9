package store

import "sync"

// Change notices: the invalidation feed of the caches.
//
// A process keeps caches of what it read from the store (live sessions, 2FA status, the
// signing keys). A transaction that changes what such a cache derives from calls
// Txn.Notify(topic, key); once it has committed, every subscriber of the topic is called with
// the key, in this process at once (before Update returns) and, on a store shared by several
// processes, in the others as soon as the store delivers the notice (PostgreSQL: NOTIFY, which
// the database sends only on commit). A notice is never delivered for a transaction that did
// not commit. Topics and keys are short strings; an empty key means "everything of the topic".

// Topics of the change feed.
const (
	// TopicSessions: a session was revoked (key: the session id, or "" for several).
	TopicSessions = "sessions"
	// TopicTwoFactor: a user's 2FA state changed (key: the user id).
	TopicTwoFactor = "2fa"
	// TopicKeys: the signing keys changed (key "").
	TopicKeys = "keys"
	// TopicOutbox: a message was queued (key ""): the delivery workers wake.
	TopicOutbox = "outbox"
)

// Feed delivers committed change notices to this process's subscribers. Stores embed one.
type Feed struct {
	mu   sync.RWMutex
	subs map[string][]func(key string)
}

// Subscribe registers fn for the notices of topic. fn must be quick and must not call the
// store (it runs on the committing goroutine or the store's listener).
func (f *Feed) Subscribe(topic string, fn func(key string)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.subs == nil {
		f.subs = map[string][]func(string){}
	}
	f.subs[topic] = append(f.subs[topic], fn)
}

// Publish calls the subscribers of topic with key.
func (f *Feed) Publish(topic, key string) {
	f.mu.RLock()
	subs := f.subs[topic]
	f.mu.RUnlock()
	for _, fn := range subs {
		fn(key)
	}
}

// PublishAll calls every subscriber of every topic with "" (a store that lost its connection
// to the others' notices may have missed some: everything is invalid).
func (f *Feed) PublishAll() {
	f.mu.RLock()
	var all []func(string)
	for _, subs := range f.subs {
		all = append(all, subs...)
	}
	f.mu.RUnlock()
	for _, fn := range all {
		fn("")
	}
}
