package server

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

// A hostile 2FA plugin (testdata/hostile-mail, served at /user/2fa/password) asks the core for
// its reset mail, for mail to an address nobody gave, and for mail whose variables override the
// core's. None of it takes effect: the first two fail closed with the error envelope and queue
// nothing; the third is sent with the core's variables; and the plugin can mail the address the
// user gave in the setup body.
func TestHostilePluginMail(t *testing.T) {
	wasm, err := os.ReadFile(sdktest.Build(t, "testdata/hostile-mail"))
	if err != nil {
		t.Fatal(err)
	}
	pluginsDir, templatesDir := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(pluginsDir, "hostile-mail.wasm"), wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	own := filepath.Join(templatesDir, "default", "en", "2fa", "password", "password-code.txt")
	if err := os.MkdirAll(filepath.Dir(own), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(own, []byte("Subject: {{.Service}} code\n\nCode {{.Code}} for {{.Email}}, {{.ExpiresMinutes}} minutes. [{{.Link}}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var dataDir string
	base := startServer(t, func(c *config.Config) {
		c.Argon2Memory, c.Argon2Time = 64, 1
		c.PluginsDir, c.MailTemplates = pluginsDir, templatesDir
		dataDir = c.DataDir
	})
	c := client{t, base, &fasthttp.Client{}}
	accessToken := func(email string) string {
		t.Helper()
		if code, body := c.do("POST", "/user", "", `{"email":"`+email+`","password":"Passw0rdX"}`); code != 200 {
			t.Fatalf("register %d %s", code, body)
		}
		code, refresh := c.do("POST", "/auth/login", "", `{"username":"`+email+`","password":"Passw0rdX"}`)
		if code != 200 {
			t.Fatalf("login %d %s", code, refresh)
		}
		code, access := c.do("GET", "/auth/accesstoken", refresh, "")
		if code != 200 {
			t.Fatalf("access token %d %s", code, access)
		}
		return access
	}
	setup := func(token, mode string) (int, string) {
		return c.do("POST", "/user/2fa/password/setup", token, `{"mode":"`+mode+`","email":"given@example.com"}`)
	}
	refused := func(token, mode string, wantCode string) {
		t.Helper()
		code, body := setup(token, mode)
		var env struct {
			StatusCode int    `json:"statusCode"`
			Error      string `json:"error"`
			Message    string `json:"message"`
		}
		if code != 500 || json.Unmarshal([]byte(body), &env) != nil || env.StatusCode != 500 || env.Error != "Internal server error" || env.Message != wantCode {
			t.Fatalf("mode %s: %d %s, want 500 %s", mode, code, body, wantCode)
		}
	}

	alice := accessToken("alice@example.com")
	refused(alice, "core", "UNABLE_TO_FIND_MAIL_TEMPLATE") // its own namespace has no password-reset
	refused(alice, "victim", "PLUGIN_BAD_OUTPUT")
	if code, body := setup(alice, "vars"); code != 200 {
		t.Fatalf("vars: %d %s", code, body)
	}
	bob := accessToken("bob@example.com")
	if code, body := setup(bob, "given"); code != 200 {
		t.Fatalf("given: %d %s", code, body)
	}

	var msgs []string
	for deadline := time.Now().Add(50 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		files, _ := filepath.Glob(filepath.Join(dataDir, "outbox", "*.eml"))
		msgs = msgs[:0]
		for _, f := range files {
			b, _ := os.ReadFile(f)
			msgs = append(msgs, string(b))
		}
		if len(msgs) >= 2 || time.Now().After(deadline) {
			break
		}
	}
	time.Sleep(200 * time.Millisecond) // a refused message, had one been queued, would be out by now too
	files, _ := filepath.Glob(filepath.Join(dataDir, "outbox", "*.eml"))
	if len(msgs) != 2 || len(files) != 2 {
		t.Fatalf("%d messages, want the two allowed ones: %q", len(files), msgs)
	}
	var toAlice, toGiven string
	for _, m := range msgs {
		switch {
		case strings.Contains(m, "To: alice@example.com"):
			toAlice = m
		case strings.Contains(m, "To: given@example.com"):
			toGiven = m
		}
	}
	if toAlice == "" || toGiven == "" {
		t.Fatalf("recipients: %q", msgs)
	}
	for _, bad := range []string{"Evil", "evil.example", "999", "victim@"} {
		if strings.Contains(toAlice, bad) || strings.Contains(toGiven, bad) {
			t.Fatalf("a message carries %q:\n%s\n%s", bad, toAlice, toGiven)
		}
	}
	for _, want := range []string{"Subject: Gatehouse code", "Code 111111 for alice@example.com, 10 minutes. []"} {
		if !strings.Contains(toAlice, want) {
			t.Fatalf("the message lacks %q:\n%s", want, toAlice)
		}
	}
}
