// Package session keeps login sessions. Every token carries its session id; a token whose
// session is gone (logged out, revoked, expired) is refused with TOKEN_REVOKED.
package session

import (
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

// ErrNotFound is returned for a session that does not exist (revoked or expired).
var ErrNotFound = errors.New("session: not found")

// Session is one login.
type Session struct {
	ID        string    `json:"id"`
	UserID    uint64    `json:"userId"`
	CreatedAt time.Time `json:"createdAt"`
	ExpiresAt time.Time `json:"expiresAt"`
}

func sessionKey(id string) []byte { return store.Key("session", id) }

func userPrefix(userID uint64) []byte {
	return append(store.Key("usersession", strconv.FormatUint(userID, 10)), '/')
}

func userIndexKey(userID uint64, id string) []byte { return append(userPrefix(userID), id...) }

// stampKey is written by every Put and read by RevokeAll. A revocation scans the user's
// sessions, and a scan does not make a transaction conflict with one that adds a key to the
// range meanwhile; the stamp does: a session opened by a transaction that commits while a
// RevokeAll is running makes the RevokeAll run again and revoke it too.
func stampKey(userID uint64) []byte {
	return store.Key("usersession-stamp", strconv.FormatUint(userID, 10))
}

// Put writes s, expiring at s.ExpiresAt (also used to extend a session on refresh).
func Put(txn store.Txn, s Session, now time.Time) error {
	ttl := s.ExpiresAt.Sub(now)
	if ttl <= 0 {
		return errors.New("session: already expired")
	}
	v, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if err := txn.Set(sessionKey(s.ID), v, ttl); err != nil {
		return err
	}
	if err := txn.Set(stampKey(s.UserID), []byte(s.ID), 0); err != nil {
		return err
	}
	return txn.Set(userIndexKey(s.UserID, s.ID), nil, ttl)
}

// Get reads session id.
func Get(txn store.Txn, id string) (Session, error) {
	v, err := txn.Get(sessionKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return Session{}, ErrNotFound
	}
	if err != nil {
		return Session{}, err
	}
	var s Session
	err = json.Unmarshal(v, &s)
	return s, err
}

// Revoke deletes session id of userID. Once the transaction commits, every process on the
// store is told (store.TopicSessions), so none keeps the session in a cache.
func Revoke(txn store.Txn, userID uint64, id string) error {
	if err := revoke(txn, userID, id); err != nil {
		return err
	}
	txn.Notify(store.TopicSessions, id)
	return nil
}

func revoke(txn store.Txn, userID uint64, id string) error {
	if err := txn.Delete(sessionKey(id)); err != nil {
		return err
	}
	return txn.Delete(userIndexKey(userID, id))
}

// RevokeAll deletes every session of userID except keep (pass "" to keep none).
func RevokeAll(txn store.Txn, userID uint64, keep string) error {
	if _, err := txn.Get(stampKey(userID)); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	prefix := userPrefix(userID)
	var ids []string
	if err := txn.Scan(prefix, func(k, _ []byte) bool {
		if id := string(k[len(prefix):]); id != keep {
			ids = append(ids, id)
		}
		return true
	}); err != nil {
		return err
	}
	for _, id := range ids {
		if err := revoke(txn, userID, id); err != nil {
			return err
		}
	}
	switch {
	case len(ids) == 1:
		txn.Notify(store.TopicSessions, ids[0])
	case len(ids) > 1:
		txn.Notify(store.TopicSessions, "")
	}
	return nil
}
