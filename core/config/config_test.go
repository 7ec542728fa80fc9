package config

import (
	"flag"
	"io"
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
		{"bad registration", map[string]string{"GATEHOUSE_REGISTRATION": "maybe"}, nil, nil, "GATEHOUSE_REGISTRATION"},
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
	for _, n := range []string{"GATEHOUSE_ADDR", "GATEHOUSE_DATA", "GATEHOUSE_ISSUER", "GATEHOUSE_REGISTRATION", "GATEHOUSE_LOG_LEVEL", "GATEHOUSE_PLUGINS_DIR"} {
		if !strings.Contains(names, n) {
			t.Errorf("%s is missing", n)
		}
	}
}
