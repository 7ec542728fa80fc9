// Command mailer-smtp is the first-party SMTP mailer plugin ("mailer.smtp").
// It composes each message (RFC 5322, multipart/alternative, quoted-printable,
// a Message-ID derived from the outbox id so retries are recognisable) and
// submits it through the operator's relay with the smtp capability; the
// relay's address, STARTTLS setting and credentials stay in the host.
// Build it with `make plugins`.
package main

import (
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/mailer"
	"github.com/gatehouse/gatehouse/sdk/smtp"
)

// Reason codes of a permanent failure.
const (
	// CodeBadMessage: the message cannot be composed (a bad address).
	CodeBadMessage = "MAIL_BAD_MESSAGE"
	// CodeRejected: the relay refused the message for good (a 5xx answer).
	CodeRejected = "MAIL_REJECTED"
)

var info = sdk.Info{
	ID:          "mailer.smtp",
	Name:        "SMTP relay",
	Version:     "1.0.0",
	Description: "Delivers mail through the operator's SMTP relay (GATEHOUSE_SMTP_*), with STARTTLS and AUTH as configured in the host.",
	Codes:       []string{CodeBadMessage, CodeRejected},
}

type relay struct{}

var _ mailer.Mailer = relay{}

// Deliver composes the message and submits it for the envelope sender of
// req.From.
func (relay) Deliver(req *mailer.Request) error {
	msg, err := mailer.Compose(req)
	if err != nil {
		return &mailer.PermanentError{Reasons: []sdk.Reason{{Code: CodeBadMessage, Message: err.Error()}}}
	}
	from, _ := mailer.Address(req.From) // Compose checked it
	to := make([]string, len(req.To))
	for i, t := range req.To {
		to[i], _ = mailer.Address(t)
	}
	return mailer.Permanent(smtp.Send(from, to, msg), CodeRejected)
}

func init() { mailer.Register(info, relay{}) }

func main() {}
