// Package smtpsink is a minimal SMTP server on loopback for the Go tests that run the real
// binary (tests/crash, tests/multinode): it records every message it accepts.
package smtpsink

import (
	"bufio"
	"bytes"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Sink is a minimal SMTP server on loopback (RFC 5321: greeting, EHLO/HELO, MAIL, RCPT,
// DATA with dot-unstuffing, RSET, NOOP, QUIT) that records every message it accepted.
type Sink struct {
	ln net.Listener
	// delay slows each transaction down (before the reply to MAIL), so that a kill of the
	// client finds deliveries in flight more often.
	Delay time.Duration

	// mailFrom gets a value (if it has room) when a transaction starts.
	MailFrom chan struct{}

	mu   sync.Mutex
	msgs []Message
	cut  int           // transactions the client abandoned (connection lost after MAIL)
	wake chan struct{} // closed and replaced on each accepted message
}

// Message is one accepted message.
type Message struct {
	From      string
	To        []string
	MessageID string
	Subject   string
	Raw       []byte
	At        time.Time
}

// Start listens on a free loopback port until the test ends.
func Start(t testing.TB) *Sink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Sink{ln: ln, wake: make(chan struct{}), MailFrom: make(chan struct{}, 1)}
	go s.serve()
	t.Cleanup(func() { ln.Close() })
	return s
}

// Addr is the host:port to point a mailer at.
func (s *Sink) Addr() string { return s.ln.Addr().String() }

func (s *Sink) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.session(c)
	}
}

var mailboxRE = regexp.MustCompile(`(?i)^(FROM|TO):\s*<([^<>]*)>`)

func (s *Sink) session(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Minute))
	rd := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	reply := func(line string) bool {
		w.WriteString(line + "\r\n")
		return w.Flush() == nil
	}
	reply("220 sink.test ESMTP crash-test sink")
	var from string
	var to []string
	inTxn := false
	defer func() {
		if inTxn {
			s.mu.Lock()
			s.cut++
			s.mu.Unlock()
		}
	}()
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			reply("250-sink.test greets " + arg)
			reply("250-8BITMIME")
			reply("250-SIZE 10485760")
			reply("250 ENHANCEDSTATUSCODES")
		case "HELO":
			reply("250 sink.test")
		case "MAIL":
			m := mailboxRE.FindStringSubmatch(arg)
			if m == nil || !strings.EqualFold(m[1], "FROM") {
				reply("501 5.5.4 Syntax: MAIL FROM:<address>")
				continue
			}
			from, to, inTxn = m[2], nil, true
			select {
			case s.MailFrom <- struct{}{}:
			default:
			}
			time.Sleep(s.Delay)
			reply("250 2.1.0 Sender OK")
		case "RCPT":
			m := mailboxRE.FindStringSubmatch(arg)
			if !inTxn || m == nil || !strings.EqualFold(m[1], "TO") {
				reply("503 5.5.1 Need MAIL before RCPT")
				continue
			}
			to = append(to, m[2])
			reply("250 2.1.5 Recipient OK")
		case "DATA":
			if !inTxn || len(to) == 0 {
				reply("503 5.5.1 Need RCPT command")
				continue
			}
			reply("354 End data with <CR><LF>.<CR><LF>")
			var data bytes.Buffer
			for {
				l, err := rd.ReadString('\n')
				if err != nil {
					return // the client went away mid-message: nothing accepted
				}
				l = strings.TrimRight(l, "\r\n")
				if l == "." {
					break
				}
				l = strings.TrimPrefix(l, ".")
				data.WriteString(l + "\r\n")
			}
			s.record(from, to, data.Bytes())
			inTxn = false
			reply("250 2.0.0 OK queued")
		case "RSET":
			inTxn, from, to = false, "", nil
			reply("250 2.0.0 OK")
		case "NOOP":
			reply("250 2.0.0 OK")
		case "QUIT":
			reply("221 2.0.0 bye")
			return
		default:
			reply("502 5.5.1 Command not implemented")
		}
	}
}

func (s *Sink) record(from string, to []string, raw []byte) {
	m := Message{From: from, To: to, Raw: raw, At: time.Now()}
	if msg, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil {
		m.MessageID = strings.TrimSpace(msg.Header.Get("Message-Id"))
		m.Subject = msg.Header.Get("Subject")
	}
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	close(s.wake)
	s.wake = make(chan struct{})
	s.mu.Unlock()
}

// abandoned is the number of transactions cut off by the client before the end of DATA.
// Abandoned counts the transactions the client left after MAIL (a kill).
func (s *Sink) Abandoned() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cut
}

// messages returns a copy of every accepted message.
// Messages returns the accepted messages so far.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// waitUntil calls ok with the messages after every new one until it returns true or the
// timeout passes; it reports the last result.
// WaitUntil waits until ok holds for the accepted messages or timeout passes; it reports ok.
func (s *Sink) WaitUntil(timeout time.Duration, ok func([]Message) bool) bool {
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		msgs := append([]Message(nil), s.msgs...)
		wake := s.wake
		s.mu.Unlock()
		if ok(msgs) {
			return true
		}
		select {
		case <-wake:
		case <-deadline:
			return ok(s.Messages())
		}
	}
}
