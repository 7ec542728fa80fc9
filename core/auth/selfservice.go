package auth

import (
	"crypto/subtle"
	"errors"
	"sort"
	"time"

	"github.com/gatehouse/gatehouse/core/account"
	"github.com/gatehouse/gatehouse/core/failure"
	"github.com/gatehouse/gatehouse/core/session"
	"github.com/gatehouse/gatehouse/core/store"
)

// CodeSessionNotFound is the 404 of DELETE /user/sessions/{id} for a session that is not one of
// the caller's (another user's, an ended one, or no session at all).
const CodeSessionNotFound = "SESSION_NOT_FOUND"

// Profile is what GET /user shows the account holder.
type Profile struct {
	UserID        uint64    `json:"userId"`
	Email         string    `json:"email"`
	CreatedAt     time.Time `json:"createdAt"`
	EmailVerified bool      `json:"emailVerified"`
}

// Profile returns p's account.
func (s *Service) Profile(p Principal) (Profile, error) {
	var out Profile
	err := s.Store.View(func(txn store.Txn) error {
		acct, err := account.Get(txn, p.UserID)
		if errors.Is(err, account.ErrNotFound) {
			return failure.Unauthorized(failure.CodeTokenRevoked)
		}
		if err != nil {
			return err
		}
		out = Profile{UserID: acct.ID, Email: acct.Email, CreatedAt: acct.CreatedAt, EmailVerified: acct.EmailVerified}
		return nil
	})
	return out, err
}

// SessionInfo is one session as GET /user/sessions shows it. ID is the session's public id
// (session.PublicID), not the id inside its tokens.
type SessionInfo struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"createdAt"`
	LastUsedAt time.Time `json:"lastUsedAt"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"userAgent"`
	Current    bool      `json:"current"`
}

// Sessions lists p's live sessions, the most recently used first.
func (s *Service) Sessions(p Principal) ([]SessionInfo, error) {
	var out []SessionInfo
	err := s.Store.View(func(txn store.Txn) error {
		list, err := session.List(txn, p.UserID)
		if err != nil {
			return err
		}
		now := s.Now()
		out = make([]SessionInfo, 0, len(list))
		for _, sess := range list {
			if !now.Before(sess.ExpiresAt) {
				continue
			}
			last := sess.LastUsedAt
			if last.IsZero() {
				last = sess.CreatedAt
			}
			out = append(out, SessionInfo{ID: session.PublicID(sess.ID), CreatedAt: sess.CreatedAt, LastUsedAt: last,
				IP: sess.IP, UserAgent: sess.UserAgent, Current: sess.ID == p.Claims.SessionID})
		}
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].LastUsedAt.After(out[j].LastUsedAt) })
	return out, err
}

// RevokeSession ends the session of p's user whose public id is publicID (p's own included);
// 404 SESSION_NOT_FOUND when the user has no such session.
func (s *Service) RevokeSession(p Principal, publicID string) error {
	return s.Store.Update(func(txn store.Txn) error {
		list, err := session.List(txn, p.UserID)
		if err != nil {
			return err
		}
		for _, sess := range list {
			if subtle.ConstantTimeCompare([]byte(session.PublicID(sess.ID)), []byte(publicID)) == 1 {
				return session.Revoke(txn, p.UserID, sess.ID)
			}
		}
		return failure.New(404, CodeSessionNotFound)
	})
}

// markVerified records in txn that account userID's address receives mail.
func (s *Service) markVerified(txn store.Txn, userID uint64) error {
	acct, err := account.Get(txn, userID)
	if err != nil || acct.EmailVerified {
		return err
	}
	acct.EmailVerified = true
	return account.Put(txn, acct)
}
