package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `gatehouse backup` never writes through a FILE.partial that is already there (a symlink
// planted to a file of the victim's, or a file others can read): it refuses, and leaves it as it
// is. The backup it writes is 0600.
func TestBackupPartialFile(t *testing.T) {
	cache, _ := filepath.Abs("../../.cache/plugin-cache")
	t.Setenv("GATEHOUSE_PLUGIN_CACHE", cache)
	t.Setenv("GATEHOUSE_ARGON2_MEMORY", "64")
	t.Setenv("GATEHOUSE_ARGON2_TIME", "1")
	data := t.TempDir()
	if code, out := gatehouse(t, "Analytical1\n", "user", "create", "--email", "ada@example.com", "--data", data); code != 0 {
		t.Fatalf("user create: %d %s", code, out)
	}
	tests := []struct {
		name    string
		prepare func(t *testing.T, partial string) (check func(t *testing.T))
		want    int
	}{
		{"a symlink planted as FILE.partial", func(t *testing.T, partial string) func(t *testing.T) {
			victim := filepath.Join(t.TempDir(), "victim")
			if err := os.WriteFile(victim, []byte("precious"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(victim, partial); err != nil {
				t.Fatal(err)
			}
			return func(t *testing.T) {
				if b, _ := os.ReadFile(victim); string(b) != "precious" {
					t.Fatalf("the symlink's target was written: %q", b)
				}
			}
		}, 1},
		{"a world-readable FILE.partial", func(t *testing.T, partial string) func(t *testing.T) {
			if err := os.WriteFile(partial, []byte("theirs"), 0o644); err != nil {
				t.Fatal(err)
			}
			return func(t *testing.T) {
				if b, _ := os.ReadFile(partial); string(b) != "theirs" {
					t.Fatalf("the existing partial was written or removed: %q", b)
				}
			}
		}, 1},
		{"no FILE.partial: the backup is written 0600", func(t *testing.T, partial string) func(t *testing.T) {
			return func(t *testing.T) {
				fi, err := os.Stat(strings.TrimSuffix(partial, ".partial"))
				if err != nil || fi.Mode().Perm() != 0o600 {
					t.Fatalf("backup: %v %v, want mode 0600", fi, err)
				}
				if _, err := os.Lstat(partial); !os.IsNotExist(err) {
					t.Fatalf("the partial file is left: %v", err)
				}
			}
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "store.bak")
			check := tt.prepare(t, file+".partial")
			code, out := gatehouse(t, "", "backup", "--data", data, file)
			if code != tt.want {
				t.Fatalf("exit %d, want %d: %s", code, tt.want, out)
			}
			if tt.want != 0 && !strings.Contains(out, "already exists") {
				t.Fatalf("the refusal does not say why: %s", out)
			}
			check(t)
		})
	}
}
