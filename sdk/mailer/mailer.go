// Package mailer is the SDK for mail-transport plugins: implement Mailer and
// call Register from init. The host side of this hook is not wired yet (ABI
// v1 defines it; see host/ABI.md). A mailer reaches the network only through
// the http or smtp capability, which the operator grants.
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
