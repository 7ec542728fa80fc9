package host

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/sdk/abi"
)

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

// Deliver hands one message to the mailer. req.MessageID (stable across
// retries of the same message: the outbox id; mailers derive the Message-ID
// header and file names from it) and at least one recipient are required;
// req.Now defaults to the host's Clock and req.RequestID (the request that
// queued the message) to the one Config.RequestID reads from ctx. It returns
// nil only when the plugin reports the message delivered (status ok). A
// permanent refusal is a *Refused; anything else (status retry:
// PLUGIN_RETRY; a fault, a timeout, bad output) is a *PluginError, and the
// message should be retried later. The hook's deadline is 30 s by default
// (Config.HookTimeouts).
func (m *Mailer) Deliver(ctx context.Context, req abi.DeliverRequest) error {
	switch {
	case req.MessageID == "":
		return m.p.fail(abi.HookMailerDeliver, CodeFailed, errors.New("a message needs a MessageID"))
	case len(req.To) == 0:
		return m.p.fail(abi.HookMailerDeliver, CodeFailed, errors.New("a message needs a recipient"))
	}
	if req.Now == 0 {
		req.Now = m.p.host.cfg.Clock().UnixNano()
	}
	ctx, req.RequestID = m.p.host.withRequestID(ctx, req.RequestID)
	res, status, err := invoke[abi.Result](ctx, m.p, abi.HookMailerDeliver, &req, m.p.checkResult)
	if err != nil || status == abi.StatusOK {
		return err
	}
	refused := &Refused{Plugin: m.p.desc.ID}
	for _, r := range res.Reasons {
		refused.Codes = append(refused.Codes, r.Code)
		refused.Reasons = append(refused.Reasons, r.Message)
	}
	return refused
}
