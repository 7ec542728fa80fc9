package sdktest

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// SMTPServer is a loopback SMTP server for mailer tests: enough of RFC 5321
// (EHLO/HELO, MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT) to
// record what a client sends, with answers a test can script. Point a host's
// Config.SMTP.Addr at Addr. It stops when the test ends.
type SMTPServer struct {
	// Addr is host:port on 127.0.0.1.
	Addr string

	ln      net.Listener
	mu      sync.Mutex
	answers map[string][]string
	msgs    []SMTPMessage
	wg      sync.WaitGroup
}

// SMTPMessage is one message the server accepted.
type SMTPMessage struct {
	From string   // MAIL FROM
	To   []string // RCPT TO
	Data string   // the message, CRLF line ends, dots unstuffed
}

// NewSMTPServer starts a server on a free loopback port.
func NewSMTPServer(t testing.TB) *SMTPServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &SMTPServer{Addr: ln.Addr().String(), ln: ln, answers: map[string][]string{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				s.session(c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

// Answer queues the reply to the next use of a step: "MAIL", "RCPT" or
// "DATA" (the reply after the message's final dot), such as
// "550 5.1.1 no such user" or "451 4.3.0 try later". Each queued answer is
// used once; then the step answers 250 again.
func (s *SMTPServer) Answer(step, reply string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers[step] = append(s.answers[step], reply)
}

// Messages returns the messages accepted so far.
func (s *SMTPServer) Messages() []SMTPMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SMTPMessage(nil), s.msgs...)
}

func (s *SMTPServer) answer(step string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.answers[step]; len(q) > 0 {
		s.answers[step] = q[1:]
		return q[0]
	}
	return "250 2.0.0 OK"
}

func (s *SMTPServer) session(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	say := func(line string) { fmt.Fprintf(c, "%s\r\n", line) }
	say("220 sdktest ESMTP")
	var m SMTPMessage
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(strings.TrimRight(line, "\r\n"), " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			m = SMTPMessage{}
			say("250-sdktest greets " + arg)
			say("250 8BITMIME")
		case "MAIL":
			a := s.answer("MAIL")
			if strings.HasPrefix(a, "250") {
				m = SMTPMessage{From: between(arg, "<", ">")}
			}
			say(a)
		case "RCPT":
			a := s.answer("RCPT")
			if strings.HasPrefix(a, "250") {
				m.To = append(m.To, between(arg, "<", ">"))
			}
			say(a)
		case "DATA":
			say("354 end with <CRLF>.<CRLF>")
			var data strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(strings.TrimPrefix(l, "."))
			}
			m.Data = data.String()
			a := s.answer("DATA")
			if strings.HasPrefix(a, "250") {
				s.mu.Lock()
				s.msgs = append(s.msgs, m)
				s.mu.Unlock()
			}
			m = SMTPMessage{}
			say(a)
		case "RSET":
			m = SMTPMessage{}
			say("250 2.0.0 OK")
		case "NOOP":
			say("250 2.0.0 OK")
		case "QUIT":
			say("221 2.0.0 bye")
			return
		default:
			say("502 5.5.1 command unrecognized")
		}
	}
}

func between(s, open, close string) string {
	_, rest, ok := strings.Cut(s, open)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, close)
	return v
}
