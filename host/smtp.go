package host

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/sdk/abi"
)

// SMTPConfig is the operator's relay for the smtp capability. The
// credentials stay in the host: a plugin hands over a composed message and
// its envelope, never an address to connect to or a password.
type SMTPConfig struct {
	// Addr is the relay, host:port. The default "" makes every send fail
	// temporarily ("no SMTP relay configured"), so queued mail waits.
	Addr string
	// Username, when set, makes the host authenticate with AUTH PLAIN, which
	// net/smtp sends only over TLS or to localhost. Default "": no AUTH.
	Username string
	// Password is the AUTH PLAIN password.
	Password string
	// StartTLS is "auto" (upgrade when the relay offers it), "always" (fail
	// without it) or "never". Default auto. In auto, a relay that offers
	// STARTTLS and then refuses it is used in clear text, unless Username is
	// set.
	StartTLS string
	// Sender, when set, is the only envelope sender (MAIL FROM) plugins may
	// use, and the sender of requests that name none. Default "": any.
	Sender string
	// HelloName is the name given in EHLO. Default: the domain of Sender, or
	// "localhost".
	HelloName string
	// Timeout bounds one message, connection to QUIT; the hook's deadline
	// (30 s for mailer_deliver) bounds it too. Default 60 s.
	Timeout time.Duration
	// TLSConfig, when set, replaces the default TLS settings (the relay's
	// name, TLS 1.2 or later); tests use it for a private CA.
	TLSConfig *tls.Config
}

// smtpRelay sends through the configured relay.
type smtpRelay struct {
	cfg  SMTPConfig
	host string // Addr's host, for TLS and AUTH
}

func newSMTPRelay(cfg SMTPConfig) smtpRelay {
	if cfg.StartTLS == "" {
		cfg.StartTLS = "auto"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Minute
	}
	if cfg.HelloName == "" {
		cfg.HelloName = "localhost"
		if at := strings.LastIndexByte(cfg.Sender, '@'); at >= 0 && at < len(cfg.Sender)-1 {
			cfg.HelloName = cfg.Sender[at+1:]
		}
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		host = cfg.Addr
	}
	return smtpRelay{cfg: cfg, host: host}
}

func (p *plugin) smtpSend(ctx context.Context, req []byte) []byte {
	var m abi.SMTPSend
	if err := m.Unmarshal(req); err != nil {
		panic(undecodable(abi.FuncSMTPSend, err))
	}
	r := p.host.transports.smtp.send(ctx, m.From, m.To, m.Data)
	if r.Outcome == abi.OutcomeOK {
		p.log.Debug("smtp: message accepted by the relay", "recipients", len(m.To), "bytes", len(m.Data))
	} else {
		p.log.Warn("smtp: message not sent", "outcome", r.Outcome.String(), "error", r.Error)
	}
	return r.Marshal(nil)
}

func smtpReply(o abi.Outcome, code int, format string, args ...any) abi.Reply {
	return abi.Reply{Outcome: o, Code: uint32(max(code, 0)), Error: truncate(fmt.Sprintf(format, args...), maxTextField)}
}

// send delivers one message. Only a 5xx answer to MAIL, RCPT or the end of
// DATA (something about this message) is permanent; every other failure
// (the connection, TLS, AUTH, a 4xx, the deadline) is temporary, so a relay
// or configuration problem never drops mail.
func (r *smtpRelay) send(ctx context.Context, from string, to []string, data []byte) abi.Reply {
	cfg := &r.cfg
	if from == "" {
		from = cfg.Sender
	}
	switch {
	case from == "":
		return smtpReply(abi.OutcomePermanent, 0, "smtp: no envelope sender")
	case cfg.Sender != "" && !strings.EqualFold(from, cfg.Sender):
		return smtpReply(abi.OutcomePermanent, 0, "smtp: the operator does not allow sender %q", truncate(from, 256))
	case !isBareAddress(from):
		return smtpReply(abi.OutcomePermanent, 0, "smtp: bad sender address %q", truncate(from, 256))
	case len(to) == 0 || len(to) > 100:
		return smtpReply(abi.OutcomePermanent, 0, "smtp: %d recipients (want 1 to 100)", len(to))
	case len(data) == 0:
		return smtpReply(abi.OutcomePermanent, 0, "smtp: empty message")
	}
	for _, rcpt := range to {
		if !isBareAddress(rcpt) {
			return smtpReply(abi.OutcomePermanent, 0, "smtp: bad recipient address %q", truncate(rcpt, 256))
		}
	}
	if cfg.Addr == "" {
		return smtpReply(abi.OutcomeTemporary, 0, "smtp: no SMTP relay configured")
	}

	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", cfg.Addr)
	if err != nil {
		return smtpReply(abi.OutcomeTemporary, 0, "smtp: connect to the relay: %v", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// Unblock any read or write the moment the call is cancelled.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c, err := smtp.NewClient(conn, r.host)
	if err != nil {
		conn.Close()
		return smtpFailure("greeting", err, false)
	}
	defer c.Close()
	if err := c.Hello(cfg.HelloName); err != nil {
		return smtpFailure("EHLO", err, false)
	}
	if offered, _ := c.Extension("STARTTLS"); cfg.StartTLS == "always" || (cfg.StartTLS == "auto" && offered) {
		tc := cfg.TLSConfig
		if tc == nil {
			tc = &tls.Config{ServerName: r.host, MinVersion: tls.VersionTLS12}
		}
		if err := c.StartTLS(tc); err != nil {
			var tp *textproto.Error
			if cfg.StartTLS == "always" || cfg.Username != "" || !errors.As(err, &tp) {
				return smtpFailure("STARTTLS", err, false)
			}
			// auto: the relay offered STARTTLS, then refused it; the session
			// is still usable in clear text, as it would be had it not offered.
		}
	}
	if cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", cfg.Username, cfg.Password, r.host)); err != nil {
			return smtpFailure("AUTH", err, false)
		}
	}
	if err := c.Mail(from); err != nil {
		return smtpFailure("MAIL FROM", err, true)
	}
	for _, rcpt := range to {
		if err := c.Rcpt(rcpt); err != nil {
			return smtpFailure("RCPT TO", err, true)
		}
	}
	w, err := c.Data()
	if err != nil {
		return smtpFailure("DATA", err, true)
	}
	if _, err := w.Write(data); err != nil {
		return smtpFailure("DATA", err, true)
	}
	if err := w.Close(); err != nil {
		return smtpFailure("end of DATA", err, true)
	}
	// The relay took the message (250 after DATA). A failing QUIT changes
	// nothing: reporting it would send the message twice.
	_ = c.Quit()
	return abi.Reply{Outcome: abi.OutcomeOK, Code: 250}
}

// smtpFailure classifies an error of one SMTP step. A 5xx answer is
// permanent only when perMessage (MAIL, RCPT, DATA): it is about this
// message. A 5xx to EHLO, STARTTLS or AUTH is the relay's or the operator's
// problem, so the message waits.
func smtpFailure(step string, err error, perMessage bool) abi.Reply {
	var tp *textproto.Error
	if errors.As(err, &tp) {
		o := abi.OutcomeTemporary
		if perMessage && tp.Code >= 500 {
			o = abi.OutcomePermanent
		}
		return smtpReply(o, tp.Code, "smtp: %s: %d %s", step, tp.Code, tp.Msg)
	}
	return smtpReply(abi.OutcomeTemporary, 0, "smtp: %s: %v", step, err)
}

// isBareAddress accepts local@domain with nothing SMTP would misread.
func isBareAddress(s string) bool {
	at := strings.LastIndexByte(s, '@')
	return at > 0 && at < len(s)-1 && len(s) <= 320 && !strings.ContainsAny(s, "\r\n<> \t\x00")
}
