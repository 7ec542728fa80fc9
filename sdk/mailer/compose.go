package mailer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"strings"
	"time"
)

// Compose renders req as an RFC 5322 message with CRLF line ends, ready for
// an SMTP relay or an .eml file:
//   - From, To, Subject (RFC 2047 encoded when not plain ASCII), Date (from
//     req.Now), MIME-Version and Auto-Submitted: auto-generated;
//   - Message-ID <MessageID@domain of From>: stable across retries, so a
//     receiver can drop a duplicate;
//   - a text/plain part, or multipart/alternative with text/plain then
//     text/html when req.HTML is set, both UTF-8 and quoted-printable.
//
// The same request always gives the same bytes. It refuses (with an error
// meant to become a permanent failure) a sender or recipient that is not an
// address, and a request without a MessageID.
func Compose(req *Request) ([]byte, error) {
	if req.MessageID == "" {
		return nil, errors.New("mailer: no message id")
	}
	fromName, fromAddr, err := splitAddress(req.From)
	if err != nil {
		return nil, fmt.Errorf("mailer: sender: %w", err)
	}
	if len(req.To) == 0 {
		return nil, errors.New("mailer: no recipient")
	}
	to := make([]string, len(req.To))
	for i, t := range req.To {
		name, addr, err := splitAddress(t)
		if err != nil {
			return nil, fmt.Errorf("mailer: recipient: %w", err)
		}
		to[i] = formatAddress(name, addr)
	}
	domain := fromAddr[strings.LastIndexByte(fromAddr, '@')+1:]
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	var b bytes.Buffer
	header := func(k, v string) {
		b.WriteString(k)
		b.WriteString(": ")
		b.WriteString(v)
		b.WriteString("\r\n")
	}
	header("From", formatAddress(fromName, fromAddr))
	header("To", strings.Join(to, ", "))
	header("Subject", mime.QEncoding.Encode("utf-8", oneLine(req.Subject)))
	header("Date", now.UTC().Format(time.RFC1123Z))
	header("Message-ID", "<"+msgIDLeft(req.MessageID)+"@"+domain+">")
	header("MIME-Version", "1.0")
	header("Auto-Submitted", "auto-generated")
	if req.HTML == "" {
		header("Content-Type", `text/plain; charset="utf-8"`)
		header("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		writeQP(&b, req.Text)
		return b.Bytes(), nil
	}
	sum := sha256.Sum256([]byte(req.MessageID))
	boundary := "gatehouse-" + hex.EncodeToString(sum[:12])
	header("Content-Type", `multipart/alternative; boundary="`+boundary+`"`)
	b.WriteString("\r\n")
	for _, part := range [...]struct{ typ, body string }{{"text/plain", req.Text}, {"text/html", req.HTML}} {
		b.WriteString("--" + boundary + "\r\n")
		b.WriteString(`Content-Type: ` + part.typ + `; charset="utf-8"` + "\r\n")
		b.WriteString("Content-Transfer-Encoding: quoted-printable\r\n\r\n")
		writeQP(&b, part.body)
		b.WriteString("\r\n")
	}
	b.WriteString("--" + boundary + "--\r\n")
	return b.Bytes(), nil
}

// Address returns the bare address of "Name <local@domain>" or
// "local@domain", for an SMTP envelope.
func Address(s string) (string, error) {
	_, addr, err := splitAddress(s)
	return addr, err
}

// splitAddress parses "Name <local@domain>", "<local@domain>" or
// "local@domain". It is deliberately small (no comments, no groups): the
// host sends addresses it validated.
func splitAddress(s string) (name, addr string, err error) {
	s = strings.TrimSpace(s)
	addr = s
	if strings.HasSuffix(s, ">") {
		i := strings.LastIndexByte(s, '<')
		if i < 0 {
			return "", "", fmt.Errorf("bad address %q", s)
		}
		name, addr = strings.TrimSpace(s[:i]), s[i+1:len(s)-1]
		name = strings.TrimSuffix(strings.TrimPrefix(name, `"`), `"`)
	}
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 || len(addr) > 320 || strings.ContainsAny(addr, " \t\r\n<>\",;()\\\x00") {
		return "", "", fmt.Errorf("bad address %q", s)
	}
	if strings.ContainsAny(name, "\r\n\x00") {
		return "", "", fmt.Errorf("bad display name in %q", s)
	}
	return name, addr, nil
}

// formatAddress writes a display name as a quoted string, or RFC 2047
// encoded when it is not plain ASCII.
func formatAddress(name, addr string) string {
	if name == "" {
		return addr
	}
	enc := mime.QEncoding.Encode("utf-8", name)
	if enc == name {
		enc = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(name) + `"`
	}
	return enc + " <" + addr + ">"
}

// msgIDLeft keeps the id's characters that RFC 5322 allows on the left of
// a msg-id (dot-atom-text) and turns the others into '-'.
func msgIDLeft(id string) string {
	b := []byte(id)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0 || (c == '.' && i > 0 && i < len(b)-1)
		if !ok {
			b[i] = '-'
		}
	}
	return string(b)
}

// oneLine folds line breaks into spaces (a subject is one header line).
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.Fields(strings.NewReplacer("\r", " ", "\n", " ").Replace(s)), " ")
}

func writeQP(b *bytes.Buffer, s string) {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	w := quotedprintable.NewWriter(b)
	_, _ = w.Write([]byte(strings.ReplaceAll(s, "\n", "\r\n")))
	_ = w.Close()
}
