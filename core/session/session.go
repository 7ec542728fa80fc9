// Package session keeps login sessions. Every token carries its session id; a token whose
// session is gone (logged out, revoked, expired) is refused with TOKEN_REVOKED.
package session

import (
	"crypto/sha256"
	"encoding/base64"
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
	// LastUsedAt is the last time a token of the session was refreshed (or the session
	// opened): written only when the session is extended, not on every request.
	LastUsedAt time.Time `json:"lastUsedAt,omitempty"`
	// IP and UserAgent are the client address and User-Agent (cut to MaxUserAgent bytes) of
	// the login that opened the session.
	IP        string `json:"ip,omitempty"`
	UserAgent string `json:"userAgent,omitempty"`
}

// MaxUserAgent is the longest User-Agent kept with a session, in bytes.
const MaxUserAgent = 256

// PublicID is the id a session is shown by to its user (GET /user/sessions) and named by to end
// it: derived from the session id, which stays inside the tokens. The session id is not a
// credential (a token needs the signature too), but it is in every token's claims, which other
// services verifying access tokens see and may log; the public id ties a listed session to
// nothing outside the list.
func PublicID(id string) string {
	sum := sha256.Sum256([]byte("gatehouse session public id\x00" + id))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// TrimUserAgent cuts ua to MaxUserAgent bytes without splitting a UTF-8 sequence.
func TrimUserAgent(ua string) string {
	if len(ua) <= MaxUserAgent {
		return ua
	}
	cut := MaxUserAgent
	for cut > 0 && ua[cut]&0xC0 == 0x80 {
		cut--
	}
	return ua[:cut]
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

// List returns the live sessions of userID (those whose record has not expired).
func List(txn store.Txn, userID uint64) ([]Session, error) {
	prefix := userPrefix(userID)
	var ids []string
	if err := txn.Scan(prefix, func(k, _ []byte) bool {
		ids = append(ids, string(k[len(prefix):]))
		return true
	}); err != nil {
		return nil, err
	}
	out := make([]Session, 0, len(ids))
	for _, id := range ids {
		s, err := Get(txn, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if s.UserID == userID {
			out = append(out, s)
		}
	}
	return out, nil
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

// Count returns how many live sessions userID has.
func Count(txn store.Txn, userID uint64) (int, error) {
	n := 0
	err := txn.Scan(userPrefix(userID), func(_, _ []byte) bool { n++; return true })
	return n, err
}

// DeleteUser revokes every session of userID and removes its per-user keys (the index and the
// stamp): for the deletion of the account.
func DeleteUser(txn store.Txn, userID uint64) error {
	if err := RevokeAll(txn, userID, ""); err != nil {
		return err
	}
	return txn.Delete(stampKey(userID))
}
