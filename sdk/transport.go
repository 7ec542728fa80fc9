package sdk

import (
	"github.com/gatehouse/gatehouse/sdk/abi"
)

// TransportError is the error of a transport capability call (sdk/smtp,
// sdk/outbox, sdk/httpconn) that did not succeed: the host refused it, or
// the relay, folder or connection failed.
type TransportError struct {
	// Outcome is abi.OutcomePermanent (retrying cannot help) or
	// abi.OutcomeTemporary (worth retrying later).
	Outcome abi.Outcome
	// Code is the SMTP relay's last reply code (sdk/smtp), 0 if none.
	Code int
	// Message says what failed; it holds no secret.
	Message string
}

// Error returns the message.
func (e *TransportError) Error() string { return e.Message }

// Permanent reports whether retrying the same request cannot succeed.
func (e *TransportError) Permanent() bool { return e.Outcome == abi.OutcomePermanent }

// ReplyError turns a transport Reply into nil (OutcomeOK) or a
// *TransportError. Capability packages use it.
func ReplyError(r *abi.Reply) error {
	if r.Outcome == abi.OutcomeOK {
		return nil
	}
	msg := r.Error
	if msg == "" {
		msg = "transport failed (" + r.Outcome.String() + ")"
	}
	return &TransportError{Outcome: r.Outcome, Code: int(r.Code), Message: msg}
}
