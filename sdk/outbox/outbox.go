// Package outbox gives a plugin the outbox capability: writing a message as
// a file, <folder>/<message id>.eml, into the development folder the
// operator configured (the host logs where). Importing this package declares
// the capability in the plugin's descriptor; the operator must grant it to
// the plugin's id (first-party mailer.outbox gets it by default).
package outbox

import (
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/internal/guest"
)

func init() { guest.DeclareCapability(abi.CapOutbox) }

// Write writes msg as <folder>/<messageID>.eml, atomically (a reader sees
// the whole file or none); writing the same id again replaces it, so a retry
// makes no duplicate. messageID is 1 to 128 of [A-Za-z0-9._-], not starting
// with a dot. It returns nil or a *sdk.TransportError (Permanent() for a bad
// id).
func Write(messageID string, msg []byte) error {
	req := (&abi.OutboxWrite{MessageID: messageID, Data: msg}).Marshal(make([]byte, 0, len(msg)+64))
	var r abi.Reply
	if err := r.Unmarshal(call(req)); err != nil {
		return &sdk.TransportError{Outcome: abi.OutcomeTemporary, Message: "outbox: undecodable reply: " + err.Error()}
	}
	return sdk.ReplyError(&r)
}
