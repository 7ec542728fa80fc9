//go:build !wasip1

package hostcrypto

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"hash"

	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/abi/sigverify"
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

// verifyNative verifies the signature with the host's own code
// (sdk/abi/sigverify): 1 valid, 0 invalid, -1 unusable key or algorithm.
func verifyNative(alg Algorithm, key, msg, sig []byte) int32 {
	return sigverify.Verify(int32(alg), key, msg, sig)
}

// digestInto hashes msg natively into out, as the host does, and returns the digest's length,
// or -1.
func digestInto(alg int32, msg, out []byte) int {
	switch alg {
	case abi.DigestSHA256:
		s := sha256.Sum256(msg)
		return copy(out, s[:])
	case abi.DigestSHA512:
		s := sha512.Sum512(msg)
		return copy(out, s[:])
	}
	return -1
}
