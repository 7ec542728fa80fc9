package config

import (
	"flag"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

func TestPrecedenceAndValidation(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		check   func(Config) bool
		wantErr string
	}{
		{"defaults", nil, nil, func(c Config) bool {
			return c.Addr == "127.0.0.1:8080" && c.Registration == "closed" && c.Argon2Memory == 19456 && c.RefreshTTL == 336*time.Hour
		}, ""},
		{"env", map[string]string{"GATEHOUSE_ADDR": ":9", "GATEHOUSE_REGISTRATION": "open"}, nil,
			func(c Config) bool { return c.Addr == ":9" && c.RegistrationOpen() }, ""},
		{"flag beats env", map[string]string{"GATEHOUSE_ADDR": ":9"}, []string{"--addr", ":10"},
			func(c Config) bool { return c.Addr == ":10" }, ""},
		{"list", map[string]string{"GATEHOUSE_PASSWORD_POLICIES": " a, b ,,"}, nil,
			func(c Config) bool { return strings.Join(c.PasswordPolicies, "|") == "a|b" }, ""},
		{"skip a method", map[string]string{"GATEHOUSE_SKIP_PLUGINS": "passkey,email-otp"}, nil,
			func(c Config) bool { return strings.Join(c.SkipPlugins, "|") == "passkey|email-otp" }, ""},
		{"skip smtp while the outbox mails", map[string]string{"GATEHOUSE_SKIP_PLUGINS": "mailer-smtp"}, nil,
			func(c Config) bool { return c.SkipPlugins[0] == "mailer-smtp" }, ""},
		{"skip an unknown plugin", map[string]string{"GATEHOUSE_SKIP_PLUGINS": "twofactor.passkey"}, nil, nil, "GATEHOUSE_SKIP_PLUGINS"},
		{"skip the mailer in use", map[string]string{"GATEHOUSE_SKIP_PLUGINS": "mailer-outbox"}, nil, nil, "mailer in use"},
		{"skip the smtp mailer in use", map[string]string{"GATEHOUSE_SKIP_PLUGINS": "mailer-smtp", "GATEHOUSE_MAILER": "smtp", "GATEHOUSE_SMTP_ADDR": "127.0.0.1:25"}, nil, nil, "mailer in use"},
		{"skip the policy in use", map[string]string{"GATEHOUSE_SKIP_PLUGINS": "password-default"}, nil, nil, "password policy in use"},
		{"bad registration", map[string]string{"GATEHOUSE_REGISTRATION": "maybe"}, nil, nil, "GATEHOUSE_REGISTRATION"},
		{"every notice by default, verification off", nil, nil, func(c Config) bool {
			return strings.Join(c.Notices, ",") == strings.Join(NoticeEvents, ",") && c.VerifyEmail == "off"
		}, ""},
		{"some notices", map[string]string{"GATEHOUSE_NOTICES": "password-reset, account-deleted"}, nil,
			func(c Config) bool { return strings.Join(c.Notices, "|") == "password-reset|account-deleted" }, ""},
		{"no notices", map[string]string{"GATEHOUSE_NOTICES": "none"}, nil, func(c Config) bool { return len(c.Notices) == 1 }, ""},
		{"an unknown notice", map[string]string{"GATEHOUSE_NOTICES": "password-reset,bogus"}, nil, nil, "GATEHOUSE_NOTICES"},
		{"none with others", map[string]string{"GATEHOUSE_NOTICES": "none,password-reset"}, nil, nil, "GATEHOUSE_NOTICES"},
		{"verification required", map[string]string{"GATEHOUSE_VERIFY_EMAIL": "required"}, nil, func(c Config) bool { return c.VerifyEmail == "required" }, ""},
		{"bad verification", map[string]string{"GATEHOUSE_VERIFY_EMAIL": "yes"}, nil, nil, "GATEHOUSE_VERIFY_EMAIL"},
		{"badger sizes", map[string]string{"GATEHOUSE_BADGER_MEMTABLE_MIB": "64", "GATEHOUSE_BADGER_BLOCK_CACHE_MIB": "256"}, nil,
			func(c Config) bool {
				return c.BadgerMemTableMiB == 64 && c.BadgerBlockCacheMiB == 256 && c.BadgerIndexCacheMiB == 16
			}, ""},
		{"a memtable too small for Badger's batches", map[string]string{"GATEHOUSE_BADGER_MEMTABLE_MIB": "4"}, nil, nil, "GATEHOUSE_BADGER_MEMTABLE_MIB"},
		{"no block cache", map[string]string{"GATEHOUSE_BADGER_BLOCK_CACHE_MIB": "0"}, nil, nil, "GATEHOUSE_BADGER_BLOCK_CACHE_MIB"},
		{"a relying party that is not the public URL's", map[string]string{"GATEHOUSE_PUBLIC_URL": "https://auth.example.com", "GATEHOUSE_WEBAUTHN_RP_ID": "other.org"}, nil, nil, "GATEHOUSE_WEBAUTHN_RP_ID"},
		{"a parent domain as relying party", map[string]string{"GATEHOUSE_PUBLIC_URL": "https://auth.example.com", "GATEHOUSE_WEBAUTHN_RP_ID": "example.com"}, nil,
			func(c Config) bool { return c.WebAuthnRPID == "example.com" }, ""},
		{"bad duration", map[string]string{"GATEHOUSE_ACCESS_TTL": "soon"}, nil, nil, "GATEHOUSE_ACCESS_TTL"},
		{"bad level", nil, []string{"--log-level", "loud"}, nil, "GATEHOUSE_LOG_LEVEL"},
		{"bad number flag", nil, []string{"--argon2-time", "x"}, nil, "argon2-time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			finish := Bind(fs, func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
			parseErr := fs.Parse(tt.args)
			cfg, err := finish()
			if parseErr != nil {
				err = parseErr
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(cfg) {
				t.Fatalf("unexpected config %+v", cfg)
			}
		})
	}
}

func TestEveryFixedEnvNameExists(t *testing.T) {
	names := strings.Join(EnvNames(), " ")
	for _, n := range []string{"GATEHOUSE_ADDR", "GATEHOUSE_DATA", "GATEHOUSE_ISSUER", "GATEHOUSE_REGISTRATION", "GATEHOUSE_LOG_LEVEL", "GATEHOUSE_PLUGINS_DIR", "GATEHOUSE_VERIFY_EMAIL"} {
		if !strings.Contains(names, n) {
			t.Errorf("%s is missing", n)
		}
	}
}

func TestMailerAndConnections(t *testing.T) {
	file := t.TempDir() + "/conns.json"
	if err := os.WriteFile(file, []byte(`{"api": {"baseURL": "https://mail.example/v1", "headers": {"Authorization": "Bearer k"}, "timeout": "3s"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		check   func(Config) bool
		wantErr string
	}{
		{"outbox is the default", nil, func(c Config) bool { return c.MailerPlugin() == "mailer.outbox" }, ""},
		{"smtp", map[string]string{"GATEHOUSE_MAILER": "smtp", "GATEHOUSE_SMTP_ADDR": "127.0.0.1:25"},
			func(c Config) bool { return c.MailerPlugin() == "mailer.smtp" }, ""},
		{"smtp needs a relay", map[string]string{"GATEHOUSE_MAILER": "smtp"}, nil, "GATEHOUSE_SMTP_ADDR"},
		{"a plugin id", map[string]string{"GATEHOUSE_MAILER": "mailer.httpapi"}, func(c Config) bool { return c.MailerPlugin() == "mailer.httpapi" }, ""},
		{"not a mailer id", map[string]string{"GATEHOUSE_MAILER": "sendgrid"}, nil, "GATEHOUSE_MAILER"},
		{"connections as JSON", map[string]string{"GATEHOUSE_HTTP_CONNECTIONS": `{"api": {"baseURL": "https://mail.example/v1", "methods": ["POST"], "plugins": ["mailer.httpapi"]}}`},
			func(c Config) bool {
				a := c.HTTPConnections["api"]
				return len(c.HTTPConnections) == 1 && a.BaseURL == "https://mail.example/v1" && a.Plugins[0] == "mailer.httpapi"
			}, ""},
		{"connections from a file", map[string]string{"GATEHOUSE_HTTP_CONNECTIONS": "@" + file},
			func(c Config) bool {
				a := c.HTTPConnections["api"]
				return a.Timeout == 3*time.Second && a.Headers["Authorization"] == "Bearer k"
			}, ""},
		{"missing file", map[string]string{"GATEHOUSE_HTTP_CONNECTIONS": "@/nonexistent/conns.json"}, nil, "GATEHOUSE_HTTP_CONNECTIONS"},
		{"not JSON", map[string]string{"GATEHOUSE_HTTP_CONNECTIONS": `{"api": `}, nil, "GATEHOUSE_HTTP_CONNECTIONS"},
		{"unknown field", map[string]string{"GATEHOUSE_HTTP_CONNECTIONS": `{"api": {"url": "https://x"}}`}, nil, "GATEHOUSE_HTTP_CONNECTIONS"},
		{"bad timeout", map[string]string{"GATEHOUSE_HTTP_CONNECTIONS": `{"api": {"baseURL": "https://x", "timeout": "soon"}}`}, nil, "timeout"},
		{"bad URL", map[string]string{"GATEHOUSE_HTTP_CONNECTIONS": `{"api": {"baseURL": "ftp://x"}}`}, nil, `GATEHOUSE_HTTP_CONNECTIONS: http connection "api"`},
		{"credentials in the URL", map[string]string{"GATEHOUSE_HTTP_CONNECTIONS": `{"api": {"baseURL": "https://u:p@x"}}`}, nil, "put credentials in headers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			cfg, err := Bind(fs, func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(cfg) {
				t.Fatalf("config %+v", cfg)
			}
			if s := formatConnections(cfg.HTTPConnections); strings.Contains(s, "Bearer") || strings.Contains(s, "mail.example") {
				t.Fatalf("the setting's value shows the connection's details: %q", s)
			}
		})
	}
}

func TestLinkBase(t *testing.T) {
	tests := []struct {
		name, publicURL, addr, want string
	}{
		{"the configured public URL wins", "https://accounts.example", "127.0.0.1:8080", "https://accounts.example"},
		{"the server itself by default", "", "127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"all interfaces: the loopback address", "", "0.0.0.0:9000", "http://127.0.0.1:9000"},
		{"no host: the loopback address", "", ":9000", "http://127.0.0.1:9000"},
		{"IPv6 all interfaces", "", "[::]:9000", "http://[::1]:9000"},
		{"IPv6 host", "", "[fd00::1]:9000", "http://[fd00::1]:9000"},
		{"a host name", "", "auth.internal:8443", "http://auth.internal:8443"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.PublicURL = tt.publicURL
			if got := c.LinkBase(tt.addr); got != tt.want {
				t.Fatalf("LinkBase(%q) = %q, want %q", tt.addr, got, tt.want)
			}
		})
	}
}
