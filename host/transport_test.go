package host_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/host"
	"github.com/gatehouse/gatehouse/sdk/abi"
)

// The outbox capability through the ABI, from a hand-written WAT plugin
// (testdata/cap-outbox.wat): the request and reply_read convention, the
// reply's outcome, and the traps on misuse.
func TestOutboxCapabilityABI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	grants := map[string][]string{"password.cap-outbox": {"outbox"}}
	h := newHost(t, host.Config{Grants: grants, OutboxDir: dir})
	mustLoad(t, h, "cap-outbox", fixture(t, "cap-outbox"))
	pp := policy(t, h, "password.cap-outbox")
	tests := []struct {
		password string
		accepted bool
		codes    string // the denial's codes, or the PluginError code
	}{
		{"write", true, ""},
		{"write again", true, ""}, // the same id: replaced, not duplicated
		{"bad id P", false, "OUTBOX_REFUSED"},
		{"reply_read first R", false, host.CodeFailed},
		{"garbage request G", false, host.CodeFailed},
	}
	for _, tt := range tests {
		t.Run(tt.password, func(t *testing.T) {
			v, err := pp.Check(context.Background(), abi.PasswordCheckRequest{Password: tt.password})
			var pe *host.PluginError
			switch {
			case errors.As(err, &pe):
				if pe.Code != tt.codes {
					t.Fatalf("error %v, want %s", err, tt.codes)
				}
			case err != nil:
				t.Fatal(err)
			case (v == nil) != tt.accepted || strings.Join(reasonCodes(v), ",") != tt.codes:
				t.Fatalf("verdict %+v, want accepted=%v codes %q", v, tt.accepted, tt.codes)
			}
		})
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 || entries[0].Name() != "wat-fixture.eml" {
		t.Fatalf("outbox folder: %v %v", entries, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "wat-fixture.eml")); string(b) != "hello" {
		t.Fatalf("file holds %q", b)
	}

	t.Run("no folder: the reply says temporary", func(t *testing.T) {
		h := newHost(t, host.Config{Grants: grants})
		mustLoad(t, h, "cap-outbox", fixture(t, "cap-outbox"))
		_, err := policy(t, h, "password.cap-outbox").Check(context.Background(), abi.PasswordCheckRequest{Password: "write"})
		if !isCode(err, host.CodeFailed) { // the fixture answers status 3 to a non-ok reply
			t.Fatalf("%v", err)
		}
	})
	t.Run("not granted: not loaded", func(t *testing.T) {
		h := newHost(t, host.Config{Grants: map[string][]string{"password.cap-outbox": {"smtp", "http"}}, OutboxDir: dir})
		err := h.Load(context.Background(), "cap-outbox", fixture(t, "cap-outbox"))
		if err == nil || !strings.Contains(err.Error(), `capability "outbox" is not granted to password.cap-outbox`) {
			t.Fatalf("Load: %v", err)
		}
	})
}

func TestCallTransport(t *testing.T) {
	dir := t.TempDir()
	h := newHost(t, host.Config{Grants: map[string][]string{"mailer.x": {"outbox"}}, OutboxDir: dir})
	tests := []struct {
		name, id, capability string
		req                  []byte
		err                  string
	}{
		{"granted", "mailer.x", "outbox", []byte("\x0a\x01m\x12\x02hi"), ""},
		{"not granted", "mailer.y", "outbox", nil, "not granted"},
		{"not granted smtp", "mailer.x", "smtp", nil, "not granted"},
		{"undecodable", "mailer.x", "outbox", []byte{0xff}, "undecodable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply, err := h.CallTransport(context.Background(), tt.id, tt.capability, tt.req)
			if (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("err %v, want %q", err, tt.err)
			}
			if err == nil && len(reply) != 0 {
				t.Fatalf("reply %x, want empty (ok)", reply)
			}
		})
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "m.eml")); string(b) != "hi" {
		t.Fatalf("file holds %q", b)
	}
}
