// Command mailer-outbox is the first-party development mailer
// ("mailer.outbox"): it composes each message as the SMTP mailer does and
// writes it as <outbox folder>/<message id>.eml with the outbox capability
// (the host picks the folder, <data>/outbox, and logs each file). Writing the
// same id again replaces the file, so a retried delivery makes no
// duplicate. Build it with `make plugins`.
package main

import (
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/mailer"
	"github.com/gatehouse/gatehouse/sdk/outbox"
)

// Reason codes of a permanent failure.
const (
	// CodeBadMessage: the message cannot be composed or named (a bad
	// address, a bad message id).
	CodeBadMessage = "MAIL_BAD_MESSAGE"
)

var info = sdk.Info{
	ID:          "mailer.outbox",
	Name:        "Outbox folder (development)",
	Version:     "1.0.0",
	Description: "Writes each message as an .eml file into the outbox folder of the data folder instead of sending it; for development.",
	Codes:       []string{CodeBadMessage},
}

type folder struct{}

var _ mailer.Mailer = folder{}

// Deliver composes the message and writes it under its message id.
func (folder) Deliver(req *mailer.Request) error {
	msg, err := mailer.Compose(req)
	if err != nil {
		return &mailer.PermanentError{Reasons: []sdk.Reason{{Code: CodeBadMessage, Message: err.Error()}}}
	}
	return mailer.Permanent(outbox.Write(req.MessageID, msg), CodeBadMessage)
}

func init() { mailer.Register(info, folder{}) }

func main() {}
