package host

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/sdk/abi"
)

// Mail is one rendered message for a mailer plugin.
type Mail struct {
	// MessageID is stable across retries of the same message (the outbox
	// id); mailers derive the Message-ID header and file names from it, so
	// a retry makes no duplicate. Required.
	MessageID string
	// From is the sender, such as "Gatehouse <gatehouse@example.com>".
	From string
	// To are the recipients' addresses. At least one.
	To []string
	// Subject, Text and HTML are the rendered message; HTML may be "".
	Subject, Text, HTML string
	// RequestID goes to the plugin for its logs: the request that queued
	// the message. Optional: by default the one Config.RequestID reads from
	// the call's context.
	RequestID string
}

// Refused is the error of a delivery the mailer refused for good (the
// plugin answered status denied: a rejected address, a refused sender).
// Retrying the same message cannot succeed. Every other delivery error is a
// *PluginError, worth retrying later.
type Refused struct {
	// Plugin is the mailer's id.
	Plugin string
	// Codes are the plugin's reason codes, most important first.
	Codes []string
	// Reasons are the plugin's messages, one per code.
	Reasons []string
}

// Error returns "plugin[id] refused the message: CODE: reason".
func (e *Refused) Error() string {
	if len(e.Codes) == 0 {
		return fmt.Sprintf("plugin[%s] refused the message", e.Plugin)
	}
	return fmt.Sprintf("plugin[%s] refused the message: %s: %s", e.Plugin, e.Codes[0], e.Reasons[0])
}

// Mailer is a loaded mailer plugin. It is safe for concurrent use.
type Mailer struct {
	p *plugin
}

// Mailer returns the loaded mailer with the id, such as "mailer.smtp". The
// error is a *PluginError with code PLUGIN_UNAVAILABLE when there is none.
func (h *Host) Mailer(id string) (*Mailer, error) {
	p, err := h.get(id, abi.KindMailer)
	if err != nil {
		return nil, err
	}
	return &Mailer{p: p}, nil
}

// ID returns the mailer's plugin id.
func (m *Mailer) ID() string { return m.p.desc.ID }

// Deliver hands one message to the mailer. It returns nil only when the
// plugin reports the message delivered (status ok). A permanent refusal is a
// *Refused; anything else (status retry: PLUGIN_RETRY; a fault, a timeout,
// bad output) is a *PluginError, and the message should be retried later.
// The hook's deadline is 30 s by default (Config.HookTimeouts).
func (m *Mailer) Deliver(ctx context.Context, in Mail) error {
	in.To = slices.Clone(in.To) // sanitised below: not the caller's
	ctx, in.RequestID = m.p.host.withRequestID(ctx, in.RequestID)
	for _, s := range append([]*string{&in.MessageID, &in.From, &in.Subject, &in.Text, &in.HTML, &in.RequestID}, ptrs(in.To)...) {
		if !utf8.ValidString(*s) {
			*s = strings.ToValidUTF8(*s, "\uFFFD")
		}
	}
	switch {
	case in.MessageID == "":
		return m.p.fail(abi.HookMailerDeliver, CodeFailed, errors.New("a message needs a MessageID"))
	case len(in.To) == 0:
		return m.p.fail(abi.HookMailerDeliver, CodeFailed, errors.New("a message needs a recipient"))
	}
	req := abi.DeliverRequest{
		Now:       m.p.host.cfg.Clock().UnixNano(),
		RequestID: in.RequestID,
		MessageID: in.MessageID,
		From:      in.From,
		To:        in.To,
		Subject:   in.Subject,
		Text:      in.Text,
		HTML:      in.HTML,
	}
	input := req.Marshal(make([]byte, 0, 256+len(in.Subject)+len(in.Text)+len(in.HTML)))
	if len(input) > abi.MaxInput {
		return m.p.fail(abi.HookMailerDeliver, CodeFailed, fmt.Errorf("message of %d bytes is over the %d-byte input limit", len(input), abi.MaxInput))
	}
	var refused *Refused
	err := m.p.call(ctx, abi.HookMailerDeliver, input, func(status abi.Status, out []byte) error {
		if status == abi.StatusOK {
			return nil
		}
		reasons, err := m.p.denial(out)
		if err != nil {
			return err
		}
		refused = &Refused{Plugin: m.p.desc.ID}
		for _, r := range reasons {
			refused.Codes = append(refused.Codes, r.Code)
			refused.Reasons = append(refused.Reasons, r.Message)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if refused != nil {
		return refused
	}
	return nil
}

func ptrs(s []string) []*string {
	out := make([]*string, len(s))
	for i := range s {
		out[i] = &s[i]
	}
	return out
}
