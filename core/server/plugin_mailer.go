package server

import (
	"context"
	"errors"
	"net/mail"

	coremail "github.com/gatehouse/gatehouse/core/mail"
	"github.com/gatehouse/gatehouse/host"
	"github.com/gatehouse/gatehouse/sdk/abi"
)

// firstPartyGrants are the capabilities the first-party plugins get without the operator's
// GATEHOUSE_PLUGIN_GRANTS: each needs exactly one, and the settings a mailer uses (the relay,
// the outbox folder) are the operator's anyway; TOTP computes its HMAC-SHA1 with the host's.
var firstPartyGrants = map[string][]string{
	"mailer.smtp":    {"smtp"},
	"mailer.outbox":  {"outbox"},
	"twofactor.totp": {"crypto"},
	// Passkeys: SHA-256 and the signature checks (verify_signature, digest).
	"twofactor.passkey": {"crypto"},
}

// pluginGrants adds the first-party grants to the operator's.
func pluginGrants(operator map[string][]string) map[string][]string {
	out := make(map[string][]string, len(operator)+len(firstPartyGrants))
	for id, caps := range operator {
		out[id] = append([]string(nil), caps...)
	}
	for id, caps := range firstPartyGrants {
		out[id] = append(out[id], caps...)
	}
	return out
}

// smtpConfig is the relay of the host's smtp capability, from the GATEHOUSE_SMTP_* settings.
// The envelope sender is fixed to GATEHOUSE_SMTP_FROM's address.
func (s *Server) smtpConfig() host.SMTPConfig {
	sender := s.cfg.SMTPFrom
	if a, err := mail.ParseAddress(s.cfg.SMTPFrom); err == nil {
		sender = a.Address
	}
	return host.SMTPConfig{
		Addr:     s.cfg.SMTPAddr,
		Username: s.cfg.SMTPUsername,
		Password: s.cfg.SMTPPassword,
		StartTLS: s.cfg.SMTPStartTLS,
		Sender:   sender,
	}
}

// pluginMailer is a mailer plugin as the outbox's mail.Mailer. The plugin is looked up at each
// delivery, so one that failed to load fails (and the message waits for a retry) rather than
// being dropped.
type pluginMailer struct {
	host *host.Host
	id   string
}

// Deliver implements mail.Mailer: a refusal by the plugin is a *mail.PermanentError (the
// outbox drops the message); every other failure is retried with backoff.
func (m pluginMailer) Deliver(ctx context.Context, e coremail.Envelope) error {
	mailer, err := m.host.Mailer(m.id)
	if err != nil {
		return err
	}
	err = mailer.Deliver(ctx, abi.DeliverRequest{MessageID: e.ID, RequestID: e.RequestID, From: e.From, To: e.To, Subject: e.Subject, Text: e.Text, HTML: e.HTML})
	var refused *host.Refused
	if errors.As(err, &refused) {
		return &coremail.PermanentError{Err: err}
	}
	return err
}
