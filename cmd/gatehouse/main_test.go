package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// gatehouse runs the command in process and returns its exit code and output.
func gatehouse(t *testing.T, stdin string, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &out)
	return code, out.String()
}

func TestAdminCommands(t *testing.T) {
	data := t.TempDir()
	cache, _ := filepath.Abs("../../.cache/plugin-cache")
	t.Setenv("GATEHOUSE_PLUGIN_CACHE", cache)
	t.Setenv("GATEHOUSE_ARGON2_MEMORY", "64")
	t.Setenv("GATEHOUSE_ARGON2_TIME", "1")
	backup := filepath.Join(t.TempDir(), "store.bak")
	tests := []struct {
		name     string
		stdin    string
		args     []string
		wantCode int
		want     string
	}{
		{"usage", "", nil, 2, "Usage"},
		{"unknown command", "", []string{"frobnicate"}, 2, "Usage"},
		{"serve --help lists the settings", "", []string{"serve", "--help"}, 0, "GATEHOUSE_REGISTRATION"},
		{"bad setting", "", []string{"serve", "--registration", "maybe"}, 2, "GATEHOUSE_REGISTRATION"},
		{"user create", "Analytical1\n", []string{"user", "create", "--email", "ada@example.com", "--data", data}, 0, "created user 1"},
		{"user create refuses a duplicate", "Analytical1\n", []string{"user", "create", "--email", "ADA@example.com", "--data", data}, 1, "EMAIL_ALREADY_IN_USE"},
		{"user create applies the policy", "weak\n", []string{"user", "create", "--email", "bob@example.com", "--data", data}, 1, "fewer than 8 characters"},
		{"user create needs an email", "x\n", []string{"user", "create", "--data", data}, 2, "--email is required"},
		{"keys rotate offline", "", []string{"keys", "rotate", "--data", data}, 0, "2 key(s) published"},
		{"backup offline", "", []string{"backup", "--data", data, backup}, 0, "backup written"},
		{"restore refuses a non-empty store", "", []string{"restore", "--data", data, backup}, 1, "not empty"},
		{"restore needs the master key", "", []string{"restore", "--data", t.TempDir(), backup}, 1, "master.key"},
		{"plugin inspect", "", []string{"plugin", "inspect", "../../host/testdata/ok.wasm"}, 0, "password.wat-ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := gatehouse(t, tt.stdin, tt.args...)
			if code != tt.wantCode || !strings.Contains(out, tt.want) {
				t.Fatalf("exit %d, want %d; output lacks %q:\n%s", code, tt.wantCode, tt.want, out)
			}
		})
	}
	// A restore into a new data folder with the master key copied keeps the account.
	fresh := t.TempDir()
	key, err := os.ReadFile(filepath.Join(data, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fresh, "master.key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := gatehouse(t, "", "restore", "--data", fresh, backup); code != 0 {
		t.Fatalf("restore: %d %s", code, out)
	}
	if code, out := gatehouse(t, "Analytical1\n", "user", "create", "--email", "ada@example.com", "--data", fresh); code != 1 || !strings.Contains(out, "EMAIL_ALREADY_IN_USE") {
		t.Fatalf("the restored store must hold the account: %d %s", code, out)
	}
}
