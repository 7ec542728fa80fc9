package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
)

// DirTransport is the development mailer: each message becomes <Dir>/<id>.eml. Writing the same
// id twice replaces the file, so a retried delivery never makes a duplicate.
type DirTransport struct {
	Dir    string
	Domain string
	Log    hclog.Logger
}

// Deliver implements Mailer.
func (d DirTransport) Deliver(_ context.Context, e Envelope) error {
	if err := os.MkdirAll(d.Dir, 0o700); err != nil {
		return err
	}
	final := filepath.Join(d.Dir, e.ID+".eml")
	tmp := final + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(Compose(e, d.Domain)); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	d.Log.Info("mail written to the outbox folder", "file", final, "purpose", e.Purpose)
	return nil
}

// SMTPTransport delivers through an SMTP relay, with STARTTLS and AUTH PLAIN when configured.
// The credentials stay here, in the host.
type SMTPTransport struct {
	Addr     string
	Domain   string
	Username string
	Password string
	// StartTLS is "auto", "always" or "never".
	StartTLS string
	// TLSConfig, when set, replaces the default TLS settings (tests use a private CA).
	TLSConfig *tls.Config
}

// Deliver implements Mailer. 5xx answers are permanent failures.
func (s SMTPTransport) Deliver(ctx context.Context, e Envelope) error {
	err := s.deliver(ctx, e)
	var tp *textproto.Error
	if errors.As(err, &tp) && tp.Code >= 500 {
		return &PermanentError{Err: err}
	}
	return err
}

func (s SMTPTransport) deliver(ctx context.Context, e Envelope) error {
	dialer := net.Dialer{Timeout: 10 * time.Second}
	conn, err := dialer.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return err
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(time.Minute)
	}
	_ = conn.SetDeadline(deadline)
	host, _, _ := net.SplitHostPort(s.Addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if err := c.Hello(s.Domain); err != nil {
		return err
	}
	if offered, _ := c.Extension("STARTTLS"); s.StartTLS == "always" || (s.StartTLS == "auto" && offered) {
		cfg := s.TLSConfig
		if cfg == nil {
			cfg = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		}
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("smtp: STARTTLS: %w", err)
		}
	}
	if s.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, host)); err != nil {
			return err
		}
	}
	from, err := bareAddress(e.From)
	if err != nil {
		return &PermanentError{Err: err}
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	for _, to := range e.To {
		if err := c.Rcpt(to); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(Compose(e, s.Domain)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

func bareAddress(s string) (string, error) {
	if i := strings.LastIndexByte(s, '<'); i >= 0 && strings.HasSuffix(s, ">") {
		return s[i+1 : len(s)-1], nil
	}
	if strings.ContainsAny(s, "\r\n<>") || !strings.Contains(s, "@") {
		return "", fmt.Errorf("smtp: bad sender address %q", s)
	}
	return s, nil
}
