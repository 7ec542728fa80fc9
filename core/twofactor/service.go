package twofactor

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/gatehouse/gatehouse/core/account"
	"github.com/gatehouse/gatehouse/core/audit"
	"github.com/gatehouse/gatehouse/core/auth"
	"github.com/gatehouse/gatehouse/core/failure"
	"github.com/gatehouse/gatehouse/core/limit"
	"github.com/gatehouse/gatehouse/core/mail"
	"github.com/gatehouse/gatehouse/core/metrics"
	"github.com/gatehouse/gatehouse/core/recovery"
	"github.com/gatehouse/gatehouse/core/reqctx"
	"github.com/gatehouse/gatehouse/core/seal"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/core/token"
)

// Message codes of the recovery codes and the framework.
const (
	CodeRecoveryInvalid       = "RECOVERY_CODE_INVALID"
	CodeRecoveryUninitialized = "RECOVERY_CODES_UNINITIALIZED"
	CodeTooManyRecovery       = "TOO_MANY_RECOVERY_CODE_CHECKS"
	Code2FADisabled           = "2FA_IS_DISABLED"
)

// RecoveryFactor is the guess counter of recovery codes.
var RecoveryFactor = limit.Factor{Name: "recovery-code", Code: CodeTooManyRecovery}

// MailContext selects the branding and language of an email (query origin and language).
type MailContext = auth.MailContext

// Service runs the 2FA use cases.
type Service struct {
	Store    store.Store
	Sealer   *seal.Sealer
	Limiter  *limit.Limiter
	Recovery *recovery.Keeper
	Auth     *auth.Service
	Now      func() time.Time
	Log      hclog.Logger
	// Site is what a method learns of the server (ABI v1.2): the accepted origins, the
	// relying party, the public URL.
	Site Site

	methods map[string]Method
	// status caches the encoded GET /user/2fa body per user; 2FA changes invalidate it through
	// the store's change notices (WatchChanges).
	status store.Cache[uint64, []byte]
}

var _ auth.SecondFactors = (*Service)(nil)

// Site is what a method learns of the server: passed in every Request.
type Site struct {
	// Origins are the accepted origins (scheme://host[:port]), the public URL's first; a
	// request's Origin header reaches a method only when it is one of them.
	Origins []string
	// RPID and RPName are the relying party (GATEHOUSE_WEBAUTHN_RP_ID, _RP_NAME).
	RPID, RPName string
	// PublicURL is GATEHOUSE_PUBLIC_URL.
	PublicURL string
}

// Register adds a method; its id must be new.
func (s *Service) Register(m Method) error {
	info := m.Info()
	if info.ID == "" || info.ID == "recovery-code" || strings.ContainsAny(info.ID, "/ ") {
		return fmt.Errorf("twofactor: invalid method id %q", info.ID)
	}
	if s.methods == nil {
		s.methods = map[string]Method{}
	}
	if _, dup := s.methods[info.ID]; dup {
		return fmt.Errorf("twofactor: method %q registered twice", info.ID)
	}
	s.methods[info.ID] = m
	return nil
}

// Replace puts m in place of the registered method with its id, for comparing two
// implementations of one method (the benchmarks run the native TOTP against the plugin). Call it
// before the server serves.
func (s *Service) Replace(m Method) error {
	if _, ok := s.methods[m.Info().ID]; !ok {
		return fmt.Errorf("twofactor: no method %q to replace", m.Info().ID)
	}
	s.methods[m.Info().ID] = m
	return nil
}

// Methods returns the registered methods' infos, by id.
func (s *Service) Methods() []Info {
	out := make([]Info, 0, len(s.methods))
	for _, m := range s.methods {
		out = append(out, m.Info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// HasActiveMethod implements auth.SecondFactors.
func (s *Service) HasActiveMethod(txn store.Txn, userID uint64) (bool, error) {
	found := false
	err := txn.Scan(activePrefix(userID), func(_, _ []byte) bool { found = true; return false })
	return found, err
}

func (s *Service) method(id string) (Method, Info, error) {
	m, ok := s.methods[id]
	if !ok {
		return nil, Info{}, failure.New(404, "UNKNOWN_2FA_METHOD")
	}
	return m, m.Info(), nil
}

func factor(info Info) limit.Factor {
	return limit.Factor{Name: "mfa-" + info.ID, Code: info.Codes.TooMany}
}

func subject(userID uint64) limit.Subject {
	return limit.Subject{Key: "u/" + uid(userID), Known: true}
}

// Status is the encoded body of GET /user/2fa.
func (s *Service) Status(p auth.Principal) ([]byte, error) {
	return s.status.Get(p.UserID, func() ([]byte, bool, error) {
		st, err := s.readStatus(p.UserID)
		if err != nil {
			return nil, false, err
		}
		b, err := json.Marshal(st)
		return b, err == nil, err
	})
}

// statusChanged must be called in every transaction that changes a user's active methods or
// codes: once it commits, every process on the store drops the user's cached status.
func (s *Service) statusChanged(txn store.Txn, userID uint64) {
	txn.Notify(store.TopicTwoFactor, uid(userID))
}

// WatchChanges subscribes the status cache to the store's change notices. Call it once,
// before serving.
func (s *Service) WatchChanges() {
	s.Store.Subscribe(store.TopicTwoFactor, func(key string) {
		id, err := strconv.ParseUint(key, 10, 64)
		if err != nil {
			s.status.Invalidate()
			return
		}
		s.status.Invalidate(id)
	})
}

func (s *Service) readStatus(userID uint64) (map[string]any, error) {
	out := map[string]any{}
	err := s.Store.View(func(txn store.Txn) error {
		entries, err := ActiveMethods(txn, userID)
		if err != nil {
			return err
		}
		methods := make([]map[string]any, 0, len(entries))
		for _, e := range entries {
			entry := map[string]any{"id": e.Method, "completedAt": e.CompletedAt}
			m, ok := s.methods[e.Method]
			if ok && m.Info().Weak {
				entry["weak"] = true // weaker than an authenticator app (email)
			}
			methods = append(methods, entry)
			if !ok || m.Info().SummaryKey == "" {
				continue
			}
			summary := map[string]any{}
			if len(e.Summary) > 0 {
				if err := json.Unmarshal(e.Summary, &summary); err != nil {
					summary = map[string]any{}
				}
			}
			for k, v := range e.Public {
				summary[k] = v
			}
			summary["completedAt"] = e.CompletedAt
			out[m.Info().SummaryKey] = summary
		}
		out["enabled"] = len(entries) > 0
		out["methods"] = methods
		set, err := recovery.Get(txn, userID)
		if err == nil && len(entries) > 0 {
			out["recoveryCodes"] = map[string]any{"completedAt": set.CompletedAt}
		} else if err != nil && !errors.Is(err, recovery.ErrNone) {
			return err
		}
		return nil
	})
	return out, err
}

func (s *Service) request(ctx context.Context, txn store.Txn, p auth.Principal, state []byte) (Request, error) {
	acct, err := account.Get(txn, p.UserID)
	if err != nil {
		if errors.Is(err, account.ErrNotFound) {
			return Request{}, failure.Unauthorized(failure.CodeTokenRevoked)
		}
		return Request{}, err
	}
	req := Request{Now: s.Now(), RequestID: reqctx.ID(ctx), UserID: p.UserID, Email: acct.Email, ServiceName: s.Auth.ServiceName, State: state,
		Origins: s.Site.Origins, RPID: s.Site.RPID, RPName: s.Site.RPName, PublicURL: s.Site.PublicURL}
	if info, ok := reqctx.From(ctx); ok && info.Origin != "" && slices.Contains(s.Site.Origins, strings.ToLower(info.Origin)) {
		req.Origin = strings.ToLower(info.Origin)
	}
	return req, nil
}

// readRecord reads the user's record of a method and the request to pass to it.
func (s *Service) readRecord(ctx context.Context, p auth.Principal, info Info) (record, bool, Request, error) {
	var rec record
	var found bool
	var req Request
	err := s.Store.View(func(txn store.Txn) error {
		var err error
		rec, found, err = records{s.Sealer}.get(txn, p.UserID, info.ID)
		if errors.Is(err, errCorrupt) {
			reqctx.Logger(ctx, s.Log).Error("2FA state does not open with the master key", "user", p.UserID, "method", info.ID)
			return failure.Internal(info.Codes.Corrupt)
		}
		if err != nil {
			return err
		}
		req, err = s.request(ctx, txn, p, nil)
		return err
	})
	return rec, found, req, err
}

// SetupResult is what setup shows: an otpauth URL, its QR code and the secret to type in by hand,
// or nothing.
type SetupResult struct {
	URL string `json:"url"`
	QR  string `json:"qr,omitempty"`
	// Secret is the secret of URL for manual entry in an authenticator app (base32 for TOTP):
	// the method's own, else the otpauth URL's secret parameter; omitted when there is none.
	Secret string `json:"secret,omitempty"`
	// ClientData are the method's own properties of the answer (ABI v1.2: a passkey's
	// publicKey creation options), a JSON object; nil for none.
	ClientData json.RawMessage `json:"-"`
}

// MarshalJSON writes url, qr and secret when there is a URL, then the client data's
// properties (which the host checked are none of those three).
func (r SetupResult) MarshalJSON() ([]byte, error) {
	type plain SetupResult
	if r.URL == "" && len(r.ClientData) > 0 {
		return r.ClientData, nil
	}
	b, err := json.Marshal(plain(r))
	var data bytes.Buffer
	if err != nil || len(r.ClientData) == 0 || json.Compact(&data, r.ClientData) != nil || data.Len() <= 2 {
		return b, err
	}
	// {"url":...} + {"publicKey":...} → {"url":...,"publicKey":...}
	return append(append(b[:len(b)-1], ','), data.Bytes()[1:]...), nil
}

// Setup enrols a new pending secret for the method (replacing a pending one; an active one
// keeps working until the new one is enabled).
func (s *Service) Setup(ctx context.Context, p auth.Principal, methodID string, params map[string]string, mc MailContext) (*SetupResult, error) {
	m, info, err := s.method(methodID)
	if err != nil {
		return nil, err
	}
	if email, ok := params["email"]; ok {
		if !account.ValidEmail(email) {
			return nil, failure.BadRequest(CodeInvalidEmail)
		}
		if s.Auth.DenyList != nil && s.Auth.DenyList.Denied(email) {
			return nil, failure.Forbidden(failure.CodeForbiddenMailDomain)
		}
	}
	if info.Challenges {
		if err := s.sendAllowed(p, info); err != nil {
			return nil, err
		}
	}
	rec, _, req, err := s.readRecord(ctx, p, info)
	if err != nil {
		return nil, err
	}
	req.Params = params
	if info.Additive {
		req.ActiveState = rec.Active
	}
	res, err := m.Enroll(ctx, req)
	if err != nil {
		return nil, err
	}
	if res.Denied {
		return nil, failure.BadRequest(denialMessage(res, "2FA setup refused"))
	}
	if res.State == nil {
		return nil, fmt.Errorf("twofactor: method %s enrolled without a state", info.ID)
	}
	if err := s.Store.Update(func(txn store.Txn) error {
		// Re-read: a concurrent enable may have changed the record since.
		cur, _, err := records{s.Sealer}.get(txn, p.UserID, info.ID)
		if err != nil && !errors.Is(err, errCorrupt) {
			return err
		}
		given := setupAddresses(params)
		cur.Pending, cur.PendingAt, cur.PendingMailTo = res.State, s.Now().UTC(), &mailTo{Addresses: given}
		if err := (records{s.Sealer}).put(txn, p.UserID, info.ID, cur); err != nil {
			return err
		}
		return s.send(txn, p, info, res.Messages, mc, recipients{account: req.Email, given: given})
	}); err != nil {
		return nil, err
	}
	if res.URI == "" {
		if res.ClientData != nil {
			return &SetupResult{ClientData: res.ClientData}, nil
		}
		return nil, nil
	}
	out := &SetupResult{URL: res.URI, Secret: res.Secret, ClientData: res.ClientData}
	if out.Secret == "" {
		out.Secret = otpauthSecret(res.URI)
	}
	img := res.Image
	if img == nil && strings.HasPrefix(res.URI, "otpauth://") {
		if img, err = qrPNG(res.URI); err != nil {
			reqctx.Logger(ctx, s.Log).Warn("QR code not rendered", "method", info.ID, "error", err)
		}
	}
	if img != nil {
		out.QR = "data:image/png;base64," + base64.StdEncoding.EncodeToString(img)
	}
	return out, nil
}

// otpauthSecret is the secret parameter of an otpauth:// URL, "" for another URL or none.
func otpauthSecret(uri string) string {
	if !strings.HasPrefix(uri, "otpauth://") {
		return ""
	}
	u, err := url.Parse(uri)
	if err != nil {
		return ""
	}
	return u.Query().Get("secret")
}

// CodeInvalidEmail is the 400 message for an address that is not one.
const CodeInvalidEmail = "Invalid email address"

func sendFactor(info Info) limit.Factor {
	return limit.Factor{Name: "mail-" + info.ID, Code: info.Codes.TooManySends}
}

// sendAllowed is the early check of the send limiter, before a method makes a code.
func (s *Service) sendAllowed(p auth.Principal, info Info) error {
	wait, err := s.Limiter.SendWait(limit.DefaultSendPolicy, sendFactor(info), subject(p.UserID))
	if err != nil {
		return err
	}
	if wait > 0 {
		return failure.TooManyRequests(info.Codes.TooManySends, wait)
	}
	return nil
}

// NextEmail returns how long until the method may send the user another code.
func (s *Service) NextEmail(ctx context.Context, p auth.Principal, methodID string) (time.Duration, error) {
	info, err := s.initialized(ctx, p, methodID)
	if err != nil {
		return 0, err
	}
	return s.Limiter.SendWait(limit.DefaultSendPolicy, sendFactor(info), subject(p.UserID))
}

// initialized returns the method's info, or 409 Uninitialized when the user has no state of it.
func (s *Service) initialized(ctx context.Context, p auth.Principal, methodID string) (Info, error) {
	_, info, err := s.method(methodID)
	if err != nil {
		return info, err
	}
	if _, found, _, err := s.readRecord(ctx, p, info); err != nil {
		return info, err
	} else if !found {
		return info, failure.Conflict(info.Codes.Uninitialized)
	}
	return info, nil
}

// send takes the send limiter and queues the method's messages, in txn.
func (s *Service) send(txn store.Txn, p auth.Principal, info Info, msgs []Message, mc MailContext, to recipients) error {
	if len(msgs) == 0 {
		return nil
	}
	if err := s.Limiter.TakeSend(txn, limit.DefaultSendPolicy, sendFactor(info), subject(p.UserID)); err != nil {
		return err
	}
	return s.enqueue(txn, p.UserID, info, msgs, mc, to)
}

// CodeMethodMailRefused is the 500 message code when a method asks for mail the core does not
// send: a template outside its own namespace or a recipient that is not the user's. The request
// fails closed: nothing is queued and nothing of the call is stored.
const CodeMethodMailRefused = "PLUGIN_BAD_OUTPUT"

// recipients are the addresses a method may mail in one call: the account's, and the ones the
// user gave in the setup body (at setup) or gave at the setup that is active (at a challenge).
type recipients struct {
	account string
	given   []string
}

// resolve returns the core's copy of the user's address that a method asked to mail, and false
// for any other address.
func (r recipients) resolve(asked string) (string, bool) {
	want := account.NormalizeEmail(strings.TrimSpace(asked))
	for _, a := range append([]string{r.account}, r.given...) {
		if a != "" && account.NormalizeEmail(a) == want {
			return a, true
		}
	}
	return "", false
}

// setupAddresses are the addresses the user gave in a setup body: the email field, which Setup
// has validated and checked against the deny list.
func setupAddresses(params map[string]string) []string {
	if email, ok := params["email"]; ok && account.ValidEmail(email) {
		return []string{email}
	}
	return []string{}
}

// reservedMailVars are the template variables the core sets in a method's mail; a method's
// value for one of them is ignored, so a method cannot rebrand the mail (Service), show another
// account (Email, NewEmail), plant a link (Link) or misstate the lifetime (ExpiresMinutes).
// Code is the method's own: the core makes no code for a method's mail.
var reservedMailVars = []string{"Service", "Email", "NewEmail", "Link", "ExpiresMinutes"}

// methodMailVars are the variables of a method's mail: the method's own, then the core's on top.
func (s *Service) methodMailVars(accountEmail string, methodVars map[string]string) map[string]string {
	vars := make(map[string]string, len(methodVars)+3)
	for k, v := range methodVars {
		if !slices.Contains(reservedMailVars, k) {
			vars[k] = v
		}
	}
	for k, v := range s.Auth.MailVars(map[string]string{"Email": accountEmail}) {
		vars[k] = v
	}
	return vars
}

// enqueue queues a method's messages in txn. A method gets only its own templates (the
// namespace of its route, mail.MethodPurpose) and mails only the user's own addresses; anything
// else fails the whole call closed.
func (s *Service) enqueue(txn store.Txn, userID uint64, info Info, msgs []Message, mc MailContext, to recipients) error {
	if len(msgs) == 0 {
		return nil
	}
	if s.Auth.Mail == nil {
		return errors.New("twofactor: a method asked to send email but no mailer is configured")
	}
	for _, msg := range msgs {
		purpose, err := mail.MethodPurpose(info.ID, msg.Template)
		if err != nil {
			s.Log.Error("2FA method asked for a template outside its namespace; nothing sent", "request_id", mc.RequestID, "user", userID, "method", info.ID, "template", truncate(msg.Template, 64))
			return failure.Internal(CodeMethodMailRefused)
		}
		addr, ok := to.resolve(msg.To)
		if !ok {
			s.Log.Error("2FA method asked to mail an address that is not the user's; nothing sent", "request_id", mc.RequestID, "user", userID, "method", info.ID)
			return failure.Internal(CodeMethodMailRefused)
		}
		if account.NormalizeEmail(addr) != account.NormalizeEmail(to.account) {
			// An address the user typed (an email-otp setup) has a limit of its own too, so
			// throwaway accounts cannot flood one mailbox with codes.
			recipient := limit.Subject{Key: "n/" + account.NormalizeEmail(addr)}
			if err := s.Limiter.TakeSend(txn, limit.DefaultSendPolicy, auth.RecipientFactor(sendFactor(info)), recipient); err != nil {
				return err
			}
		}
		out := mail.Outgoing{To: addr, Purpose: purpose, Vars: s.methodMailVars(to.account, msg.Vars), Origin: mc.Origin, Language: mc.Language, RequestID: mc.RequestID}
		if err := s.Auth.Mail.Enqueue(txn, out); err != nil {
			return err
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// qrPNG renders an otpauth URL as a PNG QR code of about 256×256 pixels with a quiet zone of 4
// modules (qr.go).
func qrPNG(uri string) ([]byte, error) {
	img, err := qrImage(uri, 256)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	err = png.Encode(&buf, img)
	return buf.Bytes(), err
}

// denialMessage is the 400 message of a refused setup or challenge: a malformed request's
// sentence, else the reason code, else fallback.
func denialMessage(res Result, fallback string) string {
	if res.Reason == ReasonBadRequest && res.Message != "" {
		return res.Message
	}
	return firstNonEmpty(res.Reason, fallback)
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// used reports whether an accepted code's replay key was already used.
func (s *Service) used(userID uint64, info Info, key string) (bool, error) {
	if key == "" {
		return false, nil
	}
	var used bool
	err := s.Store.View(func(txn store.Txn) error {
		_, err := txn.Get(replayKey(userID, info.ID, key))
		if err == nil {
			used = true
			return nil
		}
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	})
	return used, err
}

// usedIn reports whether replay key was used, read in txn (so a transaction that marks it
// meanwhile conflicts with txn).
func usedIn(txn store.Txn, userID uint64, info Info, key string) (bool, error) {
	if key == "" {
		return false, nil
	}
	_, err := txn.Get(replayKey(userID, info.ID, key))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func markUsed(txn store.Txn, userID uint64, info Info, key string) error {
	if key == "" {
		return nil
	}
	window := info.ReplayWindow
	if window <= 0 {
		window = 5 * time.Minute
	}
	return txn.Set(replayKey(userID, info.ID, key), nil, window)
}

// guessCode runs one code check of a method under its guess limiter: the hook call, the
// replay check, and on success commit (the state change of the caller) in the same transaction
// as the counter reset and the replay mark.
func (s *Service) guessCode(ctx context.Context, p auth.Principal, info Info, pick func(record) ([]byte, error),
	hook func(context.Context, Request) (Result, error), code string, event string,
	commit func(txn store.Txn, rec record, res Result) error) error {
	refused := s.refusedEvent(ctx, p.UserID, info.ID, audit.TwoFactorThrottled)
	err := s.Limiter.GuessNoting(factor(info), subject(p.UserID), refused, func() (limit.Outcome, func(store.Txn) error, error) {
		rec, _, req, err := s.readRecord(ctx, p, info)
		if err != nil {
			return limit.NotCounted, nil, err
		}
		state, err := pick(rec)
		if err != nil {
			return limit.NotCounted, nil, err
		}
		req.State, req.Code = state, code
		if info.Additive && rec.Pending != nil && bytes.Equal(state, rec.Pending) {
			req.ActiveState = rec.Active
		}
		res, err := hook(ctx, req)
		if err != nil {
			return limit.NotCounted, nil, err // a plugin fault fails closed and is not a guess
		}
		if res.Denied && res.Reason == ReasonBadRequest {
			// A malformed request is no guess: 400, not counted (a state the method returns,
			// such as a used-up challenge, is still kept).
			var keep func(store.Txn) error
			if res.State != nil {
				keep = func(txn store.Txn) error {
					return s.updateState(txn, p.UserID, info, res.State, state)
				}
			}
			return limit.NotCounted, keep, failure.BadRequest(firstNonEmpty(res.Message, "malformed "+info.CodeField))
		}
		if res.Denied {
			var keep func(store.Txn) error
			if res.State != nil {
				keep = func(txn store.Txn) error {
					return s.updateState(txn, p.UserID, info, res.State, state)
				}
			}
			keep = s.withEvent(ctx, p.UserID, info.ID, audit.TwoFactorFailed, audit.Failure, keep)
			return limit.Wrong, keep, failure.Unauthorized(firstNonEmpty(res.Reason, info.Codes.Invalid))
		}
		if used, err := s.used(p.UserID, info, res.ReplayKey); err != nil {
			return limit.NotCounted, nil, err
		} else if used {
			return limit.Wrong, s.withEvent(ctx, p.UserID, info.ID, audit.TwoFactorFailed, audit.Failure, nil), failure.Unauthorized(info.Codes.Invalid)
		}
		return limit.Right, func(txn store.Txn) error {
			// The replay check again, against the marks in force at commit: the same code
			// checked at once on another node (or in another guess of this burst) wins once.
			if used, err := usedIn(txn, p.UserID, info, res.ReplayKey); err != nil {
				return err
			} else if used {
				return failure.Unauthorized(info.Codes.Invalid)
			}
			if err := markUsed(txn, p.UserID, info, res.ReplayKey); err != nil {
				return err
			}
			if err := commit(txn, rec, res); err != nil {
				return err
			}
			return s.record(ctx, txn, p.UserID, info.ID, event, audit.Success)
		}, nil
	})
	metrics.SecondFactor.WithLabelValues(info.ID, verificationOutcome(err)).Inc()
	return err
}

// verificationOutcome labels a code check for the metrics.
func verificationOutcome(err error) string {
	if err == nil {
		return "success"
	}
	if fe, ok := failure.As(err); ok {
		switch fe.Status {
		case 401:
			return "wrong"
		case 429:
			return "throttled"
		case 409:
			return "inactive"
		}
	}
	return "error"
}

// updateState replaces whichever of the pending or active state was passed to the hook.
func (s *Service) updateState(txn store.Txn, userID uint64, info Info, newState, oldState []byte) error {
	r := records{s.Sealer}
	rec, _, err := r.get(txn, userID, info.ID)
	if err != nil {
		return err
	}
	switch {
	case rec.Pending != nil && bytes.Equal(rec.Pending, oldState):
		rec.Pending = newState
	case rec.Active != nil && bytes.Equal(rec.Active, oldState):
		rec.Active = newState
	default:
		return nil // changed meanwhile (a new setup): keep the newer state
	}
	return r.put(txn, userID, info.ID, rec)
}

// Enable activates the pending secret with its first code. The user's first active method
// also gets recovery codes, returned here once; otherwise the list is empty.
func (s *Service) Enable(ctx context.Context, p auth.Principal, methodID, code string) ([]string, error) {
	m, info, err := s.method(methodID)
	if err != nil {
		return nil, err
	}
	if rec, found, _, err := s.readRecord(ctx, p, info); err != nil {
		return nil, err
	} else if !found || rec.Pending == nil {
		return nil, failure.Conflict(info.Codes.Uninitialized)
	} else if err := additiveNeedsSudo(info, rec, p); err != nil {
		return nil, err
	}
	codes := []string{}
	pickPending := func(rec record) ([]byte, error) {
		if rec.Pending == nil {
			return nil, failure.Conflict(info.Codes.Uninitialized)
		}
		return rec.Pending, nil
	}
	err = s.guessCode(ctx, p, info, pickPending, m.Activate, code, audit.TwoFactorEnabled, func(txn store.Txn, rec record, res Result) error {
		codes = codes[:0]
		s.statusChanged(txn, p.UserID)
		active, err := ActiveMethods(txn, p.UserID)
		if err != nil {
			return err
		}
		// The sudo rule of an additive method against the record in force at commit: a
		// method activated meanwhile makes this an addition.
		cur, _, err := records{s.Sealer}.get(txn, p.UserID, info.ID)
		if err != nil && !errors.Is(err, errCorrupt) {
			return err
		}
		if err := additiveNeedsSudo(info, cur, p); err != nil {
			return err
		}
		if info.Additive && !bytes.Equal(cur.Active, rec.Active) {
			// The credentials changed since the method saw them (another enable, a sign
			// count): adding to the old set would drop that change.
			return failure.Conflict(info.Codes.Uninitialized)
		}
		rec.UniqueKeys = cur.UniqueKeys
		if rec.UniqueKeys, err = claimUniqueKeys(txn, p.UserID, info.ID, rec.UniqueKeys, res.UniqueKeys); err != nil {
			if errors.Is(err, errKeyHeld) {
				reqctx.Logger(ctx, s.Log).Warn("2FA activation refused: a credential of it is another user's", "user", p.UserID, "method", info.ID)
				return failure.Unauthorized(info.Codes.Invalid)
			}
			return err
		}
		rec.Active = rec.Pending
		if res.State != nil {
			rec.Active = res.State
		}
		rec.Pending = nil
		rec.ActiveMailTo, rec.PendingMailTo = rec.PendingMailTo, nil
		if err := (records{s.Sealer}).put(txn, p.UserID, info.ID, rec); err != nil {
			return err
		}
		if err := setActive(txn, p.UserID, ActiveEntry{Method: info.ID, CompletedAt: s.Now().UTC(), Public: res.Public, Summary: res.Summary}); err != nil {
			return err
		}
		if len(active) == 0 {
			if codes, err = s.Recovery.Generate(txn, p.UserID, s.Now()); err != nil {
				return err
			}
		}
		return s.Auth.Notify(ctx, txn, auth.NoticeTwoFactorEnabled, p.UserID, map[string]string{"Method": info.ID})
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// additiveNeedsSudo refuses to add a credential to an active additive method without a sudo
// token (401 SUDO_TOKEN_REQUIRED): enabling one more passkey is as sensitive as replacing one.
func additiveNeedsSudo(info Info, rec record, p auth.Principal) error {
	if info.Additive && rec.Active != nil && p.Claims.Type != token.Sudo {
		return failure.Unauthorized(failure.CodeSudoTokenRequired)
	}
	return nil
}

// Tokens is the answer of an authenticate: a sudo token, and with a partial token also the
// access and refresh tokens that finish the login.
type Tokens struct {
	AccessToken  string `json:"accessToken,omitempty"`
	RefreshToken string `json:"refreshToken,omitempty"`
	SudoToken    string `json:"sudoToken"`
}

// Authenticate checks a code of an active method and mints the tokens.
func (s *Service) Authenticate(ctx context.Context, p auth.Principal, methodID, code string) (Tokens, error) {
	m, info, err := s.method(methodID)
	if err != nil {
		return Tokens{}, err
	}
	pickActive := func(rec record) ([]byte, error) {
		if rec.Active == nil {
			return nil, failure.Conflict(info.Codes.Inactive)
		}
		return rec.Active, nil
	}
	if rec, _, _, err := s.readRecord(ctx, p, info); err != nil {
		return Tokens{}, err
	} else if _, err := pickActive(rec); err != nil {
		return Tokens{}, err
	}
	err = s.guessCode(ctx, p, info, pickActive, m.Verify, code, audit.TwoFactorVerified, func(txn store.Txn, rec record, res Result) error {
		if res.State != nil {
			rec.Active = res.State
			if err := (records{s.Sealer}).put(txn, p.UserID, info.ID, rec); err != nil {
				return err
			}
		}
		if res.Summary != nil {
			if err := s.setSummary(txn, p.UserID, info, res.Summary); err != nil {
				return err
			}
		}
		return s.finishLogin(txn, p)
	})
	if err != nil {
		return Tokens{}, err
	}
	return s.mint(p)
}

// setSummary replaces what GET /user/2fa shows of an active method, in txn.
func (s *Service) setSummary(txn store.Txn, userID uint64, info Info, summary []byte) error {
	entry, active, err := getActive(txn, userID, info.ID)
	if err != nil || !active {
		return err
	}
	s.statusChanged(txn, userID)
	entry.Summary = summary
	return setActive(txn, userID, entry)
}

// finishLogin extends a partial session to a full one.
func (s *Service) finishLogin(txn store.Txn, p auth.Principal) error {
	if p.Claims.Type != token.Partial {
		return nil
	}
	return s.Auth.ExtendSession(txn, p.Claims.SessionID)
}

func (s *Service) mint(p auth.Principal) (Tokens, error) {
	var t Tokens
	var err error
	if t.SudoToken, err = s.Auth.Minter.Mint(token.Sudo, p.UserID, p.Claims.SessionID); err != nil {
		return t, err
	}
	if p.Claims.Type == token.Partial {
		if t.AccessToken, err = s.Auth.Minter.Mint(token.Access, p.UserID, p.Claims.SessionID); err != nil {
			return t, err
		}
		t.RefreshToken, err = s.Auth.Minter.Mint(token.Refresh, p.UserID, p.Claims.SessionID)
	}
	return t, err
}

// Challenge asks an active challenge method to send a code (email OTP) or to make a challenge
// for the client (a passkey's request options). It returns the method's client data, a JSON
// object, or nil.
func (s *Service) Challenge(ctx context.Context, p auth.Principal, methodID string, mc MailContext) (json.RawMessage, error) {
	m, info, err := s.method(methodID)
	if err != nil {
		return nil, err
	}
	rec, _, req, err := s.readRecord(ctx, p, info)
	if err != nil {
		return nil, err
	}
	if rec.Active == nil {
		return nil, failure.Conflict(info.Codes.Uninitialized)
	}
	if err := s.sendAllowed(p, info); err != nil {
		return nil, err
	}
	req.State = rec.Active
	res, err := m.Challenge(ctx, req)
	if err != nil {
		return nil, err
	}
	if res.Denied {
		return nil, failure.BadRequest(denialMessage(res, "challenge refused"))
	}
	return res.ClientData, s.Store.Update(func(txn store.Txn) error {
		if res.State != nil {
			if err := s.updateState(txn, p.UserID, info, res.State, rec.Active); err != nil {
				return err
			}
		}
		to, err := s.activeRecipients(txn, p.UserID, info, rec, req.Email)
		if err != nil {
			return err
		}
		return s.send(txn, p, info, res.Messages, mc, to)
	})
}

// activeRecipients are the addresses a challenge of the active state may mail: the account's
// and the ones given at its setup. A record from before the core kept them falls back to the
// address the active method shows in GET /user/2fa (what email OTP confirmed at its enable).
func (s *Service) activeRecipients(txn store.Txn, userID uint64, info Info, rec record, accountEmail string) (recipients, error) {
	to := recipients{account: accountEmail}
	if rec.ActiveMailTo != nil {
		to.given = rec.ActiveMailTo.Addresses
		return to, nil
	}
	entry, active, err := getActive(txn, userID, info.ID)
	if err != nil {
		return to, err
	}
	if email := entry.Public["email"]; active && account.ValidEmail(email) {
		to.given = []string{email}
	}
	return to, nil
}

// NextGuess returns how long until the method's next code may be checked.
func (s *Service) NextGuess(ctx context.Context, p auth.Principal, methodID string) (time.Duration, error) {
	info, err := s.initialized(ctx, p, methodID)
	if err != nil {
		return 0, err
	}
	return s.Limiter.Wait(factor(info), subject(p.UserID))
}

// Delete deactivates a method; deactivating the last one turns 2FA off and deletes the
// recovery codes. The account's address gets a notice (ctx: the request's language and IP).
func (s *Service) Delete(ctx context.Context, p auth.Principal, methodID string) error {
	_, info, err := s.method(methodID)
	if err != nil {
		return err
	}
	return s.Store.Update(func(txn store.Txn) error {
		s.statusChanged(txn, p.UserID)
		if _, active, err := getActive(txn, p.UserID, info.ID); err != nil {
			return err
		} else if !active {
			return failure.Conflict(info.Codes.AlreadyInactive)
		}
		rec, _, err := records{s.Sealer}.get(txn, p.UserID, info.ID)
		if err != nil && !errors.Is(err, errCorrupt) {
			return err
		}
		if err := releaseUniqueKeys(txn, p.UserID, rec); err != nil {
			return err
		}
		if err := txn.Delete(recordKey(p.UserID, info.ID)); err != nil {
			return err
		}
		if err := txn.Delete(activeKey(p.UserID, info.ID)); err != nil {
			return err
		}
		if err := s.record(ctx, txn, p.UserID, info.ID, audit.TwoFactorDisabled, audit.Success); err != nil {
			return err
		}
		if err := s.Auth.Notify(ctx, txn, auth.NoticeTwoFactorDisabled, p.UserID, map[string]string{"Method": info.ID}); err != nil {
			return err
		}
		if still, err := s.HasActiveMethod(txn, p.UserID); err != nil || still {
			return err
		}
		return recovery.Delete(txn, p.UserID)
	})
}

// RecoveryAuthenticate uses up one recovery code and mints the tokens; the account's address
// gets a notice.
func (s *Service) RecoveryAuthenticate(ctx context.Context, p auth.Principal, code string) (Tokens, error) {
	if err := s.Store.View(func(txn store.Txn) error {
		_, err := recovery.Get(txn, p.UserID)
		if errors.Is(err, recovery.ErrNone) {
			return failure.Conflict(CodeRecoveryUninitialized)
		}
		return err
	}); err != nil {
		return Tokens{}, err
	}
	refused := s.refusedEvent(ctx, p.UserID, "", audit.RecoveryCodeThrottled)
	err := s.Limiter.GuessNoting(RecoveryFactor, subject(p.UserID), refused, func() (limit.Outcome, func(store.Txn) error, error) {
		var set recovery.Set
		if err := s.Store.View(func(txn store.Txn) error {
			var err error
			set, err = recovery.Get(txn, p.UserID)
			return err
		}); err != nil {
			if errors.Is(err, recovery.ErrNone) {
				return limit.NotCounted, nil, failure.Conflict(CodeRecoveryUninitialized)
			}
			return limit.NotCounted, nil, err
		}
		i := s.Recovery.Match(set, code)
		if i < 0 {
			return limit.Wrong, s.withEvent(ctx, p.UserID, "", audit.RecoveryCodeFailed, audit.Failure, nil), failure.Unauthorized(CodeRecoveryInvalid)
		}
		mac := set.MAC(i)
		return limit.Right, func(txn store.Txn) error {
			if err := recovery.Consume(txn, p.UserID, mac); err != nil {
				if errors.Is(err, recovery.ErrNone) {
					return failure.Unauthorized(CodeRecoveryInvalid)
				}
				return err
			}
			if err := s.record(ctx, txn, p.UserID, "", audit.RecoveryCodeUsed, audit.Success); err != nil {
				return err
			}
			if err := s.Auth.Notify(ctx, txn, auth.NoticeRecoveryCodeUsed, p.UserID, nil); err != nil {
				return err
			}
			return s.finishLogin(txn, p)
		}, nil
	})
	metrics.SecondFactor.WithLabelValues("recovery-code", verificationOutcome(err)).Inc()
	if err != nil {
		return Tokens{}, err
	}
	return s.mint(p)
}

// RecoveryReset replaces the user's recovery codes (2FA must be on); the account's address
// gets a notice.
func (s *Service) RecoveryReset(ctx context.Context, p auth.Principal) ([]string, error) {
	var codes []string
	err := s.Store.Update(func(txn store.Txn) error {
		s.statusChanged(txn, p.UserID)
		active, err := s.HasActiveMethod(txn, p.UserID)
		if err != nil {
			return err
		}
		if !active {
			return failure.Conflict(Code2FADisabled)
		}
		if codes, err = s.Recovery.Generate(txn, p.UserID, s.Now()); err != nil {
			return err
		}
		if err := s.record(ctx, txn, p.UserID, "", audit.RecoveryCodesReset, audit.Success); err != nil {
			return err
		}
		return s.Auth.Notify(ctx, txn, auth.NoticeRecoveryCodesReset, p.UserID, nil)
	})
	return codes, err
}

// RecoveryNextGuess returns how long until the next recovery code may be checked.
func (s *Service) RecoveryNextGuess(p auth.Principal) (time.Duration, error) {
	if err := s.Store.View(func(txn store.Txn) error {
		_, err := recovery.Get(txn, p.UserID)
		if errors.Is(err, recovery.ErrNone) {
			return failure.Conflict(CodeRecoveryUninitialized)
		}
		return err
	}); err != nil {
		return 0, err
	}
	return s.Limiter.Wait(RecoveryFactor, subject(p.UserID))
}
