package main

import (
	"context"
	"errors"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/host"
	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

func TestConformance(t *testing.T) {
	sdktest.Conformance(t, sdktest.Build(t, "."))
}

// Natively and as the built .wasm in the real host: each message becomes
// <folder>/<message id>.eml, and a retry of the same id replaces the file
// rather than adding one.
func TestDeliver(t *testing.T) {
	wasm := sdktest.Build(t, ".")
	dir := filepath.Join(t.TempDir(), "outbox")
	cfg := host.Config{Grants: map[string][]string{info.ID: {"outbox"}}, OutboxDir: dir}
	modes := sdktest.MailerModes(t, wasm, cfg)
	for _, mode := range modes {
		t.Run(mode.Name, func(t *testing.T) {
			id := "0000018c-" + mode.Name
			m := abi.DeliverRequest{MessageID: id, From: "gatehouse@example.com", To: []string{"ann@example.com"}, Subject: "Code", Text: "123456"}
			for i := 0; i < 2; i++ {
				if err := mode.Deliver(context.Background(), m); err != nil {
					t.Fatalf("delivery %d: %v", i, err)
				}
			}
			b, err := os.ReadFile(filepath.Join(dir, id+".eml"))
			if err != nil {
				t.Fatal(err)
			}
			msg, err := mail.ReadMessage(strings.NewReader(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			if msg.Header.Get("Message-ID") != "<"+id+"@example.com>" || msg.Header.Get("To") != "ann@example.com" ||
				!strings.HasPrefix(msg.Header.Get("Content-Type"), "text/plain") {
				t.Fatalf("headers %v", msg.Header)
			}

			m.MessageID = "../escape"
			var refused *host.Refused
			if err := mode.Deliver(context.Background(), m); !errors.As(err, &refused) || refused.Codes[0] != CodeBadMessage {
				t.Fatalf("bad id: %v", err)
			}
		})
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != len(modes) || strings.Contains(strings.Join(names, " "), "escape") {
		t.Fatalf("outbox holds %v", names)
	}
}

// Without a folder, delivery fails temporarily (the message waits).
func TestNoFolder(t *testing.T) {
	h, _ := sdktest.Load(t, sdktest.Build(t, "."), host.Config{Grants: map[string][]string{info.ID: {"outbox"}}})
	m, err := h.Mailer(info.ID)
	if err != nil {
		t.Fatal(err)
	}
	var pe *host.PluginError
	err = m.Deliver(context.Background(), abi.DeliverRequest{MessageID: "m", From: "a@example.com", To: []string{"b@example.com"}, Subject: "s", Text: "t"})
	if !errors.As(err, &pe) || pe.Code != host.CodeRetry {
		t.Fatalf("Deliver: %v, want PLUGIN_RETRY", err)
	}
}
