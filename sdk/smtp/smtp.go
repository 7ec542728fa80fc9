// Package smtp gives a plugin the smtp capability: submitting a composed
// message through the relay the operator configured. The relay's address
// and credentials stay in the host. Importing this package declares the
// capability in the plugin's descriptor; the operator must grant it to the
// plugin's id (first-party mailer.smtp gets it by default).
package smtp

import (
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/internal/guest"
)

func init() { guest.DeclareCapability(abi.CapSMTP) }

// Send submits msg, a whole RFC 5322 message with CRLF line ends, for the
// envelope sender from ("" for the operator's) and the recipients to (bare
// addresses). It returns nil once the relay accepted the message, or a
// *sdk.TransportError: Permanent() for a 5xx answer to the message or a
// sender the operator does not allow, otherwise temporary.
func Send(from string, to []string, msg []byte) error {
	req := (&abi.SMTPSend{From: from, To: to, Data: msg}).Marshal(make([]byte, 0, len(msg)+256))
	var r abi.Reply
	if err := r.Unmarshal(call(req)); err != nil {
		return &sdk.TransportError{Outcome: abi.OutcomeTemporary, Message: "smtp: undecodable reply: " + err.Error()}
	}
	return sdk.ReplyError(&r)
}
