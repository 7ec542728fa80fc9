package seal

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestSealRoundTripAndTamper(t *testing.T) {
	dir := t.TempDir()
	s, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", info.Mode().Perm())
	}
	sealed := s.Seal([]byte("ctx"), []byte("secret"))
	again, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		context []byte
		sealed  []byte
		wantErr bool
	}{
		{"same key reloaded", []byte("ctx"), sealed, false},
		{"other context", []byte("other"), sealed, true},
		{"flipped bit", []byte("ctx"), append(append([]byte{}, sealed[:len(sealed)-1]...), sealed[len(sealed)-1]^1), true},
		{"truncated", []byte("ctx"), sealed[:5], true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := again.Open(tt.context, tt.sealed)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && !bytes.Equal(got, []byte("secret")) {
				t.Fatalf("got %q", got)
			}
		})
	}
}
