package hostcrypto_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/sdk/hostcrypto"
)

// Vectors of RFC 2202 (SHA-1) and RFC 4231 (SHA-2), and empty inputs.
func TestHMAC(t *testing.T) {
	jefe, question := []byte("Jefe"), []byte("what do ya want for nothing?")
	long := bytes.Repeat([]byte{0xaa}, 80)
	longMsg := []byte("Test Using Larger Than Block-Size Key - Hash Key First")
	tests := []struct {
		name     string
		alg      hostcrypto.Alg
		key, msg []byte
		want     string
	}{
		{"sha1 rfc2202 2", hostcrypto.SHA1, jefe, question, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
		{"sha1 rfc2202 6 long key", hostcrypto.SHA1, long, longMsg, "aa4ae5e15272d00e95705637ce8a3b55ed402112"},
		{"sha1 empty", hostcrypto.SHA1, nil, nil, "fbdb1d1b18aa6c08324b7d64b71fb76370690e1d"},
		{"sha256 rfc4231 2", hostcrypto.SHA256, jefe, question, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
		{"sha256 empty", hostcrypto.SHA256, []byte{}, []byte{}, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"},
		{"sha512 rfc4231 2", hostcrypto.SHA512, jefe, question, "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := hostcrypto.HMAC(tt.alg, tt.key, tt.msg)
			if hex.EncodeToString(got) != tt.want || len(got) != tt.alg.Size() {
				t.Fatalf("HMAC = %x, want %s", got, tt.want)
			}
			prefix := []byte("prefix")
			app := hostcrypto.AppendHMAC(prefix, tt.alg, tt.key, tt.msg)
			if string(app[:6]) != "prefix" || hex.EncodeToString(app[6:]) != tt.want {
				t.Fatalf("AppendHMAC = %x", app)
			}
		})
	}
}

// Many keys and messages against crypto/hmac.
func TestHMACAgainstStdlib(t *testing.T) {
	algs := map[hostcrypto.Alg]func() hash.Hash{hostcrypto.SHA1: sha1.New, hostcrypto.SHA256: sha256.New, hostcrypto.SHA512: sha512.New}
	for alg, h := range algs {
		for n := 0; n < 200; n += 7 {
			key, msg := bytes.Repeat([]byte{byte(n)}, n), bytes.Repeat([]byte{byte(n + 1)}, 2*n)
			m := hmac.New(h, key)
			m.Write(msg)
			if got := hostcrypto.HMAC(alg, key, msg); !hmac.Equal(got, m.Sum(nil)) {
				t.Fatalf("%v n=%d: %x", alg, n, got)
			}
		}
	}
}

// With room in dst the MAC is written there (in WebAssembly, by the host,
// with no allocation).
func TestAppendHMACInPlace(t *testing.T) {
	var buf [20]byte
	mac := hostcrypto.AppendHMAC(buf[:0], hostcrypto.SHA1, []byte("key"), []byte("message"))
	if len(mac) != 20 || &mac[0] != &buf[0] || !bytes.Equal(mac, hostcrypto.HMAC(hostcrypto.SHA1, []byte("key"), []byte("message"))) {
		t.Fatalf("mac %x not in buf %x", mac, buf)
	}
}

func TestAlg(t *testing.T) {
	for _, tt := range []struct {
		alg  hostcrypto.Alg
		size int
		name string
	}{{hostcrypto.SHA1, 20, "SHA1"}, {hostcrypto.SHA256, 32, "SHA256"}, {hostcrypto.SHA512, 64, "SHA512"}, {0, 0, "Alg(0)"}, {4, 0, "Alg(4)"}} {
		if tt.alg.Size() != tt.size || tt.alg.String() != tt.name {
			t.Errorf("%d: size %d, name %q", tt.alg, tt.alg.Size(), tt.alg.String())
		}
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "unknown HMAC algorithm Alg(4)") {
			t.Fatalf("unknown alg: %v", r)
		}
	}()
	hostcrypto.HMAC(4, nil, nil)
}
