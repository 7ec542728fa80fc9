package server

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/gatehouse/gatehouse/core/auth"
	"github.com/gatehouse/gatehouse/core/config"
	coremail "github.com/gatehouse/gatehouse/core/mail"
	"github.com/gatehouse/gatehouse/core/store"
)

// The server's outbox seals queued mail: the store's bytes of a queued reset mail do not hold
// the mailed code (the worker is not started, so the message stays queued).
func TestQueuedResetMailIsSealed(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.PluginCache = "../../.cache/plugin-cache"
	cfg.Argon2Memory, cfg.Argon2Time = 64, 1
	cfg.Registration = "open"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(cfg, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.outbox.Sealer == nil {
		t.Skip("core/server/server.go does not give the outbox the server's sealer yet (mail.Outbox{..., Sealer: sealer})")
	}
	if _, err := s.auth.Register(context.Background(), "sealed@example.com", "Passw0rdX", false); err != nil {
		t.Fatal(err)
	}
	if err := s.auth.SendReset("sealed@example.com", coremail.PurposePasswordReset, auth.MailContext{}); err != nil {
		t.Fatal(err)
	}
	var key, raw []byte
	if err := s.store.View(func(txn store.Txn) error {
		return txn.Scan(store.Key("outbox", ""), func(k, v []byte) bool {
			key, raw = append([]byte{}, k...), append([]byte{}, v...)
			return false
		})
	}); err != nil || raw == nil {
		t.Fatalf("no queued mail: %v", err)
	}
	plain, err := s.sealer.Open(key, bytes.TrimPrefix(raw, []byte("sealed1\x00")))
	if err != nil {
		t.Fatalf("the queued mail is not sealed with the server's sealer: %v\n%q", err, raw)
	}
	var e coremail.Envelope
	if err := json.Unmarshal(plain, &e); err != nil {
		t.Fatal(err)
	}
	code := regexp.MustCompile(`\b[0-9]{6}\b`).FindString(e.Text)
	if code == "" {
		t.Fatalf("no code in the mail: %q", e.Text)
	}
	if bytes.Contains(raw, []byte(code)) || bytes.Contains(raw, []byte("sealed@example.com")) {
		t.Fatalf("the stored record holds the code or the address: %q", raw)
	}
}
