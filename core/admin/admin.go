// Package admin holds the operators' use cases: finding, creating (or importing), disabling,
// deleting an account, resetting its 2FA, revoking its sessions, clearing its guess counters,
// and reading the audit log. Each change is one store transaction with its audit event; HTTP
// lives in core/api (admin_routes.go).
package admin

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/core/account"
	"github.com/gatehouse/gatehouse/core/audit"
	"github.com/gatehouse/gatehouse/core/auth"
	"github.com/gatehouse/gatehouse/core/failure"
	"github.com/gatehouse/gatehouse/core/limit"
	"github.com/gatehouse/gatehouse/core/mail"
	"github.com/gatehouse/gatehouse/core/password"
	"github.com/gatehouse/gatehouse/core/reqctx"
	"github.com/gatehouse/gatehouse/core/session"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/core/twofactor"
)

// Message codes of the admin API.
const (
	CodeUserNotFound  = "USER_NOT_FOUND"
	CodeInvalidCursor = "INVALID_CURSOR"
	CodeInvalidHash   = "UNSUPPORTED_PASSWORD_HASH"
)

// Outbox is the part of the mail outbox a deletion needs: dropping the account's queued mail.
type Outbox interface {
	DropTo(txn store.Txn, addresses []string) (int, error)
}

// Service runs the operators' use cases.
type Service struct {
	Store     store.Store
	Auth      *auth.Service
	TwoFactor *twofactor.Service
	Outbox    Outbox
	Audit     *audit.Log
}

// User is an account as the admin API shows it.
type User struct {
	UserID      uint64     `json:"userId"`
	Email       string     `json:"email"`
	CreatedAt   time.Time  `json:"createdAt"`
	Disabled    bool       `json:"disabled"`
	Methods     []string   `json:"methods"`
	LastLoginAt *time.Time `json:"lastLoginAt"`
}

// UserDetail is one account with its sessions and guess counters.
type UserDetail struct {
	User
	Sessions  int             `json:"sessions"`
	Throttles []limit.Counter `json:"throttles"`
}

func notFound() error { return failure.New(404, CodeUserNotFound) }

func (s *Service) view(txn store.Txn, a account.Account) (User, error) {
	active, err := twofactor.ActiveMethods(txn, a.ID)
	if err != nil {
		return User{}, err
	}
	u := User{UserID: a.ID, Email: a.Email, CreatedAt: a.CreatedAt, Disabled: a.Disabled, Methods: make([]string, len(active))}
	for i, e := range active {
		u.Methods[i] = e.Method
	}
	if !a.LastLoginAt.IsZero() {
		t := a.LastLoginAt
		u.LastLoginAt = &t
	}
	return u, nil
}

// getAccount reads account id in txn, or 404 USER_NOT_FOUND.
func getAccount(txn store.Txn, id uint64) (account.Account, error) {
	a, err := account.Get(txn, id)
	if errors.Is(err, account.ErrNotFound) {
		return a, notFound()
	}
	return a, err
}

// Page sizes of the user listing.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// List returns a page of accounts: all of them in key order, or those whose address starts
// with email (case-insensitive; a whole address matches itself), in address order; and the
// cursor of the next page ("" when this is the last).
func (s *Service) List(email, cursor string, limit int) ([]User, string, error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	kind, after, err := decodeCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	byEmail := email != ""
	if cursor != "" && (kind == 'e') != byEmail {
		return nil, "", failure.BadRequest(CodeInvalidCursor)
	}
	out := []User{}
	next := ""
	err = s.Store.View(func(txn store.Txn) error {
		var viewErr error
		collect := func(a account.Account) bool {
			if len(out) == limit {
				if byEmail {
					next = encodeCursor('e', account.NormalizeEmail(out[len(out)-1].Email))
				} else {
					next = encodeCursor('i', strconv.FormatUint(out[len(out)-1].UserID, 10))
				}
				return false
			}
			u, err := s.view(txn, a)
			if err != nil {
				viewErr = err
				return false
			}
			out = append(out, u)
			return true
		}
		if byEmail {
			err = account.ListByEmailPrefix(txn, email, after, collect)
		} else {
			var id uint64
			if after != "" {
				if id, err = strconv.ParseUint(after, 10, 64); err != nil {
					return failure.BadRequest(CodeInvalidCursor)
				}
			}
			err = account.List(txn, id, collect)
		}
		if err == nil {
			err = viewErr
		}
		return err
	})
	return out, next, err
}

func encodeCursor(kind byte, v string) string {
	return base64.RawURLEncoding.EncodeToString(append([]byte{kind, ':'}, v...))
}

func decodeCursor(c string) (byte, string, error) {
	if c == "" {
		return 0, "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) < 3 || (b[0] != 'i' && b[0] != 'e') || b[1] != ':' {
		return 0, "", failure.BadRequest(CodeInvalidCursor)
	}
	return b[0], string(b[2:]), nil
}

// Get returns account id with its session count and guess counters.
func (s *Service) Get(id uint64) (UserDetail, error) {
	var d UserDetail
	err := s.Store.View(func(txn store.Txn) error {
		a, err := getAccount(txn, id)
		if err != nil {
			return err
		}
		if d.User, err = s.view(txn, a); err != nil {
			return err
		}
		if d.Sessions, err = session.Count(txn, id); err != nil {
			return err
		}
		d.Throttles, err = s.Auth.Limiter.Counters(txn, id)
		return err
	})
	return d, err
}

// Create makes an account with a password (checked by the password policies, like a
// registration) or with an imported hash (argon2id, argon2i, bcrypt, scrypt or PBKDF2-SHA256,
// verified at its own parameters and replaced by the current argon2id at the next login).
func (s *Service) Create(ctx context.Context, email, pw, hash string) (uint64, error) {
	if (pw == "") == (hash == "") {
		return 0, failure.BadRequest("body must have exactly one of 'password' and 'passwordHash'")
	}
	if pw != "" {
		return s.Auth.Register(ctx, email, pw, true)
	}
	if !account.ValidEmail(email) {
		return 0, failure.BadRequest("body/email must match format \"email\"")
	}
	if s.Auth.DenyList != nil && s.Auth.DenyList.Denied(email) {
		return 0, failure.Forbidden(failure.CodeForbiddenMailDomain)
	}
	if err := password.CheckImported(hash); err != nil {
		return 0, failure.BadRequest(CodeInvalidHash)
	}
	id, err := s.Store.NextID("user")
	if err != nil {
		return 0, err
	}
	now := s.Auth.Now().UTC()
	acct := account.Account{ID: id, Email: email, PasswordHash: hash, CreatedAt: now, PasswordChangedAt: now}
	err = s.Store.Update(func(txn store.Txn) error {
		if err := account.Create(txn, acct); err != nil {
			return err
		}
		return s.Audit.Record(ctx, txn, audit.Event{Type: audit.AccountImported, UserID: id,
			Detail: map[string]string{"hash": password.Scheme(hash)}})
	})
	if err != nil {
		return 0, err
	}
	return id, nil
}

// SetDisabled disables (revoking every session) or enables account id.
func (s *Service) SetDisabled(ctx context.Context, id uint64, disabled bool) error {
	return s.Store.Update(func(txn store.Txn) error {
		a, err := getAccount(txn, id)
		if err != nil {
			return err
		}
		a.Disabled = disabled
		typ := audit.AccountEnabled
		a.DisabledAt = time.Time{}
		if disabled {
			typ = audit.AccountDisabled
			a.DisabledAt = s.Auth.Now().UTC()
		}
		if err := account.Put(txn, a); err != nil {
			return err
		}
		if disabled {
			if err := session.RevokeAll(txn, id, ""); err != nil {
				return err
			}
		}
		return s.Audit.Record(ctx, txn, audit.Event{Type: typ, UserID: id})
	})
}

// DeleteAccount deletes account id and everything of it (see Erase), with its audit event, in
// one transaction; 404 USER_NOT_FOUND when there is no such account. It is the deletion of the
// admin API and of the user's own DELETE /user (ctx's actor, if any, is recorded as who did it).
func (s *Service) DeleteAccount(ctx context.Context, id uint64) error {
	return s.Store.Update(func(txn store.Txn) error { return s.Erase(ctx, txn, id) })
}

// Erase deletes account id and everything of it in txn: the account and its email index
// entry, its sessions (and their per-user index and stamp), its 2FA state (method records,
// active entries, replay marks), its recovery codes, its guess and send counters, its pending
// reset and transfer codes and the mail queued to its addresses; and records the
// account.deleted event. Audit events of the account are kept: they are the record of what
// happened (they expire with the audit retention). 404 USER_NOT_FOUND when there is no such
// account. Callers that check something first (the user's own deletion) call it in the
// transaction of their check.
func (s *Service) Erase(ctx context.Context, txn store.Txn, id uint64) error {
	a, err := getAccount(txn, id)
	if err != nil {
		return err
	}
	addresses := []string{a.Email}
	if to, err := auth.PendingTransferAddress(txn, id); err != nil {
		return err
	} else if to != "" {
		addresses = append(addresses, to)
	}
	given, err := s.TwoFactor.UserAddresses(txn, id)
	if err != nil {
		return err
	}
	addresses = append(addresses, given...)
	dropped := 0
	if s.Outbox != nil {
		if dropped, err = s.Outbox.DropTo(txn, addresses); err != nil {
			return err
		}
	}
	if err := s.TwoFactor.DeleteUser(txn, id); err != nil {
		return err
	}
	if err := session.DeleteUser(txn, id); err != nil {
		return err
	}
	if err := auth.DeletePendingCodes(txn, id); err != nil {
		return err
	}
	if _, err := s.Auth.Limiter.ClearUser(txn, id, true); err != nil {
		return err
	}
	if err := account.Delete(txn, a); err != nil {
		return err
	}
	return s.Audit.Record(ctx, txn, audit.Event{Type: audit.AccountDeleted, UserID: id,
		Detail: map[string]string{"queuedMailDropped": strconv.Itoa(dropped)}})
}

// ResetTwoFactor turns every 2FA method of account id off, deletes its recovery codes and
// mails the user a notice, in one transaction.
func (s *Service) ResetTwoFactor(ctx context.Context, id uint64) error {
	return s.Store.Update(func(txn store.Txn) error {
		a, err := getAccount(txn, id)
		if err != nil {
			return err
		}
		methods, err := s.TwoFactor.ResetUser(txn, id)
		if err != nil {
			return err
		}
		if s.Auth.Mail != nil {
			if err := s.Auth.Mail.Enqueue(txn, mail.Outgoing{To: a.Email, Purpose: mail.PurposeTwoFactorReset,
				Vars: s.Auth.MailVars(map[string]string{"Email": a.Email}), RequestID: reqctx.ID(ctx)}); err != nil {
				return err
			}
		}
		return s.Audit.Record(ctx, txn, audit.Event{Type: audit.TwoFactorReset, UserID: id,
			Detail: map[string]string{"methods": strings.Join(methods, ",")}})
	})
}

// RevokeSessions revokes every session of account id.
func (s *Service) RevokeSessions(ctx context.Context, id uint64) error {
	return s.Store.Update(func(txn store.Txn) error {
		if _, err := getAccount(txn, id); err != nil {
			return err
		}
		n, err := session.Count(txn, id)
		if err != nil {
			return err
		}
		if err := session.RevokeAll(txn, id, ""); err != nil {
			return err
		}
		return s.Audit.Record(ctx, txn, audit.Event{Type: audit.SessionsRevoked, UserID: id,
			Detail: map[string]string{"count": strconv.Itoa(n)}})
	})
}

// ClearLimits forgets the guess counters (failures and waits) of account id.
func (s *Service) ClearLimits(ctx context.Context, id uint64) error {
	return s.Store.Update(func(txn store.Txn) error {
		if _, err := getAccount(txn, id); err != nil {
			return err
		}
		n, err := s.Auth.Limiter.ClearUser(txn, id, false)
		if err != nil {
			return err
		}
		return s.Audit.Record(ctx, txn, audit.Event{Type: audit.LimitsCleared, UserID: id,
			Detail: map[string]string{"counters": strconv.Itoa(n)}})
	})
}

// AuditEvents returns a page of the audit log.
func (s *Service) AuditEvents(q audit.Query) ([]audit.Event, string, error) {
	var events []audit.Event
	var next string
	err := s.Store.View(func(txn store.Txn) error {
		var err error
		events, next, err = audit.List(txn, q)
		if errors.Is(err, audit.ErrBadCursor) {
			return failure.BadRequest(CodeInvalidCursor)
		}
		return err
	})
	return events, next, err
}
