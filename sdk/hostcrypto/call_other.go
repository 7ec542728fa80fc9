//go:build !wasip1

package hostcrypto

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
)

// hmacInto computes the MAC natively, as the host does, into out (len(out)
// is alg's size) and returns its length, or -1.
func hmacInto(alg Alg, key, msg, out []byte) int {
	var h func() hash.Hash
	switch alg {
	case SHA1:
		h = sha1.New
	case SHA256:
		h = sha256.New
	case SHA512:
		h = sha512.New
	default:
		return -1
	}
	m := hmac.New(h, key)
	m.Write(msg)
	return len(m.Sum(out[:0]))
}
