package sigverify

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"testing"

	"github.com/gatehouse/gatehouse/sdk/abi"
)

func TestVerifySignature(t *testing.T) {
	msg := []byte("authenticator data and the client data's hash")
	other := []byte("another message")
	digest := sha256.Sum256(msg)

	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)

	pkix := func(pub any) []byte {
		b, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	esSig, _ := ecdsa.SignASN1(rand.Reader, p256, digest[:])
	es384Sig, _ := ecdsa.SignASN1(rand.Reader, p384, digest[:])
	edSig := ed25519.Sign(edPriv, msg)
	rsSig, _ := rsa.SignPKCS1v15(rand.Reader, rsaKey, crypto.SHA256, digest[:])

	tests := []struct {
		name     string
		alg      int32
		key, msg []byte
		sig      []byte
		want     int32
	}{
		{"ES256 valid", abi.SigES256, pkix(&p256.PublicKey), msg, esSig, 1},
		{"ES256 other message", abi.SigES256, pkix(&p256.PublicKey), other, esSig, 0},
		{"ES256 garbage signature", abi.SigES256, pkix(&p256.PublicKey), msg, []byte{0x30, 0x01, 0x00}, 0},
		{"ES256 with a P-384 key", abi.SigES256, pkix(&p384.PublicKey), msg, es384Sig, -1},
		{"Ed25519 valid", abi.SigEd25519, pkix(edPub), msg, edSig, 1},
		{"Ed25519 other message", abi.SigEd25519, pkix(edPub), other, edSig, 0},
		{"Ed25519 short signature", abi.SigEd25519, pkix(edPub), msg, edSig[:10], 0},
		{"RS256 valid", abi.SigRS256, pkix(&rsaKey.PublicKey), msg, rsSig, 1},
		{"RS256 other message", abi.SigRS256, pkix(&rsaKey.PublicKey), other, rsSig, 0},
		{"key of another type", abi.SigRS256, pkix(&p256.PublicKey), msg, esSig, -1},
		{"key that does not parse", abi.SigES256, []byte{1, 2, 3}, msg, esSig, -1},
		{"unknown algorithm", 99, pkix(&p256.PublicKey), msg, esSig, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Verify(tt.alg, tt.key, tt.msg, tt.sig); got != tt.want {
				t.Fatalf("Verify = %d, want %d", got, tt.want)
			}
		})
	}
}
