// Package mailer is the SDK for mail-transport plugins: implement Mailer and
// call Register from init. Compose renders a request as an RFC 5322 message.
//
// A mailer reaches the outside only through a transport capability the
// operator grants: sdk/smtp (the operator's relay), sdk/outbox (the
// development folder) or sdk/httpconn (named HTTP connections, such as an
// email API). The host retries a message whose delivery failed temporarily
// and drops one refused for good (a *PermanentError); every retry carries the
// same MessageID, so derive what must not be duplicated from it.
//
//	type relay struct{}
//
//	func (relay) Deliver(req *mailer.Request) error {
//		msg, err := mailer.Compose(req)
//		if err != nil {
//			return &mailer.PermanentError{Reasons: []sdk.Reason{{Code: "MAIL_BAD_MESSAGE", Message: err.Error()}}}
//		}
//		from, _ := mailer.Address(req.From)
//		return smtp.Send(from, req.To, msg) // map a permanent *sdk.TransportError to a PermanentError
//	}
package mailer

import (
	"errors"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/abi"
)

// Request is one rendered message to deliver.
type Request struct {
	Now       time.Time
	RequestID string
	MessageID string // the outbox id, stable across retries: use it to deduplicate
	From      string
	To        []string
	Subject   string
	Text      string
	HTML      string
}

// Mailer delivers messages. Plugin authors implement it.
type Mailer interface {
	// Deliver returns nil once the message is accepted by the transport,
	// a *PermanentError when it never will be, and any other error for a
	// temporary failure the host retries later.
	Deliver(req *Request) error
}

// PermanentError refuses a message for good (a bad address, a rejected
// sender), with reasons from the plugin's declared codes.
type PermanentError struct {
	Reasons []sdk.Reason
}

// Error returns the first reason's message.
func (e *PermanentError) Error() string {
	if len(e.Reasons) == 0 {
		return "mailer: permanent failure"
	}
	return "mailer: " + e.Reasons[0].Code + ": " + e.Reasons[0].Message
}

// Register registers the module's mailer. Call it once, from init.
func Register(info sdk.Info, m Mailer) {
	sdk.Register(info.Descriptor(abi.KindMailer, abi.HookMailerDeliver), m,
		map[string]func(in, out []byte) (abi.Status, []byte){
			abi.HookMailerDeliver: func(in, out []byte) (abi.Status, []byte) { return deliver(m, in, out) },
		})
}

func deliver(m Mailer, in, out []byte) (abi.Status, []byte) {
	var r abi.DeliverRequest
	if err := r.Unmarshal(in); err != nil {
		return abi.StatusBadInput, out
	}
	err := m.Deliver(&Request{Now: time.Unix(0, r.Now), RequestID: r.RequestID, MessageID: r.MessageID,
		From: r.From, To: r.To, Subject: r.Subject, Text: r.Text, HTML: r.HTML})
	var perm *PermanentError
	switch {
	case err == nil:
		return abi.StatusOK, out
	case errors.As(err, &perm):
		return abi.StatusDenied, (&abi.Result{Reasons: perm.Reasons}).Marshal(out)
	}
	sdk.Log(abi.LevelWarn, "delivery failed, to be retried: "+err.Error())
	return abi.StatusRetry, out
}

// Permanent maps the error of a transport capability call (sdk/smtp,
// sdk/outbox, sdk/httpconn) to what Deliver returns: a permanent
// *sdk.TransportError becomes a *PermanentError with one reason of the given
// code (which the plugin must declare in sdk.Info.Codes) and the error's
// text; any other error, nil included, is returned as it is (temporary).
func Permanent(err error, code string) error {
	var te *sdk.TransportError
	if errors.As(err, &te) && te.Permanent() {
		return &PermanentError{Reasons: []sdk.Reason{{Code: code, Message: te.Error()}}}
	}
	return err
}
