// Package audit is Gatehouse's security event log: who did what to which account, when, from
// where. Each event is written in the store transaction of the change it describes (so an event
// exists exactly when its change committed), kept for the retention period (the store's TTL
// expires it) and, once committed, also written as one structured log line with the message
// "gatehouse.audit" for a SIEM. An event never holds a secret, a code or a token.
package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/gatehouse/gatehouse/core/reqctx"
	"github.com/gatehouse/gatehouse/core/store"
)

// Event types. The names are API (GET /admin/audit?type=, the log line): they never change.
const (
	LoginSucceeded        = "login.succeeded"
	LoginFailed           = "login.failed"
	LoginThrottled        = "login.throttled"
	LoginDisabled         = "login.disabled"
	TwoFactorEnabled      = "2fa.enabled"
	TwoFactorDisabled     = "2fa.disabled"
	TwoFactorVerified     = "2fa.verified"
	TwoFactorFailed       = "2fa.failed"
	TwoFactorThrottled    = "2fa.throttled"
	TwoFactorReset        = "2fa.reset"
	RecoveryCodeUsed      = "recovery-code.used"
	RecoveryCodeFailed    = "recovery-code.failed"
	RecoveryCodeThrottled = "recovery-code.throttled"
	RecoveryCodesReset    = "recovery-codes.reset"
	PasswordChanged       = "password.changed"
	PasswordReset         = "password.reset"
	TransferStarted       = "email-transfer.started"
	TransferCompleted     = "email-transfer.completed"
	SessionRevoked        = "session.revoked"
	SessionsRevoked       = "sessions.revoked"
	AccountCreated        = "account.created"
	AccountImported       = "account.imported"
	AccountDisabled       = "account.disabled"
	AccountEnabled        = "account.enabled"
	AccountDeleted        = "account.deleted"
	LimitsCleared         = "limits.cleared"
	KeysRotated           = "keys.rotated"
	PasswordHashUpgrade   = "password.rehashed"
)

// Outcomes of an event.
const (
	Success   = "success"
	Failure   = "failure"
	Throttled = "throttled"
	Refused   = "refused"
)

// Event is one recorded security event.
type Event struct {
	// ID orders events by time; it is the cursor of a listing.
	ID   string    `json:"id"`
	Time time.Time `json:"time"`
	Type string    `json:"type"`
	// UserID is the account the event is about; 0 for none (a key rotation).
	UserID uint64 `json:"userId,omitempty"`
	// ClientIP is the request's client address (the trusted-proxy rule), UserAgent its
	// User-Agent, RequestID its id; empty outside a request.
	ClientIP  string `json:"ip,omitempty"`
	UserAgent string `json:"userAgent,omitempty"`
	RequestID string `json:"requestId,omitempty"`
	Outcome   string `json:"outcome"`
	// Actor is who acted when it is not the user: "admin:<token id>", "socket" (the admin
	// socket on the server's machine).
	Actor string `json:"actor,omitempty"`
	// Detail holds non-secret specifics: the 2FA method, how many sessions.
	Detail map[string]string `json:"detail,omitempty"`
}

// maxUserAgent bounds the stored User-Agent (client-controlled).
const maxUserAgent = 256

// DefaultRetention is how long events are kept unless configured (GATEHOUSE_AUDIT_RETENTION).
const DefaultRetention = 90 * 24 * time.Hour

// Log records events. A nil *Log records nothing (tests of other packages).
type Log struct {
	// Retention is how long an event is kept; the store's TTL removes it then.
	Retention time.Duration
	// Logger receives the "gatehouse.audit" line of every committed event; nil: none.
	Logger hclog.Logger
	Now    func() time.Time
}

type actorKey struct{}

// WithActor returns a context whose events name actor as who acted (admin actions).
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// Actor returns the actor ctx carries, "" for none.
func Actor(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	a, _ := ctx.Value(actorKey{}).(string)
	return a
}

func eventKey(id string) []byte { return store.Key("audit", id) }

func userPrefix(userID uint64) []byte {
	return append(store.Key("audituser", strconv.FormatUint(userID, 10)), '/')
}

func userIndexKey(userID uint64, id string) []byte { return append(userPrefix(userID), id...) }

// newID is a time-ordered id: 16 hex digits of nanoseconds, then 8 random hex digits.
func newID(t time.Time) string {
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return fmt.Sprintf("%016x-%s", t.UnixNano(), hex.EncodeToString(rnd[:]))
}

// Record writes e in txn, with the time, and the request's client IP, user agent and id from
// ctx (reqctx), and ctx's actor unless e names one. Once txn commits, the event is also logged.
func (l *Log) Record(ctx context.Context, txn store.Txn, e Event) error {
	if l == nil {
		return nil
	}
	e = l.complete(ctx, e)
	v, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if err := txn.Set(eventKey(e.ID), v, l.Retention); err != nil {
		return err
	}
	if e.UserID != 0 {
		if err := txn.Set(userIndexKey(e.UserID, e.ID), nil, l.Retention); err != nil {
			return err
		}
	}
	txn.AfterCommit(func() { l.logLine(e) })
	return nil
}

// LogOnly writes e as a log line only, not to the store: for the failures of names that are
// not accounts, which a client can make without bound (the store keeps the events of accounts,
// whose failures the guess limiter bounds).
func (l *Log) LogOnly(ctx context.Context, e Event) {
	if l == nil {
		return
	}
	l.logLine(l.complete(ctx, e))
}

func (l *Log) complete(ctx context.Context, e Event) Event {
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	t := now().UTC()
	e.Time = t
	e.ID = newID(t)
	if info, ok := reqctx.From(ctx); ok {
		if info.ClientIP.IsValid() {
			e.ClientIP = info.ClientIP.String()
		}
		e.UserAgent = truncateUTF8(info.UserAgent, maxUserAgent)
		e.RequestID = info.RequestID
	}
	if e.Actor == "" {
		e.Actor = Actor(ctx)
	}
	if e.Outcome == "" {
		e.Outcome = Success
	}
	return e
}

func (l *Log) logLine(e Event) {
	if l.Logger == nil {
		return
	}
	args := []any{"type", e.Type, "outcome", e.Outcome, "event_id", e.ID}
	if e.UserID != 0 {
		args = append(args, "user", e.UserID)
	}
	if e.ClientIP != "" {
		args = append(args, "client", e.ClientIP)
	}
	if e.UserAgent != "" {
		args = append(args, "user_agent", e.UserAgent)
	}
	if e.RequestID != "" {
		args = append(args, "request_id", e.RequestID)
	}
	if e.Actor != "" {
		args = append(args, "actor", e.Actor)
	}
	for _, k := range sortedKeys(e.Detail) {
		args = append(args, "detail_"+k, e.Detail[k])
	}
	l.Logger.Info("gatehouse.audit", args...)
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// Query selects events.
type Query struct {
	// UserID, when not 0, selects the events of one account.
	UserID uint64
	// Type, when set, selects one event type, or a family with a trailing '*' ("2fa.*").
	Type string
	// Since, when set, skips events before it.
	Since time.Time
	// Cursor is the Next of the previous page: the listing goes on after it.
	Cursor string
	// Limit is the page size (1 to MaxLimit; 0: DefaultLimit).
	Limit int
}

// Page sizes of a listing.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// ErrBadCursor is returned for a cursor that no listing made.
var ErrBadCursor = errors.New("audit: invalid cursor")

// ValidCursor reports whether c has the shape of an event id (the cursor of a listing).
func ValidCursor(c string) bool {
	if len(c) != 25 || c[16] != '-' {
		return false
	}
	_, err1 := hex.DecodeString(c[:16])
	_, err2 := hex.DecodeString(c[17:])
	return err1 == nil && err2 == nil
}

// List returns the events q selects, oldest first, and the cursor of the next page ("" when
// there is none).
func List(txn store.Txn, q Query) ([]Event, string, error) {
	if q.Cursor != "" && !ValidCursor(q.Cursor) {
		return nil, "", ErrBadCursor
	}
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	var start string
	if !q.Since.IsZero() {
		start = fmt.Sprintf("%016x", q.Since.UnixNano())
	}
	if q.Cursor != "" && q.Cursor+"\x00" > start {
		start = q.Cursor + "\x00" // strictly after the cursor
	}
	prefix := store.Key("audit", "")
	if q.UserID != 0 {
		prefix = userPrefix(q.UserID)
	}
	var out []Event
	var scanErr error
	more := false
	err := store.ScanFrom(txn, prefix, append(append([]byte{}, prefix...), start...), func(k, v []byte) bool {
		if len(out) == limit {
			more = true
			return false
		}
		if q.UserID != 0 {
			id := string(k[len(prefix):])
			raw, err := txn.Get(eventKey(id))
			if errors.Is(err, store.ErrNotFound) {
				return true // expired between the index and the event
			}
			if err != nil {
				scanErr = err
				return false
			}
			v = raw
		}
		var e Event
		if err := json.Unmarshal(v, &e); err != nil {
			scanErr = err
			return false
		}
		if !matchType(q.Type, e.Type) {
			return true
		}
		out = append(out, e)
		return true
	})
	if err == nil {
		err = scanErr
	}
	if err != nil {
		return nil, "", err
	}
	next := ""
	if more && len(out) > 0 {
		next = out[len(out)-1].ID
	}
	if out == nil {
		out = []Event{}
	}
	return out, next, nil
}

func matchType(want, got string) bool {
	if want == "" {
		return true
	}
	if p, ok := strings.CutSuffix(want, "*"); ok {
		return strings.HasPrefix(got, p)
	}
	return want == got
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}
