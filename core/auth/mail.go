package auth

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/core/account"
	"github.com/gatehouse/gatehouse/core/audit"
	"github.com/gatehouse/gatehouse/core/failure"
	"github.com/gatehouse/gatehouse/core/limit"
	"github.com/gatehouse/gatehouse/core/mail"
	"github.com/gatehouse/gatehouse/core/otp"
	"github.com/gatehouse/gatehouse/core/reqctx"
	"github.com/gatehouse/gatehouse/core/store"
)

// Message codes of the reset and transfer flows.
const (
	CodeOTPInvalid          = "OTP_INVALID_EXPIRED"
	CodeTooManyResetMails   = "TOO_MANY_RESET_MAIL_ATTEMPTS"
	CodeTooManyOTPChecks    = "TOO_MANY_OTP_CHECKS"
	CodeTooManyTransfers    = "TOO_MANY_TRANSFER_ATTEMPTS"
	CodeNewEmailInUse       = "NEW_EMAIL_ALREADY_IN_USE"
	CodeNoPendingTransfer   = "NO_PENDING_EMAIL_TRANSFER"
	CodeInvalidEmailAddress = "Invalid email address"
)

// Limiter factors of the reset and transfer flows.
var (
	ResetMailFactor = limit.Factor{Name: "mail-reset", Code: CodeTooManyResetMails}
	ResetOTPFactor  = limit.Factor{Name: "reset-otp", Code: CodeTooManyOTPChecks}
	TransferFactor  = limit.Factor{Name: "mail-transfer", Code: CodeTooManyTransfers}
)

// Mailer queues emails in the transaction of the change that causes them.
type Mailer interface {
	// Enqueue renders and queues m in txn.
	Enqueue(txn store.Txn, m mail.Outgoing) error
	// Check fails with 500 UNABLE_TO_FIND_MAIL_TEMPLATE when the template is missing.
	Check(purpose, origin, language string) error
}

// MailContext selects the branding and language of an email, and names the request that
// queues it.
type MailContext struct {
	Origin, Language string
	// RequestID is the request's id (reqctx): the queued message carries it to its delivery's
	// plugin call and log lines.
	RequestID string
}

// Links builds the links that emails carry.
type Links struct {
	// PublicURL is the base of links when the request's origin is not an allowed one.
	PublicURL string
	// Origins are the origins allowed as link bases.
	Origins []string
}

// ResetLink is the link of the forgot-password email: the same code PUT /user/password/otp takes.
func (l Links) ResetLink(origin, email, code string) string {
	base := strings.TrimRight(l.PublicURL, "/")
	for _, o := range l.Origins {
		if strings.EqualFold(strings.TrimRight(o, "/"), strings.TrimRight(origin, "/")) {
			base = strings.TrimRight(origin, "/")
		}
	}
	return base + "/reset-password?email=" + url.QueryEscape(email) + "&otp=" + code
}

func addressSubject(email string) limit.Subject {
	return limit.Subject{Key: "n/" + account.NormalizeEmail(email)}
}

func resetKey(userID uint64) []byte    { return store.Key("reset", strconv.FormatUint(userID, 10)) }
func transferKey(userID uint64) []byte { return store.Key("transfer", strconv.FormatUint(userID, 10)) }

// MailVars are the template variables every email gets (Service, ExpiresMinutes) plus extra.
func (s *Service) MailVars(extra map[string]string) map[string]string {
	v := map[string]string{"Service": s.ServiceName, "ExpiresMinutes": "10"}
	for k, x := range extra {
		v[k] = x
	}
	return v
}

// SendReset mails a password-reset code (purpose mail.PurposePasswordReset) or a link carrying
// it (mail.PurposeForgotPassword). An unknown address gets the same answer, the same limiter
// and one synced write of one limiter record, and no mail. The send limiter comes first: a
// refused request touches neither the templates nor the account.
func (s *Service) SendReset(email, purpose string, mc MailContext) error {
	if s.DenyList != nil && s.DenyList.Denied(email) {
		return failure.Forbidden(failure.CodeForbiddenMailDomain)
	}
	return s.Store.Update(func(txn store.Txn) error {
		acct, err := account.ByEmail(txn, email)
		known := err == nil
		if err != nil && !errors.Is(err, account.ErrNotFound) {
			return err
		}
		subject := addressSubject(email)
		if known {
			subject = userSubject(acct.ID)
		}
		if err := s.Limiter.TakeSend(txn, limit.DefaultSendPolicy, ResetMailFactor, subject); err != nil {
			return err
		}
		if err := s.Mail.Check(purpose, mc.Origin, mc.Language); err != nil {
			return err
		}
		if !known {
			return nil
		}
		code, err := s.Codes.Issue(txn, resetKey(acct.ID), s.Now(), nil)
		if err != nil {
			return err
		}
		// The new code starts with a clean counter: failures that others made against the
		// address before it was delivered do not keep its owner out.
		if err := s.Limiter.Reset(txn, ResetOTPFactor, userSubject(acct.ID)); err != nil {
			return err
		}
		vars := map[string]string{"Code": code, "Email": acct.Email}
		if purpose == mail.PurposeForgotPassword {
			vars["Link"] = s.Links.ResetLink(mc.Origin, acct.Email, code)
		}
		return s.Mail.Enqueue(txn, mail.Outgoing{To: acct.Email, Purpose: purpose, Vars: s.MailVars(vars), Origin: mc.Origin, Language: mc.Language, RequestID: mc.RequestID})
	})
}

// endPendingCodes ends the mailed codes pending for userID (a reset, an address transfer, an
// address verification): called in the transaction of a password or address change (and of the
// account's deletion), so a code mailed before the change cannot be used after it.
func endPendingCodes(txn store.Txn, userID uint64) error {
	if err := txn.Delete(resetKey(userID)); err != nil {
		return err
	}
	// An address verification code too: one mailed to the old address must not verify the new.
	if err := txn.Delete(verifyKey(userID)); err != nil {
		return err
	}
	return txn.Delete(transferKey(userID))
}

// checkResetCode runs one reset-code guess for email under its limiter, in one transaction
// with the code's own count of tries; on a right code it calls onRight to do the action in the
// same transaction. A known and an unknown address cost the same: one synced commit.
func (s *Service) checkResetCode(email, code string, onRight func(txn store.Txn, acct account.Account) error) error {
	var subject limit.Subject
	if err := s.Store.View(func(txn store.Txn) error {
		acct, err := account.ByEmail(txn, email)
		switch {
		case err == nil:
			subject = userSubject(acct.ID)
		case errors.Is(err, account.ErrNotFound):
			subject = addressSubject(email)
		default:
			return err
		}
		return nil
	}); err != nil {
		return err
	}
	return s.Limiter.GuessInTxn(ResetOTPFactor, subject, func(txn store.Txn) (limit.Outcome, error) {
		acct, err := account.ByEmail(txn, email)
		if errors.Is(err, account.ErrNotFound) || (err == nil && userSubject(acct.ID) != subject) {
			return limit.Wrong, failure.Unauthorized(CodeOTPInvalid)
		}
		if err != nil {
			return limit.NotCounted, err
		}
		right, _, err := s.Codes.Check(txn, resetKey(acct.ID), code, s.Now())
		if err != nil {
			return limit.NotCounted, err
		}
		if !right {
			return limit.Wrong, failure.Unauthorized(CodeOTPInvalid)
		}
		if onRight != nil {
			if err := onRight(txn, acct); err != nil {
				return limit.NotCounted, err
			}
		}
		return limit.Right, nil
	})
}

// ValidateReset checks a reset code without using it up.
func (s *Service) ValidateReset(email, code string) error {
	return s.checkResetCode(email, code, nil)
}

// ResetPassword sets a new password with a reset code, uses the code up and revokes every
// session of the user.
func (s *Service) ResetPassword(ctx context.Context, email, code, newPw string) error {
	if err := s.checkPolicy(ctx, email, newPw, "newPassword"); err != nil {
		return err
	}
	// The new hash is made before the guess (a slow hash must not run inside the
	// transaction); a wrong code wastes it, which costs the guesser and not the store.
	hash, err := s.Hasher.Hash(ctx, newPw)
	if err != nil {
		return hashError(err)
	}
	return s.checkResetCode(email, code, func(txn store.Txn, acct account.Account) error {
		if err := s.Limiter.Reset(txn, limit.Password, userSubject(acct.ID)); err != nil {
			return err
		}
		if err := s.SetPassword(txn, acct.ID, hash, ""); err != nil {
			return err
		}
		// The code came to the address: it receives mail.
		if err := s.markVerified(txn, acct.ID); err != nil {
			return err
		}
		if err := s.Notify(ctx, txn, NoticePasswordReset, acct.ID, nil); err != nil {
			return err
		}
		return s.Audit.Record(ctx, txn, audit.Event{Type: audit.PasswordReset, UserID: acct.ID})
	})
}

// InitiateTransfer mails a code to newEmail that moves p's account to it.
func (s *Service) InitiateTransfer(ctx context.Context, p Principal, newEmail string, mc MailContext) error {
	if !account.ValidEmail(newEmail) {
		return failure.BadRequest(CodeInvalidEmailAddress)
	}
	if s.DenyList != nil && s.DenyList.Denied(newEmail) {
		return failure.Forbidden(failure.CodeForbiddenMailDomain)
	}
	var result error
	err := s.Store.Update(func(txn store.Txn) error {
		result = nil
		// The limiters first, and committed whatever the answer: probing which addresses are
		// taken costs sends like asking for a code does. One limit per account and one per
		// recipient, so many throwaway accounts cannot flood one mailbox either.
		if err := s.Limiter.TakeSend(txn, limit.DefaultSendPolicy, TransferFactor, userSubject(p.UserID)); err != nil {
			return err
		}
		if err := s.Limiter.TakeSend(txn, limit.DefaultSendPolicy, RecipientFactor(TransferFactor), addressSubject(newEmail)); err != nil {
			return err
		}
		if other, err := account.ByEmail(txn, newEmail); err == nil && other.ID != p.UserID {
			result = failure.Conflict(CodeNewEmailInUse) // the contract's answer; the sends are taken
			return nil
		} else if err != nil && !errors.Is(err, account.ErrNotFound) {
			return err
		}
		if err := s.Mail.Check(mail.PurposeTransferCode, mc.Origin, mc.Language); err != nil {
			return err
		}
		acct, err := account.Get(txn, p.UserID)
		if err != nil {
			return err
		}
		code, err := s.Codes.Issue(txn, transferKey(p.UserID), s.Now(), map[string]string{
			"newEmail": newEmail, "origin": mc.Origin, "language": mc.Language})
		if err != nil {
			return err
		}
		if err := s.Audit.Record(ctx, txn, audit.Event{Type: audit.TransferStarted, UserID: p.UserID}); err != nil {
			return err
		}
		return s.Mail.Enqueue(txn, mail.Outgoing{To: newEmail, Purpose: mail.PurposeTransferCode,
			Vars: s.MailVars(map[string]string{"Code": code, "Email": acct.Email, "NewEmail": newEmail}), Origin: mc.Origin, Language: mc.Language, RequestID: mc.RequestID})
	})
	if err != nil {
		return err
	}
	return result
}

// RecipientFactor is the per-recipient send limit that goes with a send factor whose subject
// is the sender (an account), for mail to an address that is not the account's own (a transfer
// code, an email-otp setup): one counter per address for all such purposes, so the address
// gets at most the send policy's mails a day, whoever asks. It answers with f's 429 code.
func RecipientFactor(f limit.Factor) limit.Factor {
	return limit.Factor{Name: "mail-to-address", Code: f.Code}
}

// CompleteTransfer moves p's account to the pending new address with its code and tells the
// old address. ctx names the request (reqctx) in the notice's delivery.
func (s *Service) CompleteTransfer(ctx context.Context, p Principal, code string) error {
	var result error
	err := s.Store.Update(func(txn store.Txn) error {
		result = nil
		if _, err := otp.Get(txn, transferKey(p.UserID)); errors.Is(err, otp.ErrNone) {
			return failure.Conflict(CodeNoPendingTransfer)
		} else if err != nil {
			return err
		}
		right, data, err := s.Codes.Check(txn, transferKey(p.UserID), code, s.Now())
		if err != nil {
			return err
		}
		if !right {
			result = failure.Unauthorized(CodeOTPInvalid) // the counted try commits
			return nil
		}
		acct, err := account.Get(txn, p.UserID)
		if err != nil {
			return err
		}
		oldEmail := acct.Email
		acct, err = account.ChangeEmail(txn, acct, data["newEmail"], CodeNewEmailInUse)
		if err != nil {
			return err
		}
		// The code came to the new address: it receives mail.
		if !acct.EmailVerified {
			acct.EmailVerified = true
			if err := account.Put(txn, acct); err != nil {
				return err
			}
		}
		if err := endPendingCodes(txn, p.UserID); err != nil {
			return err
		}
		if err := s.Audit.Record(ctx, txn, audit.Event{Type: audit.TransferCompleted, UserID: p.UserID}); err != nil {
			return err
		}
		if !s.noticeOn(NoticeEmailChanged) {
			return nil
		}
		// The old address is told in the language and branding of the request that started
		// the transfer.
		return s.Mail.Enqueue(txn, mail.Outgoing{To: oldEmail, Purpose: mail.PurposeTransferNotice,
			Vars:   s.noticeVars(ctx, oldEmail, map[string]string{"NewEmail": data["newEmail"]}),
			Origin: data["origin"], Language: data["language"], RequestID: reqctx.ID(ctx)})
	})
	if err != nil {
		return err
	}
	return result
}
