package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"sort"
	"time"

	"github.com/gatehouse/gatehouse/core/account"
	"github.com/gatehouse/gatehouse/core/audit"
	"github.com/gatehouse/gatehouse/core/failure"
	"github.com/gatehouse/gatehouse/core/limit"
	"github.com/gatehouse/gatehouse/core/session"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/core/token"
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

// RevokeSession ends the session of p's user whose public id is publicID (p's own included),
// with its audit event; 404 SESSION_NOT_FOUND when the user has no such session.
func (s *Service) RevokeSession(ctx context.Context, p Principal, publicID string) error {
	return s.Store.Update(func(txn store.Txn) error {
		list, err := session.List(txn, p.UserID)
		if err != nil {
			return err
		}
		for _, sess := range list {
			if subtle.ConstantTimeCompare([]byte(session.PublicID(sess.ID)), []byte(publicID)) == 1 {
				if err := session.Revoke(txn, p.UserID, sess.ID); err != nil {
					return err
				}
				return s.Audit.Record(ctx, txn, audit.Event{Type: audit.SessionRevoked, UserID: p.UserID, Detail: map[string]string{"by": "user"}})
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

// Eraser deletes an account and everything of it in a transaction (the admin service's Erase,
// the one deletion both the operators' and the holder's go through).
type Eraser func(ctx context.Context, txn store.Txn, userID uint64) error

// DeleteAccount deletes p's account with erase and mails the account-deleted notice to its
// address, in one transaction. It needs a proof of presence: a sudo token; an account without
// an active 2FA method cannot get one, so it proves presence with its password instead (pw,
// checked under the password guess limiter shared with login). Both are checked against the
// state in force at commit: a session revoked, or a 2FA method enabled, meanwhile refuses it.
func (s *Service) DeleteAccount(ctx context.Context, p Principal, pw string, erase Eraser) error {
	deleteIn := func(txn store.Txn) error {
		if _, err := session.Get(txn, p.Claims.SessionID); errors.Is(err, session.ErrNotFound) {
			return failure.Unauthorized(failure.CodeTokenRevoked)
		} else if err != nil {
			return err
		}
		acct, err := account.Get(txn, p.UserID)
		if errors.Is(err, account.ErrNotFound) {
			return failure.Unauthorized(failure.CodeTokenRevoked)
		}
		if err != nil {
			return err
		}
		if p.Claims.Type != token.Sudo {
			active, err := s.SecondFactors.HasActiveMethod(txn, p.UserID)
			if err != nil {
				return err
			}
			if active {
				return failure.Unauthorized(failure.CodeSudoTokenRequired)
			}
		}
		if err := erase(ctx, txn, p.UserID); err != nil {
			return err
		}
		// After the erase, which drops the mail queued to the address.
		return s.NotifyAddress(ctx, txn, NoticeAccountDeleted, acct.Email, nil)
	}
	if p.Claims.Type == token.Sudo {
		return s.Store.Update(deleteIn)
	}
	var acct account.Account
	if err := s.Store.View(func(txn store.Txn) error {
		active, err := s.SecondFactors.HasActiveMethod(txn, p.UserID)
		if err != nil {
			return err
		}
		if active {
			return failure.Unauthorized(failure.CodeSudoTokenRequired)
		}
		acct, err = account.Get(txn, p.UserID)
		if errors.Is(err, account.ErrNotFound) {
			return failure.Unauthorized(failure.CodeTokenRevoked)
		}
		return err
	}); err != nil {
		return err
	}
	if pw == "" {
		return failure.BadRequest("body must have required property 'password'")
	}
	return s.Limiter.Guess(limit.Password, userSubject(acct.ID), func() (limit.Outcome, func(store.Txn) error, error) {
		if outcome, err := s.verifyGuess(ctx, acct, pw); outcome != limit.Right {
			return outcome, nil, err
		}
		return limit.Right, func(txn store.Txn) error {
			fresh, err := account.Get(txn, acct.ID)
			if err == nil && fresh.PasswordHash != acct.PasswordHash {
				return failure.Unauthorized(failure.CodePasswordIncorrect)
			}
			return deleteIn(txn)
		}, nil
	})
}
