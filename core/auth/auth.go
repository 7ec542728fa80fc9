// Package auth holds the use cases of accounts, passwords, tokens and sessions: registration,
// login, token refresh, logout and the password change. Each use case is one domain function
// that reads and commits in one store transaction; HTTP lives in core/api.
package auth

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/gatehouse/gatehouse/core/account"
	"github.com/gatehouse/gatehouse/core/audit"
	"github.com/gatehouse/gatehouse/core/failure"
	"github.com/gatehouse/gatehouse/core/limit"
	"github.com/gatehouse/gatehouse/core/maildomain"
	"github.com/gatehouse/gatehouse/core/metrics"
	"github.com/gatehouse/gatehouse/core/otp"
	"github.com/gatehouse/gatehouse/core/password"
	"github.com/gatehouse/gatehouse/core/reqctx"
	"github.com/gatehouse/gatehouse/core/session"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/core/token"
)

// SecondFactors reports whether a user has an active 2FA method; the 2FA framework
// implements it. It decides partial tokens at login and the S|A* rule.
type SecondFactors interface {
	HasActiveMethod(txn store.Txn, userID uint64) (bool, error)
}

// Service runs the use cases.
type Service struct {
	Store         store.Store
	Hasher        *password.Hasher
	Policy        password.Policy
	Limiter       *limit.Limiter
	Minter        *token.Minter
	SecondFactors SecondFactors
	DenyList      *maildomain.DenyList
	// Mail queues emails; Codes makes the mailed one-time codes; Links builds their links.
	Mail  Mailer
	Codes *otp.Codes
	Links Links
	Now   func() time.Time
	Log   hclog.Logger
	// RegistrationOpen lets anyone register; otherwise only an admin may.
	RegistrationOpen bool
	// ServiceName is given to password policies as a context word.
	ServiceName string
	// Audit records the security events, each in the transaction of its change; nil: none.
	Audit *audit.Log
	// DeviceKey is the key the device tokens' keys derive from (from the master key; the same
	// on every node).
	DeviceKey []byte
	// NoticesOff are the security notices not mailed (notice.go); none by default.
	NoticesOff map[string]bool
	// RequireVerifiedEmail makes a new account confirm its address before it can log in (verify.go).
	RequireVerifiedEmail bool

	// sessions caches live sessions for Authorize; every revocation invalidates it through the
	// store's change notices (WatchChanges).
	sessions store.Cache[string, session.Session]
}

// Principal is an authenticated request: a verified token whose session is live.
type Principal struct {
	Claims token.Claims
	UserID uint64
}

// Requirement says which tokens an endpoint accepts (spec section 5, the auth column).
type Requirement int

// Requirements of the spec's auth column.
const (
	// Refresh accepts a refresh token (R).
	Refresh Requirement = iota + 1
	// RefreshForAccess is R at /auth/accesstoken: a partial token gets 2FA_REQUIRED.
	RefreshForAccess
	// Access accepts an access or sudo token (A).
	Access
	// Sudo accepts a sudo token (S).
	Sudo
	// SudoOrAccess accepts a sudo token, or an access token while the user has no active 2FA
	// method (S|A*).
	SudoOrAccess
	// AccessOrPartial accepts an access, sudo or partial token (A or P).
	AccessOrPartial
	// AccessOrNone accepts an access or sudo token, or no token at all: the handler then works
	// from the body (the email verification, whose callers have no token yet).
	AccessOrNone
)

func (r Requirement) accepts(t token.Type) bool {
	switch r {
	case Refresh, RefreshForAccess:
		return t == token.Refresh
	case Access, SudoOrAccess, AccessOrNone:
		return t == token.Access || t == token.Sudo
	case Sudo:
		return t == token.Sudo
	case AccessOrPartial:
		return t == token.Access || t == token.Sudo || t == token.Partial
	}
	return false
}

// Authorize verifies raw (the token's bytes, not kept) for requirement r: signature, times, type, and that its session is live.
func (s *Service) Authorize(raw []byte, r Requirement) (Principal, error) {
	if len(raw) == 0 {
		return Principal{}, failure.Unauthorized(failure.CodeNoToken)
	}
	c, err := s.Minter.VerifyBytes(raw)
	if err != nil {
		return Principal{}, err
	}
	if !r.accepts(c.Type) {
		if r == RefreshForAccess && c.Type == token.Partial {
			return Principal{}, failure.Unauthorized(failure.CodeTwoFactorRequired)
		}
		return Principal{}, failure.Unauthorized(failure.CodeWrongTokenType)
	}
	uid, _ := c.UserID() // checked by Verify
	p := Principal{Claims: c, UserID: uid}
	sess, err := s.session(c.SessionID)
	if err != nil {
		return Principal{}, err
	}
	if sess.UserID != uid {
		return Principal{}, failure.Unauthorized(failure.CodeInvalidToken)
	}
	if r == SudoOrAccess && c.Type == token.Access {
		err := s.Store.View(func(txn store.Txn) error {
			active, err := s.SecondFactors.HasActiveMethod(txn, uid)
			if err == nil && active {
				return failure.Unauthorized(failure.CodeSudoTokenRequired)
			}
			return err
		})
		if err != nil {
			return Principal{}, err
		}
	}
	return p, nil
}

// session returns the live session sid (from the cache when it is there and not past its
// expiry), or 401 TOKEN_REVOKED.
func (s *Service) session(sid string) (session.Session, error) {
	load := func() (session.Session, bool, error) {
		var sess session.Session
		err := s.Store.View(func(txn store.Txn) error {
			var err error
			sess, err = session.Get(txn, sid)
			return err
		})
		if errors.Is(err, session.ErrNotFound) {
			return sess, false, failure.Unauthorized(failure.CodeTokenRevoked)
		}
		return sess, err == nil, err
	}
	sess, err := s.sessions.Get(sid, load)
	if err == nil && !s.Now().Before(sess.ExpiresAt) {
		// Past the cached expiry: a refresh may have extended it since; ask the store.
		s.sessions.Invalidate(sid)
		sess, err = s.sessions.Get(sid, load)
		if err == nil && !s.Now().Before(sess.ExpiresAt) {
			return sess, failure.Unauthorized(failure.CodeTokenRevoked)
		}
	}
	return sess, err
}

// WatchChanges subscribes the session cache to the store's change notices: a revocation
// committed by this process or another one on the same store drops the cached session. Call it
// once, before serving.
func (s *Service) WatchChanges() {
	s.Store.Subscribe(store.TopicSessions, func(sid string) {
		if sid == "" {
			s.sessions.Invalidate()
		} else {
			s.sessions.Invalidate(sid)
		}
	})
}

// Register creates an account. admin is true when the caller proved the admin secret.
func (s *Service) Register(ctx context.Context, email, pw string, admin bool) (uint64, error) {
	if !s.RegistrationOpen && !admin {
		return 0, failure.Forbidden(failure.CodeRegistrationClosed)
	}
	if s.DenyList != nil && s.DenyList.Denied(email) {
		return 0, failure.Forbidden(failure.CodeForbiddenMailDomain)
	}
	if err := s.checkPolicy(ctx, email, pw, "password"); err != nil {
		return 0, err
	}
	if err := s.Store.View(func(txn store.Txn) error {
		_, err := account.ByEmail(txn, email)
		if err == nil {
			return failure.Conflict(failure.CodeEmailAlreadyInUse)
		}
		if errors.Is(err, account.ErrNotFound) {
			return nil
		}
		return err
	}); err != nil {
		return 0, err
	}
	hash, err := s.Hasher.Hash(ctx, pw)
	if err != nil {
		return 0, hashError(err)
	}
	id, err := s.Store.NextID("user")
	if err != nil {
		return 0, err
	}
	now := s.Now().UTC()
	acct := account.Account{ID: id, Email: email, PasswordHash: hash, CreatedAt: now, PasswordChangedAt: now}
	if err := s.Store.Update(func(txn store.Txn) error {
		if err := account.Create(txn, acct); err != nil {
			return err
		}
		if s.RequireVerifiedEmail {
			if err := s.queueVerification(txn, acct, userSubject(id), mailContext(ctx)); err != nil {
				return err
			}
		}
		return s.Audit.Record(ctx, txn, audit.Event{Type: audit.AccountCreated, UserID: id})
	}); err != nil {
		return 0, err
	}
	reqctx.Logger(ctx, s.Log).Info("account created", "user", id)
	return id, nil
}

// CodeAccountDisabled is the 403 of a login with the right password to a disabled account.
const CodeAccountDisabled = "ACCOUNT_DISABLED"

// checkPolicy runs the password policies; a refusal is a 400 with the first reason, and a
// policy fault fails closed with its 500 code.
func (s *Service) checkPolicy(ctx context.Context, email, pw, field string) error {
	v, err := s.Policy.Check(ctx, password.Candidate{Password: pw, Email: email, Field: field, ServiceName: s.ServiceName})
	if err != nil {
		return err
	}
	if !v.Accepted {
		msg := "Password refused by policy"
		if len(v.Reasons) > 0 && v.Reasons[0] != "" {
			msg = v.Reasons[0]
		}
		return failure.BadRequest(msg)
	}
	return nil
}

func hashError(err error) error {
	if errors.Is(err, password.ErrBusy) {
		return failure.Unavailable(failure.CodeHashingUnavailable)
	}
	return err
}

func userSubject(id uint64) limit.Subject {
	return limit.Subject{Key: "u/" + strconv.FormatUint(id, 10), Known: true}
}

// LoginResult is a successful login.
type LoginResult struct {
	// Token is a refresh token, or a partial token when the user has an active 2FA method.
	Token string
	Type  token.Type
	// Device is a new device token for the client (see device.go).
	Device string
}

// Login checks username and password under the password guess limiter and opens a session. It
// returns a refresh token, or a partial token when the user has an active 2FA method, and a
// new device token. A valid device token of the account in device has the guess counted on
// that device's own counter, else on the account's (device.go). An unknown username costs the
// same hash and is throttled the same way.
func (s *Service) Login(ctx context.Context, username, pw, device string) (LoginResult, error) {
	var acct account.Account
	known := true
	if err := s.Store.View(func(txn store.Txn) error {
		var err error
		acct, err = account.ByEmail(txn, username)
		if errors.Is(err, account.ErrNotFound) {
			known = false
			return nil
		}
		return err
	}); err != nil {
		return LoginResult{}, err
	}
	subject := limit.Subject{Key: "n/" + account.NormalizeEmail(username)}
	if known {
		subject = s.loginSubject(acct.ID, device)
	}
	var tok string
	typ := token.Refresh
	event := func(typ, outcome string) audit.Event {
		return audit.Event{Type: typ, UserID: acct.ID, Outcome: outcome}
	}
	// A throttled login is recorded once per wait (in the limiter's reservation), a wrong
	// password in a transaction of its own, a right one in the login's commit. The names that
	// are not accounts get log lines only: a client can make those without bound.
	var refused func(store.Txn) error
	if known {
		refused = func(txn store.Txn) error {
			return s.Audit.Record(ctx, txn, event(audit.LoginThrottled, audit.Throttled))
		}
	}
	disabled := false
	err := s.Limiter.GuessNoting(limit.Password, subject, refused, func() (limit.Outcome, func(store.Txn) error, error) {
		if known && acct.PasswordHash == "" {
			return limit.NotCounted, nil, failure.Internal(failure.CodeNoPasswordInfo)
		}
		match, rehash, err := s.Hasher.Verify(ctx, pw, acct.PasswordHash)
		if err != nil {
			return limit.NotCounted, nil, hashError(err)
		}
		if !match {
			if !known {
				return limit.Wrong, nil, failure.Unauthorized(failure.CodePasswordIncorrect)
			}
			return limit.Wrong, func(txn store.Txn) error {
				return s.Audit.Record(ctx, txn, event(audit.LoginFailed, audit.Failure))
			}, failure.Unauthorized(failure.CodePasswordIncorrect)
		}
		if s.RequireVerifiedEmail && !acct.EmailVerified {
			// Only after the right password: the answer tells nothing to a guesser.
			return limit.Right, nil, failure.Forbidden(CodeEmailNotVerified)
		}
		newHash := ""
		if rehash {
			if newHash, err = s.Hasher.Hash(ctx, pw); err != nil {
				reqctx.Logger(ctx, s.Log).Warn("password hash upgrade postponed", "user", acct.ID, "error", err)
				newHash = ""
			}
		}
		return limit.Right, func(txn store.Txn) error {
			// The password verified must still be the one in force at commit: a change or a
			// reset that committed since the read makes this login a wrong one. Reading the
			// account here also makes a change that commits meanwhile conflict with this
			// transaction, so it runs again and sees the change.
			fresh, err := account.Get(txn, acct.ID)
			if errors.Is(err, account.ErrNotFound) {
				return failure.Unauthorized(failure.CodePasswordIncorrect)
			}
			if err != nil {
				return err
			}
			if fresh.PasswordHash != acct.PasswordHash {
				return failure.Unauthorized(failure.CodePasswordIncorrect)
			}
			if fresh.Disabled {
				// Only the right password learns it: a wrong one answered as for any account.
				disabled = true
				return failure.Forbidden(CodeAccountDisabled)
			}
			disabled = false
			if newHash != "" {
				fresh.PasswordHash = newHash
				if err := s.Audit.Record(ctx, txn, audit.Event{Type: audit.PasswordHashUpgrade, UserID: acct.ID,
					Detail: map[string]string{"from": password.Scheme(acct.PasswordHash)}}); err != nil {
					return err
				}
			}
			fresh.LastLoginAt = s.Now().UTC()
			if err := account.Put(txn, fresh); err != nil {
				return err
			}
			if err := s.Audit.Record(ctx, txn, event(audit.LoginSucceeded, audit.Success)); err != nil {
				return err
			}
			active, err := s.SecondFactors.HasActiveMethod(txn, acct.ID)
			if err != nil {
				return err
			}
			if active {
				typ = token.Partial
			}
			tok, err = s.openSession(ctx, txn, acct.ID, typ)
			return err
		}, nil
	})
	metrics.Logins.WithLabelValues(outcome(err, typ)).Inc()
	if !known {
		if fe, ok := failure.As(err); ok && (fe.Status == 401 || fe.Status == 429) {
			e := audit.Event{Type: audit.LoginFailed, Outcome: audit.Failure, Detail: map[string]string{"account": "unknown"}}
			if fe.Status == 429 {
				e.Type, e.Outcome = audit.LoginThrottled, audit.Throttled
			}
			s.Audit.LogOnly(ctx, e)
		}
	}
	if disabled && err != nil {
		// The right password of a disabled account: counted by the limiter as a failure (the
		// commit refused it), so the writes of these events are bounded as a wrong one's are.
		if aerr := s.Store.Update(func(txn store.Txn) error {
			return s.Audit.Record(ctx, txn, event(audit.LoginDisabled, audit.Refused))
		}); aerr != nil {
			reqctx.Logger(ctx, s.Log).Warn("audit event not recorded", "type", audit.LoginDisabled, "error", aerr)
		}
	}
	if err != nil {
		return LoginResult{}, err
	}
	return LoginResult{Token: tok, Type: typ, Device: s.NewDeviceToken(acct.ID)}, nil
}

// outcome labels a login for the metrics.
func outcome(err error, typ token.Type) string {
	if err == nil {
		if typ == token.Partial {
			return "partial"
		}
		return "success"
	}
	if fe, ok := failure.As(err); ok {
		switch fe.Status {
		case 401:
			return "wrong"
		case 429:
			return "throttled"
		}
	}
	return "error"
}

// openSession creates a session that lives as long as the first token, and mints that token.
// The session keeps the client address and User-Agent of the request ctx belongs to.
func (s *Service) openSession(ctx context.Context, txn store.Txn, userID uint64, typ token.Type) (string, error) {
	now := s.Now()
	sess := session.Session{ID: token.RandomID(), UserID: userID, CreatedAt: now.UTC(), ExpiresAt: now.Add(s.Minter.Lifetime(typ)).UTC(), LastUsedAt: now.UTC()}
	if info, ok := reqctx.From(ctx); ok {
		if info.ClientIP.IsValid() {
			sess.IP = info.ClientIP.String()
		}
		sess.UserAgent = session.TrimUserAgent(info.UserAgent)
	}
	if err := session.Put(txn, sess, now); err != nil {
		return "", err
	}
	return s.Minter.Mint(typ, userID, sess.ID)
}

// RefreshToken mints a new refresh token in p's session and extends the session to its expiry.
// The presented token stays valid until it expires.
func (s *Service) RefreshToken(p Principal) (string, error) {
	return s.MintInSession(p, token.Refresh)
}

// MintInSession mints a token of type typ in p's session; a refresh token extends the session.
func (s *Service) MintInSession(p Principal, typ token.Type) (string, error) {
	if typ == token.Refresh {
		if err := s.Store.Update(func(txn store.Txn) error { return s.ExtendSession(txn, p.Claims.SessionID) }); err != nil {
			return "", err
		}
	}
	return s.Minter.Mint(typ, p.UserID, p.Claims.SessionID)
}

// Logout revokes p's session: every token of it stops working.
func (s *Service) Logout(ctx context.Context, p Principal) error {
	return s.Store.Update(func(txn store.Txn) error {
		if err := session.Revoke(txn, p.UserID, p.Claims.SessionID); err != nil {
			return err
		}
		return s.Audit.Record(ctx, txn, audit.Event{Type: audit.SessionRevoked, UserID: p.UserID, Detail: map[string]string{"by": "logout"}})
	})
}

// LogoutAll revokes every session of p's user.
func (s *Service) LogoutAll(ctx context.Context, p Principal) error {
	return s.Store.Update(func(txn store.Txn) error {
		if err := session.RevokeAll(txn, p.UserID, ""); err != nil {
			return err
		}
		return s.Audit.Record(ctx, txn, audit.Event{Type: audit.SessionsRevoked, UserID: p.UserID, Detail: map[string]string{"by": "logout-all"}})
	})
}

// ChangePassword replaces the password after checking the old one under the password guess
// limiter (shared with login), and revokes every other session of the user.
func (s *Service) ChangePassword(ctx context.Context, p Principal, oldPw, newPw string) error {
	var acct account.Account
	if err := s.Store.View(func(txn store.Txn) error {
		var err error
		acct, err = account.Get(txn, p.UserID)
		if errors.Is(err, account.ErrNotFound) {
			return failure.Unauthorized(failure.CodeTokenRevoked)
		}
		return err
	}); err != nil {
		return err
	}
	if err := s.checkPolicy(ctx, acct.Email, newPw, "newPassword"); err != nil {
		return err
	}
	return s.Limiter.Guess(limit.Password, userSubject(acct.ID), func() (limit.Outcome, func(store.Txn) error, error) {
		if outcome, err := s.verifyGuess(ctx, acct, oldPw); outcome != limit.Right {
			return outcome, nil, err
		}
		newHash, err := s.Hasher.Hash(ctx, newPw)
		if err != nil {
			return limit.NotCounted, nil, hashError(err)
		}
		return limit.Right, func(txn store.Txn) error {
			// Checked against the hash in force at commit, not the one read before: of two
			// changes made with the same old password, only the first commits.
			fresh, err := account.Get(txn, acct.ID)
			if errors.Is(err, account.ErrNotFound) {
				return failure.Unauthorized(failure.CodeTokenRevoked)
			}
			if err != nil {
				return err
			}
			if fresh.PasswordHash != acct.PasswordHash {
				return failure.Unauthorized(failure.CodePasswordIncorrect)
			}
			if _, err := session.Get(txn, p.Claims.SessionID); errors.Is(err, session.ErrNotFound) {
				return failure.Unauthorized(failure.CodeTokenRevoked)
			} else if err != nil {
				return err
			}
			if err := s.SetPassword(txn, acct.ID, newHash, p.Claims.SessionID); err != nil {
				return err
			}
			if err := s.Notify(ctx, txn, NoticePasswordChanged, acct.ID, nil); err != nil {
				return err
			}
			return s.Audit.Record(ctx, txn, audit.Event{Type: audit.PasswordChanged, UserID: acct.ID})
		}, nil
	})
}

// SetPassword stores a new password hash for userID, revokes every session but keep, and
// ends the pending mailed codes (a reset code or an address transfer asked for before the
// change must not outlive it).
func (s *Service) SetPassword(txn store.Txn, userID uint64, hash, keep string) error {
	acct, err := account.Get(txn, userID)
	if err != nil {
		return err
	}
	acct.PasswordHash = hash
	acct.PasswordChangedAt = s.Now().UTC()
	if err := account.Put(txn, acct); err != nil {
		return err
	}
	if err := endPendingCodes(txn, userID); err != nil {
		return err
	}
	return session.RevokeAll(txn, userID, keep)
}

// ExtendSession makes session sid live as long as a new refresh token (after a 2FA step).
func (s *Service) ExtendSession(txn store.Txn, sid string) error {
	sess, err := session.Get(txn, sid)
	if errors.Is(err, session.ErrNotFound) {
		return failure.Unauthorized(failure.CodeTokenRevoked)
	}
	if err != nil {
		return err
	}
	now := s.Now()
	if exp := now.Add(s.Minter.Lifetime(token.Refresh)); exp.After(sess.ExpiresAt) {
		sess.ExpiresAt = exp.UTC()
	}
	sess.LastUsedAt = now.UTC() // the only write of it: a refresh, not every request
	return session.Put(txn, sess, now)
}

// verifyGuess checks pw against acct's password hash for a guess the limiter counts: Right
// (no error) on a match, Wrong with 401 PASSWORD_INCORRECT on a mismatch, NotCounted with the
// error when no check could be made (no hash, a hashing failure).
func (s *Service) verifyGuess(ctx context.Context, acct account.Account, pw string) (limit.Outcome, error) {
	if acct.PasswordHash == "" {
		return limit.NotCounted, failure.Internal(failure.CodeNoPasswordInfo)
	}
	match, _, err := s.Hasher.Verify(ctx, pw, acct.PasswordHash)
	if err != nil {
		return limit.NotCounted, hashError(err)
	}
	if !match {
		return limit.Wrong, failure.Unauthorized(failure.CodePasswordIncorrect)
	}
	return limit.Right, nil
}
