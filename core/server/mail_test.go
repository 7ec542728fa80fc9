package server

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/gatehouse/gatehouse/core/config"
	coremail "github.com/gatehouse/gatehouse/core/mail"
	"github.com/gatehouse/gatehouse/host"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

// Mail leaves through the mailer plugin GATEHOUSE_MAILER names, with the settings the host
// keeps: the outbox folder, or the SMTP relay.
func TestMailThroughPlugins(t *testing.T) {
	smtp := sdktest.NewSMTPServer(t)
	tests := []struct {
		name   string
		adjust func(*config.Config)
	}{
		{"outbox", nil},
		{"smtp", func(c *config.Config) {
			c.Mailer, c.SMTPAddr, c.SMTPFrom = "smtp", smtp.Addr, "Gatehouse <gatehouse@example.com>"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var dataDir string
			base := startServer(t, func(c *config.Config) {
				c.Argon2Memory, c.Argon2Time = 64, 1
				dataDir = c.DataDir
				if tt.adjust != nil {
					tt.adjust(c)
				}
			})
			c := client{t, base, &fasthttp.Client{}}
			if code, body := c.do("GET", "/readyz", "", ""); code != 200 {
				t.Fatalf("readyz %d %s", code, body)
			}
			email := "mail-" + tt.name + "@example.com"
			if code, body := c.do("POST", "/user", "", `{"email":"`+email+`","password":"Passw0rdX"}`); code != 200 {
				t.Fatalf("register %d %s", code, body)
			}
			if code, body := c.do("POST", "/user/password/reset/send", "", `{"email":"`+email+`"}`); code != 200 {
				t.Fatalf("reset/send %d %s", code, body)
			}
			// Generous: a first attempt that fails on a loaded machine is retried after 30 s.
			deadline := time.Now().Add(50 * time.Second)
			for {
				var msgs []string
				if tt.name == "outbox" {
					files, _ := filepath.Glob(filepath.Join(dataDir, "outbox", "*.eml"))
					for _, f := range files {
						b, _ := os.ReadFile(f)
						msgs = append(msgs, string(b))
					}
				} else {
					for _, m := range smtp.Messages() {
						if m.From != "gatehouse@example.com" {
							t.Fatalf("envelope sender %q", m.From)
						}
						msgs = append(msgs, m.Data)
					}
				}
				if len(msgs) == 1 && strings.Contains(msgs[0], "To: "+email) && strings.Contains(msgs[0], "Message-ID: <") {
					return
				}
				if len(msgs) > 1 || time.Now().After(deadline) {
					_, metrics := c.do("GET", "/metrics", "", "")
					var mailLines []string
					for _, l := range strings.Split(metrics, "\n") {
						if strings.Contains(l, "mail") && !strings.HasPrefix(l, "#") {
							mailLines = append(mailLines, l)
						}
					}
					t.Fatalf("messages %q; metrics %q", msgs, mailLines)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

// A mailer that is not loaded makes the server unready, names it, and keeps the mail.
func TestMissingMailerIsNotReady(t *testing.T) {
	base := startServer(t, func(c *config.Config) { c.Mailer = "mailer.absent" })
	c := client{t, base, &fasthttp.Client{}}
	if code, body := c.do("GET", "/readyz", "", ""); code != 503 || !strings.Contains(body, "mailer.absent") {
		t.Fatalf("readyz %d %s", code, body)
	}
}

// The adapter maps the plugin's refusal to a permanent failure and everything else to a retry.
func TestPluginMailerErrors(t *testing.T) {
	h := sdktest.NewHost(t, host.Config{})
	m := pluginMailer{host: h, id: "mailer.absent"}
	err := m.Deliver(context.Background(), coremail.Envelope{ID: "m", From: "a@example.com", To: []string{"b@example.com"}})
	var perm *coremail.PermanentError
	var pe *host.PluginError
	if errors.As(err, &perm) || !errors.As(err, &pe) || pe.Code != host.CodeUnavailable {
		t.Fatalf("missing plugin: %v, want a retryable PLUGIN_UNAVAILABLE", err)
	}
}

func TestPluginGrants(t *testing.T) {
	g := pluginGrants(map[string][]string{"mailer.httpapi": {"http"}, "mailer.smtp": {"http"}})
	if strings.Join(g["mailer.httpapi"], "+") != "http" || strings.Join(g["mailer.smtp"], "+") != "http+smtp" || strings.Join(g["mailer.outbox"], "+") != "outbox" ||
		strings.Join(g["twofactor.totp"], "+") != "crypto" || strings.Join(g["twofactor.passkey"], "+") != "crypto" {
		t.Fatalf("grants %v", g)
	}
}
