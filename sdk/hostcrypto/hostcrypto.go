// Package hostcrypto gives a plugin the crypto capability: HMAC computed
// natively by the host (module "gatehouse_crypto_v1", function "hmac"), about
// 60 times faster than the same HMAC compiled into the guest and run under
// the host's deadline checks, and (ABI v1.2) signature verification
// (function "verify_signature": ES256, Ed25519, RS256). Importing this package declares the capability
// in the plugin's descriptor; the operator must grant it to the plugin's id
// (first-party twofactor.totp gets it by default).
//
// Outside WebAssembly (native tests and benchmarks) the same functions
// compute the HMAC with crypto/hmac, so a plugin's package tests run the
// code the plugin runs.
//
// The name keeps clear of the standard library's crypto packages, which a
// plugin may import alongside.
package hostcrypto

import (
	"errors"
	"strconv"

	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/internal/guest"
)

func init() { guest.DeclareCapability(abi.CapCrypto) }

// Alg is an HMAC's hash function, numbered as the host's hmac function
// numbers them.
type Alg int32

// The algorithms of the host's hmac.
const (
	SHA1   Alg = abi.HMACSHA1
	SHA256 Alg = abi.HMACSHA256
	SHA512 Alg = abi.HMACSHA512
)

// Size is the length of the algorithm's MAC in bytes: 20, 32 or 64; 0 for
// an unknown algorithm.
func (a Alg) Size() int {
	switch a {
	case SHA1:
		return 20
	case SHA256:
		return 32
	case SHA512:
		return 64
	}
	return 0
}

// String is the algorithm's name: "SHA1", "SHA256", "SHA512".
func (a Alg) String() string {
	switch a {
	case SHA1:
		return "SHA1"
	case SHA256:
		return "SHA256"
	case SHA512:
		return "SHA512"
	}
	return "Alg(" + strconv.Itoa(int(a)) + ")"
}

// HMAC returns the HMAC of msg under key with alg (a new slice of
// alg.Size() bytes). It panics for an unknown alg.
func HMAC(alg Alg, key, msg []byte) []byte {
	return AppendHMAC(make([]byte, 0, alg.Size()), alg, key, msg)
}

// AppendHMAC appends the HMAC of msg under key with alg to dst and returns
// the extended slice, as hash.Hash's Sum does; with room in dst for
// alg.Size() more bytes it does not allocate:
//
//	var buf [20]byte
//	mac := hostcrypto.AppendHMAC(buf[:0], hostcrypto.SHA1, key, msg)
//
// It panics for an unknown alg: a plugin bug, which fails the hook call
// closed rather than comparing against an empty MAC.
func AppendHMAC(dst []byte, alg Alg, key, msg []byte) []byte {
	n := alg.Size()
	if n == 0 {
		panic("hostcrypto: unknown HMAC algorithm " + alg.String())
	}
	if cap(dst)-len(dst) < n {
		grown := make([]byte, len(dst), len(dst)+n)
		copy(grown, dst)
		dst = grown
	}
	out := dst[len(dst) : len(dst)+n]
	if got := hmacInto(alg, key, msg, out); got != n {
		panic("hostcrypto: the host's hmac returned " + strconv.Itoa(got) + " for " + alg.String())
	}
	return dst[:len(dst)+n]
}

// Algorithm is a signature algorithm of VerifySignature, numbered as the
// host's verify_signature numbers them (their COSE names).
type Algorithm int32

// The algorithms of VerifySignature.
const (
	// ES256 is ECDSA on P-256 with SHA-256; the signature is ASN.1 DER, as
	// WebAuthn sends it.
	ES256 Algorithm = abi.SigES256
	// Ed25519 is EdDSA on Ed25519; the signature is 64 bytes.
	Ed25519 Algorithm = abi.SigEd25519
	// RS256 is RSASSA-PKCS1-v1_5 with SHA-256, keys of 2048 to 8192 bits.
	RS256 Algorithm = abi.SigRS256
)

// ErrUnusableKey is VerifySignature's error for an unknown algorithm or a
// key that does not parse or is not of the algorithm's type.
var ErrUnusableKey = errors.New("hostcrypto: unknown algorithm, or a key that is not a PKIX key of its type")

// VerifySignature reports whether sig is a valid signature of msg by the
// public key pkixKey (a PKIX, X.509 SubjectPublicKeyInfo, DER encoding) under
// alg. The host verifies it natively (ABI v1.2), so the plugin runs no
// big-number code under the host's deadline checks. A host older than ABI
// v1.2 lacks the function: the plugin then does not load, so declare
// Descriptor ABI minor 2 when you use it.
func VerifySignature(alg Algorithm, pkixKey, msg, sig []byte) (bool, error) {
	switch verifyNative(alg, pkixKey, msg, sig) {
	case 1:
		return true, nil
	case 0:
		return false, nil
	}
	return false, ErrUnusableKey
}

// Sum256 returns the SHA-256 digest of msg, computed by the host (ABI v1.2).
func Sum256(msg []byte) [32]byte {
	var out [32]byte
	if n := digestInto(abi.DigestSHA256, msg, out[:]); n != len(out) {
		panic("hostcrypto: the host's digest returned " + strconv.Itoa(n))
	}
	return out
}
