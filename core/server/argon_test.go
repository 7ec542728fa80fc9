package server

import (
	"golang.org/x/crypto/argon2"

	"github.com/gatehouse/gatehouse/core/config"
)

// rawHasher returns one raw argon2id computation at cfg's parameters: the benchmark baseline.
func rawHasher(cfg config.Config) func() {
	pw, salt := []byte("Passw0rdX"), make([]byte, 16)
	return func() { argon2.IDKey(pw, salt, cfg.Argon2Time, cfg.Argon2Memory, cfg.Argon2Threads, 32) }
}
