package auth

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/core/account"
	"github.com/gatehouse/gatehouse/core/failure"
	"github.com/gatehouse/gatehouse/core/limit"
	"github.com/gatehouse/gatehouse/core/mail"
	"github.com/gatehouse/gatehouse/core/otp"
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

// MailContext selects the branding and language of an email.
type MailContext struct {
	Origin, Language string
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
// and the same store write, and no mail.
func (s *Service) SendReset(email, purpose string, mc MailContext) error {
	if s.DenyList != nil && s.DenyList.Denied(email) {
		return failure.Forbidden(failure.CodeForbiddenMailDomain)
	}
	if err := s.Mail.Check(purpose, mc.Origin, mc.Language); err != nil {
		return err
	}
	return s.Store.Update(func(txn store.Txn) error {
		if err := s.Limiter.TakeSend(txn, limit.DefaultSendPolicy, ResetMailFactor, addressSubject(email)); err != nil {
			return err
		}
		acct, err := account.ByEmail(txn, email)
		if errors.Is(err, account.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		code, err := s.Codes.Issue(txn, resetKey(acct.ID), s.Now(), nil)
		if err != nil {
			return err
		}
		vars := map[string]string{"Code": code, "Email": acct.Email}
		if purpose == mail.PurposeForgotPassword {
			vars["Link"] = s.Links.ResetLink(mc.Origin, acct.Email, code)
		}
		return s.Mail.Enqueue(txn, mail.Outgoing{To: acct.Email, Purpose: purpose, Vars: s.MailVars(vars), Origin: mc.Origin, Language: mc.Language})
	})
}

// checkResetCode runs one reset-code guess for email under its limiter; on a right code it
// calls onRight to do the action in the same transaction.
func (s *Service) checkResetCode(email, code string, prepare func(acct account.Account) error, onRight func(txn store.Txn, acct account.Account) error) error {
	return s.Limiter.Guess(ResetOTPFactor, addressSubject(email), func() (limit.Outcome, func(store.Txn) error, error) {
		var acct account.Account
		right := false
		err := s.Store.Update(func(txn store.Txn) error {
			var err error
			acct, err = account.ByEmail(txn, email)
			if errors.Is(err, account.ErrNotFound) {
				right = false
				return nil
			}
			if err != nil {
				return err
			}
			right, _, err = s.Codes.Check(txn, resetKey(acct.ID), code, s.Now())
			return err
		})
		if err != nil {
			return limit.NotCounted, nil, err
		}
		if !right {
			return limit.Wrong, nil, failure.Unauthorized(CodeOTPInvalid)
		}
		if prepare != nil {
			if err := prepare(acct); err != nil {
				return limit.NotCounted, nil, err
			}
		}
		if onRight == nil {
			return limit.Right, nil, nil
		}
		return limit.Right, func(txn store.Txn) error { return onRight(txn, acct) }, nil
	})
}

// ValidateReset checks a reset code without using it up.
func (s *Service) ValidateReset(email, code string) error {
	return s.checkResetCode(email, code, nil, nil)
}

// ResetPassword sets a new password with a reset code, uses the code up and revokes every
// session of the user.
func (s *Service) ResetPassword(ctx context.Context, email, code, newPw string) error {
	if err := s.checkPolicy(ctx, email, newPw, "newPassword"); err != nil {
		return err
	}
	var hash string
	defer s.sessionsRevoked()
	return s.checkResetCode(email, code, func(account.Account) error {
		var err error
		hash, err = s.Hasher.Hash(ctx, newPw)
		return hashError(err)
	}, func(txn store.Txn, acct account.Account) error {
		if err := txn.Delete(resetKey(acct.ID)); err != nil {
			return err
		}
		if err := s.Limiter.Reset(txn, limit.Password, userSubject(acct.ID)); err != nil {
			return err
		}
		return s.SetPassword(txn, acct.ID, hash, "")
	})
}

// InitiateTransfer mails a code to newEmail that moves p's account to it.
func (s *Service) InitiateTransfer(p Principal, newEmail string, mc MailContext) error {
	if !account.ValidEmail(newEmail) {
		return failure.BadRequest(CodeInvalidEmailAddress)
	}
	if s.DenyList != nil && s.DenyList.Denied(newEmail) {
		return failure.Forbidden(failure.CodeForbiddenMailDomain)
	}
	if err := s.Mail.Check(mail.PurposeTransferCode, mc.Origin, mc.Language); err != nil {
		return err
	}
	return s.Store.Update(func(txn store.Txn) error {
		if other, err := account.ByEmail(txn, newEmail); err == nil && other.ID != p.UserID {
			return failure.Conflict(CodeNewEmailInUse)
		} else if err != nil && !errors.Is(err, account.ErrNotFound) {
			return err
		}
		acct, err := account.Get(txn, p.UserID)
		if err != nil {
			return err
		}
		if err := s.Limiter.TakeSend(txn, limit.DefaultSendPolicy, TransferFactor, userSubject(p.UserID)); err != nil {
			return err
		}
		code, err := s.Codes.Issue(txn, transferKey(p.UserID), s.Now(), map[string]string{
			"newEmail": newEmail, "origin": mc.Origin, "language": mc.Language})
		if err != nil {
			return err
		}
		return s.Mail.Enqueue(txn, mail.Outgoing{To: newEmail, Purpose: mail.PurposeTransferCode,
			Vars: s.MailVars(map[string]string{"Code": code, "Email": acct.Email, "NewEmail": newEmail}), Origin: mc.Origin, Language: mc.Language})
	})
}

// CompleteTransfer moves p's account to the pending new address with its code and tells the
// old address.
func (s *Service) CompleteTransfer(p Principal, code string) error {
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
		if _, err := account.ChangeEmail(txn, acct, data["newEmail"], CodeNewEmailInUse); err != nil {
			return err
		}
		if err := txn.Delete(transferKey(p.UserID)); err != nil {
			return err
		}
		return s.Mail.Enqueue(txn, mail.Outgoing{To: oldEmail, Purpose: mail.PurposeTransferNotice,
			Vars:   s.MailVars(map[string]string{"Email": oldEmail, "NewEmail": data["newEmail"]}),
			Origin: data["origin"], Language: data["language"]})
	})
	if err != nil {
		return err
	}
	return result
}
