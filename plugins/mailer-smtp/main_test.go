package main

import (
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/host"
	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

func TestConformance(t *testing.T) {
	sdktest.Conformance(t, sdktest.Build(t, "."))
}

// Natively and as the built .wasm in the real host, against a loopback SMTP
// server that the host's smtp capability reaches (the plugin never sees its
// address).
func TestDeliver(t *testing.T) {
	srv := sdktest.NewSMTPServer(t)
	wasm := sdktest.Build(t, ".")
	cfg := host.Config{
		Grants: map[string][]string{info.ID: {"smtp"}},
		SMTP:   host.SMTPConfig{Addr: srv.Addr, Sender: "gatehouse@example.com"},
	}
	for _, mode := range sdktest.MailerModes(t, wasm, cfg) {
		t.Run(mode.Name, func(t *testing.T) {
			tests := []struct {
				name   string
				to     string
				from   string
				answer [2]string // step, reply queued on the server
				code   string    // "" delivered; host.CodeRetry; or the refusal's reason code
			}{
				{name: "delivered", to: "ann@example.com"},
				{name: "550 refuses", to: "nobody@example.com", answer: [2]string{"RCPT", "550 5.1.1 no such user"}, code: CodeRejected},
				{name: "451 retries", to: "ann@example.com", answer: [2]string{"DATA", "451 4.3.0 try later"}, code: host.CodeRetry},
				{name: "bad address", to: "not-an-address", code: CodeBadMessage},
				{name: "sender not allowed", to: "ann@example.com", from: "Mallory <mallory@example.com>", code: CodeRejected},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					before := len(srv.Messages())
					if tt.answer[0] != "" {
						srv.Answer(tt.answer[0], tt.answer[1])
					}
					from := tt.from
					if from == "" {
						from = "Gatehouse <gatehouse@example.com>"
					}
					err := mode.Deliver(context.Background(), abi.DeliverRequest{MessageID: "0000018c-ab12", From: from, To: []string{tt.to},
						Subject: "Réinitialisez votre mot de passe", Text: "Votre code : 123456\n.ligne avec un point", HTML: "<p>Votre code : <b>123456</b></p>"})
					checkOutcome(t, err, tt.code)
					got := srv.Messages()[before:]
					if tt.code != "" {
						if len(got) != 0 {
							t.Fatalf("a failed delivery was accepted: %+v", got)
						}
						return
					}
					if len(got) != 1 {
						t.Fatalf("%d messages accepted", len(got))
					}
					m := got[0]
					if m.From != "gatehouse@example.com" || len(m.To) != 1 || m.To[0] != tt.to {
						t.Fatalf("envelope %q -> %q", m.From, m.To)
					}
					checkMessage(t, m.Data)
				})
			}
		})
	}
}

// checkMessage reads the message as a mail client would.
func checkMessage(t *testing.T, data string) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subject != "Réinitialisez votre mot de passe" {
		t.Fatalf("subject %q (%v)", subject, err)
	}
	if got := msg.Header.Get("Message-ID"); got != "<0000018c-ab12@example.com>" {
		t.Fatalf("Message-ID %q", got)
	}
	if from, err := mail.ParseAddress(msg.Header.Get("From")); err != nil || from.Address != "gatehouse@example.com" || from.Name != "Gatehouse" {
		t.Fatalf("From %q", msg.Header.Get("From"))
	}
	if _, err := mail.ParseDate(msg.Header.Get("Date")); err != nil {
		t.Fatalf("Date %q: %v", msg.Header.Get("Date"), err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q", msg.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var parts []string
	for {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.Header.Get("Content-Transfer-Encoding") != "quoted-printable" {
			t.Fatalf("part encoding %q", p.Header.Get("Content-Transfer-Encoding"))
		}
		b, err := io.ReadAll(quotedprintable.NewReader(p))
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, p.Header.Get("Content-Type")+"|"+string(b))
	}
	want := []string{`text/plain; charset="utf-8"|Votre code : 123456` + "\r\n.ligne avec un point",
		`text/html; charset="utf-8"|<p>Votre code : <b>123456</b></p>`}
	if len(parts) != 2 || parts[0] != want[0] || parts[1] != want[1] {
		t.Fatalf("parts %q, want %q", parts, want)
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
			t.Fatalf("refused with %v (%v), want %s", refused.Codes, refused.Reasons, code)
		}
	case errors.As(err, &pe):
		if pe.Code != code {
			t.Fatalf("error %v, want code %s", err, code)
		}
	default:
		t.Fatalf("Deliver: %v, want %s", err, code)
	}
}

// Without the operator's grant the plugin does not load.
func TestNotGranted(t *testing.T) {
	wasm := sdktest.Build(t, ".")
	h := sdktest.NewHost(t, host.Config{Grants: map[string][]string{info.ID: {"http"}}})
	b, err := os.ReadFile(wasm)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Load(context.Background(), wasm, b); err == nil || !strings.Contains(err.Error(), `capability "smtp" is not granted to mailer.smtp`) {
		t.Fatalf("Load: %v", err)
	}
}
