package auth

import (
	"context"
	"errors"
	"strconv"

	"github.com/gatehouse/gatehouse/core/account"
	"github.com/gatehouse/gatehouse/core/failure"
	"github.com/gatehouse/gatehouse/core/limit"
	"github.com/gatehouse/gatehouse/core/mail"
	"github.com/gatehouse/gatehouse/core/reqctx"
	"github.com/gatehouse/gatehouse/core/store"
)

// Email verification (GATEHOUSE_VERIFY_EMAIL=required): registration mails a 6-digit code to
// the new address, and until the code comes back the account's login answers 403
// EMAIL_NOT_VERIFIED, after the right password only (a wrong one is the usual 401, so the
// answer tells nothing to whoever does not know the password). The holder has no token yet:
// the verify endpoints take the address in the body instead of a token, and then answer as the
// reset endpoints do (the same answer for an unknown address, the same limiters).

// Message codes of the email verification.
const (
	CodeEmailNotVerified       = "EMAIL_NOT_VERIFIED"
	CodeEmailAlreadyVerified   = "EMAIL_ALREADY_VERIFIED"
	CodeTooManyVerifyMails     = "TOO_MANY_VERIFY_MAIL_ATTEMPTS"
	CodeVerificationNotPending = "NO_PENDING_EMAIL_VERIFICATION"
)

// Limiter factors of the email verification: its mails, and its code guesses (which answer
// with the reset codes' TOO_MANY_OTP_CHECKS).
var (
	VerifyMailFactor = limit.Factor{Name: "mail-verify", Code: CodeTooManyVerifyMails}
	VerifyOTPFactor  = limit.Factor{Name: "verify-otp", Code: CodeTooManyOTPChecks}
)

func verifyKey(userID uint64) []byte { return store.Key("verify", strconv.FormatUint(userID, 10)) }

// mailContext is the branding and language of the request ctx belongs to (reqctx).
func mailContext(ctx context.Context) MailContext {
	info, _ := reqctx.From(ctx)
	return MailContext{Origin: info.MailOrigin, Language: info.Language, RequestID: info.RequestID}
}

// queueVerification issues a new verification code for acct in txn and queues its mail,
// under the send limiter of subject.
func (s *Service) queueVerification(txn store.Txn, acct account.Account, subject limit.Subject, mc MailContext) error {
	if err := s.Limiter.TakeSend(txn, limit.DefaultSendPolicy, VerifyMailFactor, subject); err != nil {
		return err
	}
	if err := s.Mail.Check(mail.PurposeVerifyEmail, mc.Origin, mc.Language); err != nil {
		return err
	}
	code, err := s.Codes.Issue(txn, verifyKey(acct.ID), s.Now(), nil)
	if err != nil {
		return err
	}
	// A new code starts with a clean counter, as a reset code does.
	if err := s.Limiter.Reset(txn, VerifyOTPFactor, userSubject(acct.ID)); err != nil {
		return err
	}
	return s.Mail.Enqueue(txn, mail.Outgoing{To: acct.Email, Purpose: mail.PurposeVerifyEmail,
		Vars: s.MailVars(map[string]string{"Code": code, "Email": acct.Email}), Origin: mc.Origin, Language: mc.Language, RequestID: mc.RequestID})
}

// SendVerification mails a new verification code. With a principal (p non-nil) it is p's
// account: 409 EMAIL_ALREADY_VERIFIED when there is nothing to verify. Without one it is the
// account of email, and every address gets the same answer, null, and the same send limiter;
// only an account that is not verified yet gets a mail.
func (s *Service) SendVerification(ctx context.Context, p *Principal, email string) error {
	mc := mailContext(ctx)
	var result error
	err := s.Store.Update(func(txn store.Txn) error {
		result = nil
		var acct account.Account
		var err error
		if p != nil {
			acct, err = account.Get(txn, p.UserID)
			if errors.Is(err, account.ErrNotFound) {
				return failure.Unauthorized(failure.CodeTokenRevoked)
			}
		} else {
			acct, err = account.ByEmail(txn, email)
		}
		known := err == nil
		if err != nil && !errors.Is(err, account.ErrNotFound) {
			return err
		}
		subject := addressSubject(email)
		if known {
			subject = userSubject(acct.ID)
		}
		if !known || acct.EmailVerified {
			if p != nil {
				return failure.Conflict(CodeEmailAlreadyVerified)
			}
			// Counted like a real send, so the answers cannot be told apart.
			if err := s.Limiter.TakeSend(txn, limit.DefaultSendPolicy, VerifyMailFactor, subject); err != nil {
				return err
			}
			return s.Mail.Check(mail.PurposeVerifyEmail, mc.Origin, mc.Language)
		}
		return s.queueVerification(txn, acct, subject, mc)
	})
	if err != nil {
		return err
	}
	return result
}

// VerifyEmail confirms an address with its mailed code, under the guess limiter. With a
// principal it is p's account (409 EMAIL_ALREADY_VERIFIED when it is, 409
// NO_PENDING_EMAIL_VERIFICATION when no code is pending); without one the account of email,
// every wrong case being the same 401 OTP_INVALID_EXPIRED.
func (s *Service) VerifyEmail(ctx context.Context, p *Principal, email, code string) error {
	var subject limit.Subject
	var userID uint64
	if err := s.Store.View(func(txn store.Txn) error {
		var acct account.Account
		var err error
		if p != nil {
			acct, err = account.Get(txn, p.UserID)
			if errors.Is(err, account.ErrNotFound) {
				return failure.Unauthorized(failure.CodeTokenRevoked)
			}
			if err == nil && acct.EmailVerified {
				return failure.Conflict(CodeEmailAlreadyVerified)
			}
			if err == nil {
				if _, err := txn.Get(verifyKey(acct.ID)); errors.Is(err, store.ErrNotFound) {
					return failure.Conflict(CodeVerificationNotPending)
				}
			}
		} else {
			acct, err = account.ByEmail(txn, email)
		}
		switch {
		case err == nil:
			subject, userID = userSubject(acct.ID), acct.ID
		case errors.Is(err, account.ErrNotFound):
			subject = addressSubject(email)
		default:
			return err
		}
		return nil
	}); err != nil {
		return err
	}
	return s.Limiter.GuessInTxn(VerifyOTPFactor, subject, func(txn store.Txn) (limit.Outcome, error) {
		if userID == 0 {
			return limit.Wrong, failure.Unauthorized(CodeOTPInvalid)
		}
		right, _, err := s.Codes.Check(txn, verifyKey(userID), code, s.Now())
		if err != nil {
			return limit.NotCounted, err
		}
		if !right {
			return limit.Wrong, failure.Unauthorized(CodeOTPInvalid)
		}
		if err := txn.Delete(verifyKey(userID)); err != nil {
			return limit.NotCounted, err
		}
		if err := s.markVerified(txn, userID); err != nil {
			return limit.NotCounted, err
		}
		reqctx.Logger(ctx, s.Log).Info("address verified", "user", userID)
		return limit.Right, nil
	})
}
