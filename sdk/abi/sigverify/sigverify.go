// Package sigverify is the signature check of the crypto capability's
// verify_signature (ABI v1.2): the host runs it for a plugin's call, and
// sdk/hostcrypto runs the same code when a plugin's tests run natively.
package sigverify

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"

	"github.com/gatehouse/gatehouse/sdk/abi"
)

// Verify is 1 when sig is a valid signature of msg by the PKIX public key under alg,
// 0 when it is not, and -1 for an unknown alg or a key that does not parse or is not of alg's
// type.
func Verify(alg int32, pkix, msg, sig []byte) int32 {
	pub, err := x509.ParsePKIXPublicKey(pkix)
	if err != nil {
		return -1
	}
	valid := false
	switch alg {
	case abi.SigES256:
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok || k.Curve.Params().Name != "P-256" {
			return -1
		}
		sum := sha256.Sum256(msg)
		valid = ecdsa.VerifyASN1(k, sum[:], sig)
	case abi.SigEd25519:
		k, ok := pub.(ed25519.PublicKey)
		if !ok {
			return -1
		}
		valid = ed25519.Verify(k, msg, sig)
	case abi.SigRS256:
		k, ok := pub.(*rsa.PublicKey)
		if !ok || k.N.BitLen() < 2048 || k.N.BitLen() > 8192 {
			return -1
		}
		sum := sha256.Sum256(msg)
		valid = rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], sig) == nil
	default:
		return -1
	}
	if valid {
		return 1
	}
	return 0
}
