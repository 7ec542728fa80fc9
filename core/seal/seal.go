// Package seal encrypts secrets at rest (signing keys, 2FA method state) with AES-256-GCM under
// a master key kept in a file beside the store. A backup of the store is useless without it.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// KeyFile is the master key's file name inside the data folder.
const KeyFile = "master.key"

// ErrOpen is returned when a sealed value cannot be decrypted (wrong key or tampered data).
var ErrOpen = errors.New("seal: cannot open sealed value")

// Sealer encrypts and decrypts small values, binding each to a context string (the record's
// key) so a sealed value copied under another key does not open.
type Sealer struct {
	aead cipher.AEAD
	key  []byte
}

// New returns a Sealer for a 32-byte key.
func New(key []byte) (*Sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("seal: key must be 32 bytes, not %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead, key: append([]byte(nil), key...)}, nil
}

// LoadOrCreate reads the master key from dir/master.key, creating it (0600) from the
// cryptographic random source on first start.
func LoadOrCreate(dir string) (*Sealer, error) {
	return LoadOrCreateFile(filepath.Join(dir, KeyFile))
}

// LoadOrCreateFile reads the master key from path, creating it (0600, and its folder 0700)
// from the cryptographic random source when absent.
func LoadOrCreateFile(path string) (*Sealer, error) {
	dir := filepath.Dir(path)
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		if err := writeFileSync(path, key); err != nil {
			return nil, fmt.Errorf("seal: write %s: %w", path, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("seal: read %s: %w", path, err)
	}
	return New(key)
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Seal encrypts plaintext bound to context; the result is nonce || ciphertext.
func (s *Sealer) Seal(context, plaintext []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return s.aead.Seal(nonce, nonce, plaintext, context)
}

// Open decrypts a value made by Seal with the same context.
func (s *Sealer) Open(context, sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, ErrOpen
	}
	out, err := s.aead.Open(nil, sealed[:n], sealed[n:], context)
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}

// Derive returns a 32-byte secret for one purpose (label), derived from the master key with
// HMAC-SHA256, so each use has its own key and none reveals the master key.
func (s *Sealer) Derive(label string) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write([]byte("gatehouse derive: " + label))
	return h.Sum(nil)
}
