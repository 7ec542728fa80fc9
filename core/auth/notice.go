package auth

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/core/account"
	"github.com/gatehouse/gatehouse/core/failure"
	"github.com/gatehouse/gatehouse/core/limit"
	"github.com/gatehouse/gatehouse/core/mail"
	"github.com/gatehouse/gatehouse/core/reqctx"
	"github.com/gatehouse/gatehouse/core/store"
)

// Security notices: mail to the account's address when something that guards the account
// changes, queued in the transaction of the change (so a change that commits always tells, and
// one that does not never does). Each names the time, the client address and what to do when
// it was not the holder. GATEHOUSE_NOTICES turns each off.
const (
	NoticePasswordChanged    = "password-changed"
	NoticePasswordReset      = "password-reset"
	NoticeTwoFactorEnabled   = "2fa-enabled"
	NoticeTwoFactorDisabled  = "2fa-disabled"
	NoticeRecoveryCodesReset = "recovery-codes-reset"
	NoticeRecoveryCodeUsed   = "recovery-code-used"
	NoticeEmailChanged       = "email-changed"
	NoticeAccountDeleted     = "account-deleted"
)

// NoticePurpose is the mail template of a notice event. The address change's is the transfer
// notice the old address has always been sent.
func NoticePurpose(event string) string {
	if event == NoticeEmailChanged {
		return mail.PurposeTransferNotice
	}
	return "notice-" + event
}

// noticeOn reports whether event's notice is mailed.
func (s *Service) noticeOn(event string) bool { return !s.NoticesOff[event] }

// noticeVars are the variables of every notice: the time of the change and the client address
// of the request that made it (from ctx).
func (s *Service) noticeVars(ctx context.Context, email string, extra map[string]string) map[string]string {
	ip := "unknown"
	if info, ok := reqctx.From(ctx); ok && info.ClientIP.IsValid() {
		ip = info.ClientIP.String()
	}
	vars := map[string]string{"Email": email, "Time": s.Now().UTC().Format(time.RFC1123), "IP": ip}
	for k, v := range extra {
		vars[k] = v
	}
	return s.MailVars(vars)
}

// noticeMail is the notice of event to email in the language and branding of the request ctx
// belongs to. A language or an origin without that template falls back to the default's: the
// change the holder asked for is not refused for its notice.
func (s *Service) noticeMail(ctx context.Context, event, email string, extra map[string]string) mail.Outgoing {
	info, _ := reqctx.From(ctx)
	m := mail.Outgoing{To: email, Purpose: NoticePurpose(event), Vars: s.noticeVars(ctx, email, extra),
		Origin: info.MailOrigin, Language: info.Language, RequestID: info.RequestID}
	if s.Mail.Check(m.Purpose, m.Origin, m.Language) != nil {
		m.Language = ""
		if s.Mail.Check(m.Purpose, m.Origin, m.Language) != nil {
			m.Origin = ""
		}
	}
	return m
}

// Notify queues event's notice to the address of account userID in txn, unless that notice is
// off. extra adds template variables (Method: the 2FA method's id). Call it in the transaction
// that commits the change.
func (s *Service) Notify(ctx context.Context, txn store.Txn, event string, userID uint64, extra map[string]string) error {
	if !s.noticeOn(event) || s.Mail == nil {
		return nil
	}
	acct, err := account.Get(txn, userID)
	if err != nil {
		return err
	}
	return s.NotifyAddress(ctx, txn, event, acct.Email, extra)
}

// NotifyAddress queues event's notice to email in txn, unless that notice is off: for a change
// after which the account's address is not the one to tell (an address change, a deletion).
func (s *Service) NotifyAddress(ctx context.Context, txn store.Txn, event, email string, extra map[string]string) error {
	if !s.noticeOn(event) || s.Mail == nil {
		return nil
	}
	if s.Limiter != nil {
		// At most NoticePolicy.PerDay notices of one kind to one address a day: the change
		// commits either way, and a holder who changes a password a thousand times (or a
		// script holding their session) does not flood the mailbox and the outbox.
		subject := limit.Subject{Key: "n/" + account.NormalizeEmail(email)}
		if err := s.Limiter.TakeSend(txn, NoticePolicy, noticeFactor(event), subject); err != nil {
			if fe, ok := failure.As(err); ok && fe.Status == 429 {
				reqctx.Logger(ctx, s.Log).Info("security notice not sent: the daily cap of this notice to this address is reached", "notice", event)
				return nil
			}
			return err
		}
	}
	return s.Mail.Enqueue(txn, s.noticeMail(ctx, event, email, extra))
}

// NoticePolicy caps the notices of one kind to one address: no interval (every change of a
// day's first ones tells), at most 10 a day.
var NoticePolicy = limit.SendPolicy{PerDay: 10}

// noticeFactor is the send counter of event's notices.
func noticeFactor(event string) limit.Factor {
	return limit.Factor{Name: "notice-" + event, Code: "TOO_MANY_NOTICES"}
}
