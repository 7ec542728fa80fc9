package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/host"
	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

// apiServer is a local email API: it records what it receives and answers
// with the status the test chose for the recipient.
type apiServer struct {
	*httptest.Server
	mu   sync.Mutex
	got  []received
	fail map[string]int // recipient -> status
}

type received struct {
	path, auth, idem, ctype string
	msg                     message
}

func newAPIServer(t *testing.T) *apiServer {
	a := &apiServer{fail: map[string]int{"bad@example.com": 422, "busy@example.com": 503, "slow-down@example.com": 429}}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m message
		if err := json.Unmarshal(b, &m); err != nil {
			http.Error(w, "bad json", 400)
			return
		}
		a.mu.Lock()
		a.got = append(a.got, received{r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Idempotency-Key"), r.Header.Get("Content-Type"), m})
		a.mu.Unlock()
		if s := a.fail[m.To[0]]; s != 0 {
			http.Error(w, `{"error":"nope"}`, s)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *apiServer) take() []received {
	a.mu.Lock()
	defer a.mu.Unlock()
	got := a.got
	a.got = nil
	return got
}

func TestConformance(t *testing.T) {
	sdktest.Conformance(t, sdktest.Build(t, "."))
}

// The same cases natively and as the built .wasm in the real host, against a
// local HTTP server reached only through the operator's named connection.
func TestDeliver(t *testing.T) {
	api := newAPIServer(t)
	wasm := sdktest.Build(t, ".")
	cfg := host.Config{
		Grants: map[string][]string{info.ID: {"http"}},
		HTTPConnections: map[string]host.HTTPConnection{
			"email-api": {BaseURL: api.URL + "/v1", Headers: map[string]string{"Authorization": "Bearer k3y"}, PathPrefix: "/send"},
		},
	}
	tests := []struct {
		to    string
		code  string // "" delivered; host.CodeRetry; or the refusal's reason code
		calls int
	}{
		{"ann@example.com", "", 1},
		{"bad@example.com", CodeRejected, 1},
		{"busy@example.com", host.CodeRetry, 1},
		{"slow-down@example.com", host.CodeRetry, 1},
	}
	for _, mode := range sdktest.MailerModes(t, wasm, cfg) {
		t.Run(mode.Name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.to, func(t *testing.T) {
					mail := abi.DeliverRequest{MessageID: "0001-abc", From: "Gatehouse <gatehouse@example.com>", To: []string{tt.to},
						Subject: "Réinitialisation", Text: "code 123456", HTML: "<p>code 123456</p>"}
					err := mode.Deliver(context.Background(), mail)
					checkOutcome(t, err, tt.code)
					got := api.take()
					if len(got) != tt.calls {
						t.Fatalf("%d API calls, want %d", len(got), tt.calls)
					}
					g := got[0]
					want := message{ID: "0001-abc", From: mail.From, To: mail.To, Subject: mail.Subject, Text: mail.Text, HTML: mail.HTML}
					if g.path != "/v1/send" || g.auth != "Bearer k3y" || g.idem != "0001-abc" || g.ctype != "application/json" ||
						g.msg.ID != want.ID || g.msg.From != want.From || g.msg.To[0] != want.To[0] || g.msg.Subject != want.Subject ||
						g.msg.Text != want.Text || g.msg.HTML != want.HTML {
						t.Fatalf("API received %+v", g)
					}
				})
			}
		})
	}
}

func checkOutcome(t *testing.T, err error, code string) {
	t.Helper()
	var refused *host.Refused
	var pe *host.PluginError
	switch {
	case code == "":
		if err != nil {
			t.Fatalf("Deliver: %v", err)
		}
	case errors.As(err, &refused):
		if refused.Codes[0] != code {
			t.Fatalf("refused with %v, want %s", refused.Codes, code)
		}
	case errors.As(err, &pe):
		if pe.Code != code {
			t.Fatalf("error %v, want code %s", err, code)
		}
	default:
		t.Fatalf("Deliver: %v, want %s", err, code)
	}
}

// The operator's settings decide what the plugin reaches: without the
// connection, or with the connection fixed to other plugins, the message is
// kept for a retry (never dropped) and no request leaves; without the grant
// the plugin does not load.
func TestOperatorSettings(t *testing.T) {
	api := newAPIServer(t)
	wasm := sdktest.Build(t, ".")
	mail := abi.DeliverRequest{MessageID: "m2", From: "gatehouse@example.com", To: []string{"ann@example.com"}, Subject: "s", Text: "t"}
	t.Run("no such connection", func(t *testing.T) {
		h, _ := sdktest.Load(t, wasm, host.Config{Grants: map[string][]string{info.ID: {"http"}}})
		m, err := h.Mailer(info.ID)
		if err != nil {
			t.Fatal(err)
		}
		checkOutcome(t, m.Deliver(context.Background(), mail), host.CodeRetry)
	})
	t.Run("connection of another plugin", func(t *testing.T) {
		h, _ := sdktest.Load(t, wasm, host.Config{Grants: map[string][]string{info.ID: {"http"}},
			HTTPConnections: map[string]host.HTTPConnection{"email-api": {BaseURL: api.URL, Plugins: []string{"mailer.other"}}}})
		m, err := h.Mailer(info.ID)
		if err != nil {
			t.Fatal(err)
		}
		checkOutcome(t, m.Deliver(context.Background(), mail), host.CodeRetry)
	})
	t.Run("configured connection name", func(t *testing.T) {
		h, _ := sdktest.Load(t, wasm, host.Config{Grants: map[string][]string{info.ID: {"http"}},
			PluginConfig:    map[string][]byte{info.ID: []byte(`{"connection": "mail", "path": "/api/send"}`)},
			HTTPConnections: map[string]host.HTTPConnection{"mail": {BaseURL: api.URL}}})
		m, err := h.Mailer(info.ID)
		if err != nil {
			t.Fatal(err)
		}
		checkOutcome(t, m.Deliver(context.Background(), mail), "")
	})
	if got := api.take(); len(got) != 1 || got[0].path != "/api/send" {
		t.Fatalf("API calls %+v, want only the configured one", got)
	}
	t.Run("not granted", func(t *testing.T) {
		h := sdktest.NewHost(t, host.Config{})
		b, _ := readFile(wasm)
		err := h.Load(context.Background(), wasm, b)
		if err == nil || !strings.Contains(err.Error(), `capability "http" is not granted to mailer.httpapi`) {
			t.Fatalf("Load: %v", err)
		}
	})
}

func TestConfigure(t *testing.T) {
	tests := []struct {
		name, config string
		ok           bool
	}{
		{"none", "", true},
		{"connection", `{"connection": "sendgrid"}`, true},
		{"empty connection", `{"connection": ""}`, false},
		{"relative path", `{"path": "send"}`, false},
		{"unknown field", `{"url": "https://evil.example"}`, false},
		{"not JSON", `{`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := newMailer().Configure([]byte(tt.config)); (len(got) == 0) != tt.ok {
				t.Fatalf("Configure(%s) = %v", tt.config, got)
			}
		})
	}
}

func readFile(path string) ([]byte, error) { return os.ReadFile(path) }
