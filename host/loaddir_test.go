package host_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host"
)

// A plugins folder holding things that are not plugin files: they are ignored (not loaded, not
// in Status), the start neither blocks on a FIFO nor reads a device, and a file over the size
// cap fails to load.
func TestLoadDirHostileEntries(t *testing.T) {
	tests := []struct {
		name       string
		make       func(t *testing.T, dir string)
		cfg        host.Config
		wantStatus int    // entries in Status (the ok.wasm plugin included)
		wantErr    string // in LoadDir's error; "" for none
	}{
		{"stray files are ignored", func(t *testing.T, dir string) {
			for _, n := range []string{"README.md", "ok.wasm~", "._ok.wasm", ".hidden.wasm", "notes.txt"} {
				must(t, os.WriteFile(filepath.Join(dir, n), []byte("junk"), 0o644))
			}
			must(t, os.Mkdir(filepath.Join(dir, "folder.wasm"), 0o755))
		}, host.Config{}, 1, ""},
		{"a FIFO named .wasm does not block", func(t *testing.T, dir string) {
			must(t, syscall.Mkfifo(filepath.Join(dir, "fifo.wasm"), 0o644))
		}, host.Config{}, 1, ""},
		{"a symlink to /dev/zero is not read", func(t *testing.T, dir string) {
			must(t, os.Symlink("/dev/zero", filepath.Join(dir, "zero.wasm")))
		}, host.Config{}, 1, ""},
		{"a broken symlink is ignored", func(t *testing.T, dir string) {
			must(t, os.Symlink(filepath.Join(dir, "missing"), filepath.Join(dir, "broken.wasm")))
		}, host.Config{}, 1, ""},
		{"a symlink to a regular plugin file loads", func(t *testing.T, dir string) {
			other := filepath.Join(t.TempDir(), "real.wasm")
			must(t, os.WriteFile(other, fixture(t, "abi-v2"), 0o644))
			must(t, os.Symlink(other, filepath.Join(dir, "link.wasm")))
		}, host.Config{}, 2, "link.wasm"},
		{"a file over the size cap fails to load", func(t *testing.T, dir string) {
			must(t, os.WriteFile(filepath.Join(dir, "big.wasm"), make([]byte, 2<<20), 0o644))
		}, host.Config{MaxFileSize: 1 << 20}, 2, "larger than the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			must(t, os.WriteFile(filepath.Join(dir, "ok.wasm"), fixture(t, "ok"), 0o644))
			tt.make(t, dir)
			h := newHost(t, tt.cfg)
			done := make(chan error, 1)
			go func() { done <- h.LoadDir(context.Background(), dir) }()
			var err error
			select {
			case err = <-done:
			case <-time.After(30 * time.Second): // a hang, not a slow machine
				t.Fatal("LoadDir blocks")
			}
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("LoadDir: %v, want %q", err, tt.wantErr)
			}
			if st := h.Status(); len(st) != tt.wantStatus || !st[0].Loaded {
				t.Fatalf("status %+v, want %d entries, ok.wasm loaded", st, tt.wantStatus)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
