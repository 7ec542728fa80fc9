package host

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/sdk/abi"
)

// smtpServer is a loopback SMTP server for the tests: enough of RFC 5321
// (EHLO, STARTTLS, AUTH PLAIN, MAIL, RCPT, DATA with dot-unstuffing, QUIT)
// to see what the client sends, with scripted answers.
type smtpServer struct {
	t    *testing.T
	ln   net.Listener
	addr string
	tls  *tls.Config // offers STARTTLS when set
	// refuseTLS answers STARTTLS with 454 (after offering it).
	refuseTLS bool
	// authUser/authPass, when set, require AUTH PLAIN with them.
	authUser, authPass string
	// answers overrides the reply to a command ("GREETING", "MAIL", "RCPT",
	// "DATA" for the end of the data); "" keeps the default.
	answers map[string]string
	// silent makes the server accept connections and never answer.
	silent bool

	mu       sync.Mutex
	messages []smtpMessage
	wg       sync.WaitGroup
}

type smtpMessage struct {
	from string
	to   []string
	data string
	tls  bool
	auth string
}

func newSMTPServer(t *testing.T, setup func(*smtpServer)) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{t: t, ln: ln, addr: ln.Addr().String(), answers: map[string]string{}}
	if setup != nil {
		setup(s)
	}
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

func (s *smtpServer) answer(cmd, def string) string {
	if a := s.answers[cmd]; a != "" {
		return a
	}
	return def
}

func (s *smtpServer) session(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if s.silent {
		_, _ = io.Copy(io.Discard, c)
		return
	}
	r, w := bufio.NewReader(c), c
	say := func(line string) { fmt.Fprintf(w, "%s\r\n", line) }
	say(s.answer("GREETING", "220 test ESMTP"))
	if !strings.HasPrefix(s.answer("GREETING", "220"), "220") {
		return
	}
	var msg smtpMessage
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			say("250-test greets " + arg)
			if s.tls != nil && !msg.tls {
				say("250-STARTTLS")
			}
			say("250-AUTH PLAIN")
			say("250 8BITMIME")
		case "STARTTLS":
			if s.tls == nil || s.refuseTLS {
				say("454 4.7.0 TLS not available")
				continue
			}
			say("220 go ahead")
			tc := tls.Server(c, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			r, w = bufio.NewReader(tc), tc
			msg.tls = true
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			b, _ := base64.StdEncoding.DecodeString(resp)
			parts := strings.Split(string(b), "\x00")
			if mech != "PLAIN" || len(parts) != 3 || parts[1] != s.authUser || parts[2] != s.authPass {
				say("535 5.7.8 bad credentials")
				continue
			}
			msg.auth = parts[1]
			say("235 ok")
		case "MAIL":
			if s.authUser != "" && msg.auth == "" {
				say("530 5.7.0 authentication required")
				continue
			}
			msg.from = strings.TrimSuffix(strings.TrimPrefix(strings.Fields(arg)[0], "FROM:<"), ">")
			say(s.answer("MAIL", "250 ok"))
		case "RCPT":
			msg.to = append(msg.to, strings.TrimSuffix(strings.TrimPrefix(arg, "TO:<"), ">"))
			say(s.answer("RCPT", "250 ok"))
		case "DATA":
			say("354 go on")
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
			msg.data = data.String()
			a := s.answer("DATA", "250 queued")
			if strings.HasPrefix(a, "250") {
				s.mu.Lock()
				s.messages = append(s.messages, msg)
				s.mu.Unlock()
			}
			say(a)
		case "QUIT":
			say("221 bye")
			return
		default:
			say("502 unknown")
		}
	}
}

func (s *smtpServer) received() []smtpMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]smtpMessage(nil), s.messages...)
}

// testTLS returns a server TLS config and a client config that trusts it,
// borrowed from httptest (its certificate is for 127.0.0.1 and example.com).
func testTLS(t *testing.T) (server, client *tls.Config) {
	ts := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(ts.Close)
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	return &tls.Config{Certificates: ts.TLS.Certificates}, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

const testMessage = "From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\n.leading dot\r\nbody\r\n"

func TestSMTPSend(t *testing.T) {
	serverTLS, clientTLS := testTLS(t)
	tests := []struct {
		name    string
		server  func(*smtpServer)
		cfg     func(*SMTPConfig)
		from    string
		to      []string
		outcome abi.Outcome
		code    uint32
		errHas  string
		check   func(*testing.T, smtpMessage)
	}{
		{name: "delivered", outcome: abi.OutcomeOK, code: 250, check: func(t *testing.T, m smtpMessage) {
			if m.from != "a@example.com" || len(m.to) != 1 || m.to[0] != "b@example.com" || m.data != testMessage || m.tls {
				t.Fatalf("received %+v", m)
			}
		}},
		{name: "default sender", from: "-", cfg: func(c *SMTPConfig) { c.Sender = "a@example.com" }, outcome: abi.OutcomeOK, code: 250,
			check: func(t *testing.T, m smtpMessage) {
				if m.from != "a@example.com" {
					t.Fatalf("MAIL FROM %q", m.from)
				}
			}},
		{name: "sender not allowed", from: "mallory@example.com", cfg: func(c *SMTPConfig) { c.Sender = "a@example.com" }, outcome: abi.OutcomePermanent, errHas: "does not allow sender"},
		{name: "bad recipient", to: []string{"b@example.com>\r\nRCPT TO:<c@example.com"}, outcome: abi.OutcomePermanent, errHas: "bad recipient"},
		{name: "no recipient", to: []string{}, outcome: abi.OutcomePermanent, errHas: "recipients"},
		{name: "550 to RCPT is permanent", server: func(s *smtpServer) { s.answers["RCPT"] = "550 5.1.1 no such user" }, outcome: abi.OutcomePermanent, code: 550, errHas: "RCPT TO: 550"},
		{name: "451 after DATA is temporary", server: func(s *smtpServer) { s.answers["DATA"] = "451 4.3.0 try later" }, outcome: abi.OutcomeTemporary, code: 451, errHas: "451"},
		{name: "554 after DATA is permanent", server: func(s *smtpServer) { s.answers["DATA"] = "554 5.6.0 spam" }, outcome: abi.OutcomePermanent, code: 554},
		{name: "421 greeting is temporary", server: func(s *smtpServer) { s.answers["GREETING"] = "421 busy" }, outcome: abi.OutcomeTemporary, code: 421},
		{name: "554 greeting is temporary (not about the message)", server: func(s *smtpServer) { s.answers["GREETING"] = "554 go away" }, outcome: abi.OutcomeTemporary, code: 554},
		{name: "no relay configured", cfg: func(c *SMTPConfig) { c.Addr = "" }, outcome: abi.OutcomeTemporary, errHas: "no SMTP relay"},
		{name: "relay down", cfg: func(c *SMTPConfig) { c.Addr = closedAddr(t) }, outcome: abi.OutcomeTemporary, errHas: "connect"},
		{name: "STARTTLS auto upgrades", server: func(s *smtpServer) { s.tls = serverTLS }, outcome: abi.OutcomeOK, code: 250,
			check: func(t *testing.T, m smtpMessage) {
				if !m.tls {
					t.Fatal("sent in clear text although STARTTLS was offered")
				}
			}},
		{name: "STARTTLS auto, refused: clear text", server: func(s *smtpServer) { s.tls, s.refuseTLS = serverTLS, true }, outcome: abi.OutcomeOK, code: 250},
		{name: "STARTTLS auto, refused, with AUTH: temporary", server: func(s *smtpServer) { s.tls, s.refuseTLS = serverTLS, true },
			cfg: func(c *SMTPConfig) { c.Username, c.Password = "u", "p" }, outcome: abi.OutcomeTemporary, code: 454},
		{name: "STARTTLS always, not offered: temporary", cfg: func(c *SMTPConfig) { c.StartTLS = "always" }, outcome: abi.OutcomeTemporary, errHas: "STARTTLS"},
		{name: "STARTTLS never", server: func(s *smtpServer) { s.tls = serverTLS }, cfg: func(c *SMTPConfig) { c.StartTLS = "never" }, outcome: abi.OutcomeOK,
			code: 250, check: func(t *testing.T, m smtpMessage) {
				if m.tls {
					t.Fatal("TLS although never")
				}
			}},
		{name: "AUTH PLAIN over TLS", server: func(s *smtpServer) { s.tls, s.authUser, s.authPass = serverTLS, "relay-user", "s3cret" },
			cfg: func(c *SMTPConfig) { c.Username, c.Password = "relay-user", "s3cret" }, outcome: abi.OutcomeOK, code: 250,
			check: func(t *testing.T, m smtpMessage) {
				if m.auth != "relay-user" || !m.tls {
					t.Fatalf("auth %q tls %v", m.auth, m.tls)
				}
			}},
		{name: "AUTH refused: temporary", server: func(s *smtpServer) { s.tls, s.authUser, s.authPass = serverTLS, "relay-user", "other" },
			cfg: func(c *SMTPConfig) { c.Username, c.Password = "relay-user", "s3cret" }, outcome: abi.OutcomeTemporary, code: 535},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newSMTPServer(t, tt.server)
			cfg := SMTPConfig{Addr: srv.addr, TLSConfig: clientTLS, Timeout: 5 * time.Second}
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			from, to := tt.from, tt.to
			switch from {
			case "":
				from = "a@example.com"
			case "-":
				from = ""
			}
			if to == nil {
				to = []string{"b@example.com"}
			}
			relay := newSMTPRelay(cfg)
			r := relay.send(context.Background(), from, to, []byte(testMessage))
			if r.Outcome != tt.outcome || (tt.code != 0 && r.Code != tt.code) || !strings.Contains(r.Error, tt.errHas) {
				t.Fatalf("reply %+v, want outcome %v code %d error with %q", r, tt.outcome, tt.code, tt.errHas)
			}
			if strings.Contains(r.Error, "s3cret") {
				t.Fatalf("the error shows the password: %q", r.Error)
			}
			got := srv.received()
			if tt.outcome != abi.OutcomeOK {
				if len(got) != 0 {
					t.Fatalf("a failed send delivered %+v", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("received %d messages", len(got))
			}
			if tt.check != nil {
				tt.check(t, got[0])
			}
		})
	}
}

// A relay that never answers: the send ends at the caller's deadline, not
// at the relay's timeout.
func TestSMTPSendWatchesContext(t *testing.T) {
	srv := newSMTPServer(t, func(s *smtpServer) { s.silent = true })
	relay := newSMTPRelay(SMTPConfig{Addr: srv.addr, Timeout: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	r := relay.send(ctx, "a@example.com", []string{"b@example.com"}, []byte(testMessage))
	if r.Outcome != abi.OutcomeTemporary {
		t.Fatalf("reply %+v", r)
	}
	// Relative, not timed: ending well before the relay's own timeout (a minute) shows the
	// caller's deadline ended it, however loaded the machine.
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("send took %v after a 200 ms deadline (the relay's timeout is a minute)", d)
	}
}

func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestOutboxWriteAtomicAndIdempotent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	for i, body := range []string{"first", "second"} {
		path, err := writeFileAtomic(dir, "m1.eml", []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if path != filepath.Join(dir, "m1.eml") {
			t.Fatalf("path %s", path)
		}
		if b, _ := os.ReadFile(path); string(b) != body {
			t.Fatalf("write %d: file holds %q", i, b)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("%d files after writing one id twice (temporary files left?)", len(entries))
	}
	st, _ := os.Stat(dir)
	if st.Mode().Perm() != 0o700 {
		t.Fatalf("folder mode %v, want 0700", st.Mode().Perm())
	}
	fst, _ := os.Stat(filepath.Join(dir, "m1.eml"))
	if fst.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v, want 0600", fst.Mode().Perm())
	}
}

func TestOutboxNames(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"0000018c-2f1a-ab12cd34ef56", true},
		{"a.b_c-D", true},
		{"", false},
		{".hidden", false},
		{"../escape", false},
		{"a/b", false},
		{"a\x00b", false},
		{strings.Repeat("x", 128), true},
		{strings.Repeat("x", 129), false},
	}
	for _, tt := range tests {
		if got := outboxName.MatchString(tt.id); got != tt.ok {
			t.Errorf("%q: %v, want %v", tt.id, got, tt.ok)
		}
	}
}

func TestHTTPConnectionConfig(t *testing.T) {
	tests := []struct {
		name string
		conn HTTPConnection
		err  string
	}{
		{"ok", HTTPConnection{BaseURL: "https://api.example.com/v3"}, ""},
		{"no scheme", HTTPConnection{BaseURL: "api.example.com"}, "want an http or https URL"},
		{"ftp", HTTPConnection{BaseURL: "ftp://api.example.com"}, "want an http or https URL"},
		{"credentials in the URL", HTTPConnection{BaseURL: "https://u:p@api.example.com"}, "put credentials in headers"},
		{"query", HTTPConnection{BaseURL: "https://api.example.com/?k=v"}, "no query"},
		{"bad header", HTTPConnection{BaseURL: "https://api.example.com", Headers: map[string]string{"X-Key": "a\r\nb"}}, "bad header"},
		{"bad method", HTTPConnection{BaseURL: "https://api.example.com", Methods: []string{"PO ST"}}, "bad method"},
		{"relative prefix", HTTPConnection{BaseURL: "https://api.example.com", PathPrefix: "v1"}, "must start with /"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newHTTPConn("c", tt.conn)
			if (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("err %v, want %q", err, tt.err)
			}
		})
	}
}

func TestHTTPRequest(t *testing.T) {
	type seen struct {
		method, path, query, auth, custom, ctype, body string
	}
	var mu sync.Mutex
	var got []seen
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), r.Header.Get("X-Custom"), r.Header.Get("Content-Type"), string(b)})
		mu.Unlock()
		switch r.URL.Path {
		case "/api/v1/redirect":
			http.Redirect(w, r, "http://169.254.169.254/latest", http.StatusFound)
		case "/api/v1/big":
			w.Write([]byte(strings.Repeat("x", 2000)))
		case "/api/v1/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(time.Minute):
			}
		case "/api/v1/fail":
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			w.Header().Set("X-Reply", "yes")
			w.WriteHeader(http.StatusAccepted)
			w.Write([]byte(`{"id":"42"}`))
		}
	}))
	defer api.Close()
	// Something the plugin must never reach.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request reached a server that is not a connection: %s %s", r.Method, r.URL)
	}))
	defer other.Close()

	tr, err := newTransports(&Config{HTTPConnections: map[string]HTTPConnection{
		"mail-api": {BaseURL: api.URL + "/api/", Headers: map[string]string{"Authorization": "Bearer operator-secret"},
			Methods: []string{"post", "GET"}, PathPrefix: "/v1/", Timeout: 500 * time.Millisecond, MaxResponseBytes: 1000},
		"private": {BaseURL: api.URL, Plugins: []string{"mailer.other"}},
		"down":    {BaseURL: "http://" + closedAddr(t)},
		// patient waits a minute: only a caller's deadline ends its calls sooner.
		"patient": {BaseURL: api.URL + "/api/", Methods: []string{"POST"}, PathPrefix: "/v1/", Timeout: time.Minute},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.close()
	otherHost := strings.TrimPrefix(other.URL, "http://")
	tests := []struct {
		name    string
		req     abi.HTTPRequest
		outcome abi.Outcome
		status  uint32
		errHas  string
		want    *seen
	}{
		{name: "post", req: abi.HTTPRequest{Connection: "mail-api", Method: "POST", Path: "/v1/send?x=1", Headers: []string{"Content-Type", "application/json", "X-Custom", "c"}, Body: []byte(`{"a":1}`)},
			status: 202, want: &seen{"POST", "/api/v1/send", "x=1", "Bearer operator-secret", "c", "application/json", `{"a":1}`}},
		{name: "get", req: abi.HTTPRequest{Connection: "mail-api", Method: "GET", Path: "/v1/status"}, status: 202,
			want: &seen{method: "GET", path: "/api/v1/status", auth: "Bearer operator-secret"}},
		{name: "a status is not an error", req: abi.HTTPRequest{Connection: "mail-api", Method: "POST", Path: "/v1/fail"}, status: 503},
		{name: "redirect not followed", req: abi.HTTPRequest{Connection: "mail-api", Method: "POST", Path: "/v1/redirect"}, status: 302},
		{name: "unknown connection", req: abi.HTTPRequest{Connection: "nope", Method: "POST", Path: "/v1/send"}, outcome: abi.OutcomePermanent, errHas: `no connection "nope"`},
		{name: "connection of another plugin", req: abi.HTTPRequest{Connection: "private", Method: "POST", Path: "/"}, outcome: abi.OutcomePermanent, errHas: `no connection "private" for mailer.test`},
		{name: "method not allowed", req: abi.HTTPRequest{Connection: "mail-api", Method: "DELETE", Path: "/v1/send"}, outcome: abi.OutcomePermanent, errHas: "does not allow method"},
		{name: "outside the prefix", req: abi.HTTPRequest{Connection: "mail-api", Method: "POST", Path: "/admin"}, outcome: abi.OutcomePermanent, errHas: "outside the allowed prefix"},
		{name: "dot dot", req: abi.HTTPRequest{Connection: "mail-api", Method: "POST", Path: "/v1/../admin"}, outcome: abi.OutcomePermanent, errHas: "canonical"},
		{name: "encoded dot dot", req: abi.HTTPRequest{Connection: "mail-api", Method: "POST", Path: "/v1/%2e%2e/admin"}, outcome: abi.OutcomePermanent, errHas: "canonical"},
		{name: "another host", req: abi.HTTPRequest{Connection: "mail-api", Method: "POST", Path: "//" + otherHost + "/v1/x"}, outcome: abi.OutcomePermanent, errHas: "want /path"},
		{name: "absolute URL", req: abi.HTTPRequest{Connection: "mail-api", Method: "POST", Path: other.URL + "/v1/x"}, outcome: abi.OutcomePermanent, errHas: "want /path"},
		{name: "backslash", req: abi.HTTPRequest{Connection: "mail-api", Method: "POST", Path: "/v1\\..\\admin"}, outcome: abi.OutcomePermanent, errHas: "want /path"},
		{name: "plugin sets Authorization", req: abi.HTTPRequest{Connection: "mail-api", Method: "POST", Path: "/v1/send", Headers: []string{"authorization", "Bearer mine"}}, outcome: abi.OutcomePermanent, errHas: "fixed by the operator"},
		{name: "plugin sets Host", req: abi.HTTPRequest{Connection: "mail-api", Method: "POST", Path: "/v1/send", Headers: []string{"Host", otherHost}}, outcome: abi.OutcomePermanent, errHas: "set by the host"},
		{name: "header injection", req: abi.HTTPRequest{Connection: "mail-api", Method: "POST", Path: "/v1/send", Headers: []string{"X-A", "b\r\nX-B: c"}}, outcome: abi.OutcomePermanent, errHas: "bad header"},
		{name: "odd headers", req: abi.HTTPRequest{Connection: "mail-api", Method: "POST", Path: "/v1/send", Headers: []string{"X-A"}}, outcome: abi.OutcomePermanent, errHas: "odd"},
		{name: "connection down", req: abi.HTTPRequest{Connection: "down", Method: "POST", Path: "/"}, outcome: abi.OutcomeTemporary},
		{name: "timeout", req: abi.HTTPRequest{Connection: "mail-api", Method: "POST", Path: "/v1/slow"}, outcome: abi.OutcomeTemporary},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			got = nil
			mu.Unlock()
			r := tr.do(context.Background(), "mailer.test", &tt.req)
			if r.Outcome != tt.outcome || r.Status != tt.status || !strings.Contains(r.Error, tt.errHas) {
				t.Fatalf("response %+v, want outcome %v status %d error with %q", r, tt.outcome, tt.status, tt.errHas)
			}
			if strings.Contains(r.Error, "operator-secret") || strings.Contains(strings.Join(r.Headers, " "), "operator-secret") {
				t.Fatal("the reply shows the operator's secret")
			}
			if tt.want != nil {
				mu.Lock()
				defer mu.Unlock()
				if len(got) != 1 || got[0] != *tt.want {
					t.Fatalf("server saw %+v, want %+v", got, *tt.want)
				}
			}
			if tt.outcome == abi.OutcomePermanent {
				mu.Lock()
				defer mu.Unlock()
				if len(got) != 0 {
					t.Fatalf("a refused request reached the server: %+v", got)
				}
			}
		})
	}
	t.Run("reply", func(t *testing.T) {
		r := tr.do(context.Background(), "mailer.test", &abi.HTTPRequest{Connection: "mail-api", Method: "POST", Path: "/v1/send"})
		if string(r.Body) != `{"id":"42"}` || r.Truncated || !strings.Contains(strings.Join(r.Headers, "|"), "X-Reply|yes") {
			t.Fatalf("reply %+v", r)
		}
		r = tr.do(context.Background(), "mailer.test", &abi.HTTPRequest{Connection: "mail-api", Method: "POST", Path: "/v1/big"})
		if len(r.Body) != 1000 || !r.Truncated {
			t.Fatalf("big body: %d bytes, truncated %v", len(r.Body), r.Truncated)
		}
	})
	t.Run("caller's deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		r := tr.do(ctx, "mailer.test", &abi.HTTPRequest{Connection: "patient", Method: "POST", Path: "/v1/slow"})
		// The connection's timeout and the slow endpoint are a minute: ending well before
		// that shows the caller's deadline ended the call (a relative bound, robust on a
		// loaded machine).
		if r.Outcome != abi.OutcomeTemporary || time.Since(start) > 30*time.Second {
			t.Fatalf("%+v after %v", r, time.Since(start))
		}
	})
}

func TestTransportMessagesRoundTrip(t *testing.T) {
	in := abi.HTTPRequest{Connection: "c", Method: "POST", Path: "/p", Headers: []string{"A", "", "B", "v"}, Body: []byte{}}
	var out abi.HTTPRequest
	if err := out.Unmarshal(in.Marshal(nil)); err != nil || out.Connection != "c" || len(out.Headers) != 4 || out.Headers[1] != "" || out.Body == nil {
		t.Fatalf("%+v %v", out, err)
	}
	r := abi.Reply{Outcome: abi.OutcomePermanent, Error: "e", Code: 550}
	var r2 abi.Reply
	if err := r2.Unmarshal(r.Marshal(nil)); err != nil || r2 != r {
		t.Fatalf("%+v %v", r2, err)
	}
}
