package passkey

// A software authenticator for the tests, written from the WebAuthn and CTAP2
// specifications without go-webauthn (so the checks are tested against an
// independent encoder): CBOR by hand, COSE keys for ES256, EdDSA and RS256,
// attestation "none" (or "packed" self attestation), and the JSON forms of
// PublicKeyCredential.toJSON().

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math/big"
	"sort"
	"testing"
)

// cbor is a tiny CBOR encoder: unsigned and negative integers, byte and
// text strings, arrays and maps (keys sorted in CTAP2 canonical order).
type cborValue interface{ cbor() []byte }

type cborInt int64
type cborBytes []byte
type cborText string
type cborArray []cborValue
type cborMap []cborPair
type cborRaw []byte

type cborPair struct{ k, v cborValue }

func cborHead(major byte, n uint64) []byte {
	switch {
	case n < 24:
		return []byte{major<<5 | byte(n)}
	case n < 1<<8:
		return []byte{major<<5 | 24, byte(n)}
	case n < 1<<16:
		return binary.BigEndian.AppendUint16([]byte{major<<5 | 25}, uint16(n))
	case n < 1<<32:
		return binary.BigEndian.AppendUint32([]byte{major<<5 | 26}, uint32(n))
	}
	return binary.BigEndian.AppendUint64([]byte{major<<5 | 27}, n)
}

func (i cborInt) cbor() []byte {
	if i >= 0 {
		return cborHead(0, uint64(i))
	}
	return cborHead(1, uint64(-1-i))
}
func (b cborBytes) cbor() []byte { return append(cborHead(2, uint64(len(b))), b...) }
func (s cborText) cbor() []byte  { return append(cborHead(3, uint64(len(s))), s...) }
func (r cborRaw) cbor() []byte   { return r }
func (a cborArray) cbor() []byte {
	out := cborHead(4, uint64(len(a)))
	for _, v := range a {
		out = append(out, v.cbor()...)
	}
	return out
}
func (m cborMap) cbor() []byte {
	type enc struct{ k, v []byte }
	items := make([]enc, len(m))
	for i, p := range m {
		items[i] = enc{p.k.cbor(), p.v.cbor()}
	}
	// CTAP2 canonical: shorter encoded key first, then bytewise.
	sort.Slice(items, func(i, j int) bool {
		if len(items[i].k) != len(items[j].k) {
			return len(items[i].k) < len(items[j].k)
		}
		return string(items[i].k) < string(items[j].k)
	})
	out := cborHead(5, uint64(len(m)))
	for _, it := range items {
		out = append(append(out, it.k...), it.v...)
	}
	return out
}

// Authenticator data flags.
const (
	flagUP = 0x01
	flagUV = 0x04
	flagBE = 0x08
	flagBS = 0x10
	flagAT = 0x40
)

var b64 = base64.RawURLEncoding

// softAuthenticator holds one credential.
type softAuthenticator struct {
	t       testing.TB
	alg     int64 // COSE algorithm: -7, -8, -257 (or another for refusals)
	signer  crypto.Signer
	credID  []byte
	counter uint32
	// counterStep is added to the counter before each signature (0: the
	// authenticator has no counter).
	counterStep uint32
	aaguid      [16]byte
	flags       byte // UP, UV, BE, BS of every answer
	userHandle  []byte
}

func newAuthenticator(t testing.TB, alg int64) *softAuthenticator {
	t.Helper()
	a := &softAuthenticator{t: t, alg: alg, credID: make([]byte, 32), counterStep: 1, flags: flagUP | flagUV}
	rand.Read(a.credID)
	rand.Read(a.aaguid[:])
	var err error
	switch alg {
	case -7:
		a.signer, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case -35:
		a.signer, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case -8:
		_, a.signer, err = ed25519.GenerateKey(rand.Reader)
	case -257:
		a.signer, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		t.Fatalf("no key for alg %d", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// coseKey is the credential public key as a COSE_Key.
func (a *softAuthenticator) coseKey() []byte {
	switch k := a.signer.Public().(type) {
	case *ecdsa.PublicKey:
		crv, size := int64(1), 32
		if k.Curve == elliptic.P384() {
			crv, size = 2, 48
		}
		x, y := make([]byte, size), make([]byte, size)
		k.X.FillBytes(x)
		k.Y.FillBytes(y)
		return cborMap{{cborInt(1), cborInt(2)}, {cborInt(3), cborInt(a.alg)}, {cborInt(-1), cborInt(crv)},
			{cborInt(-2), cborBytes(x)}, {cborInt(-3), cborBytes(y)}}.cbor()
	case ed25519.PublicKey:
		return cborMap{{cborInt(1), cborInt(1)}, {cborInt(3), cborInt(a.alg)}, {cborInt(-1), cborInt(6)},
			{cborInt(-2), cborBytes(k)}}.cbor()
	case *rsa.PublicKey:
		return cborMap{{cborInt(1), cborInt(3)}, {cborInt(3), cborInt(a.alg)},
			{cborInt(-1), cborBytes(k.N.Bytes())}, {cborInt(-2), cborBytes(big.NewInt(int64(k.E)).Bytes())}}.cbor()
	}
	a.t.Fatal("unknown key type")
	return nil
}

func (a *softAuthenticator) sign(msg []byte) []byte {
	var sig []byte
	var err error
	switch k := a.signer.(type) {
	case *ecdsa.PrivateKey:
		var h []byte
		if k.Curve == elliptic.P384() {
			s := crypto.SHA384.New()
			s.Write(msg)
			h = s.Sum(nil)
		} else {
			s := sha256.Sum256(msg)
			h = s[:]
		}
		sig, err = ecdsa.SignASN1(rand.Reader, k, h)
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, msg)
	case *rsa.PrivateKey:
		h := sha256.Sum256(msg)
		sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, h[:])
	}
	if err != nil {
		a.t.Fatal(err)
	}
	return sig
}

// ceremony is what a client puts in the client data.
type ceremony struct {
	typ       string // "webauthn.create" / "webauthn.get"; "" for the ceremony's own
	challenge string // base64url
	origin    string
	rpID      string
}

func clientData(typ, challenge, origin string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": origin, "crossOrigin": false})
	return b
}

func (a *softAuthenticator) authData(rpID string, flags byte, attested []byte) []byte {
	h := sha256.Sum256([]byte(rpID))
	a.counter += a.counterStep
	out := append(h[:], flags)
	out = binary.BigEndian.AppendUint32(out, a.counter)
	return append(out, attested...)
}

// registration is a RegistrationResponseJSON, with hooks to spoil it.
type registration struct {
	format       string // "none" (default), "packed" (self attestation) or another
	attStmt      cborValue
	rawAttObject []byte // replaces the attestation object
}

func (a *softAuthenticator) register(c ceremony, r registration) []byte {
	if c.typ == "" {
		c.typ = "webauthn.create"
	}
	cdj := clientData(c.typ, c.challenge, c.origin)
	attested := append(a.aaguid[:], byte(len(a.credID)>>8), byte(len(a.credID)))
	attested = append(append(attested, a.credID...), a.coseKey()...)
	savedStep := a.counterStep
	a.counterStep = 0 // a registration reports the counter as it is
	ad := a.authData(c.rpID, a.flags|flagAT, attested)
	a.counterStep = savedStep
	format := r.format
	if format == "" {
		format = "none"
	}
	stmt := r.attStmt
	if stmt == nil {
		stmt = cborMap{}
		if format == "packed" {
			h := sha256.Sum256(cdj)
			stmt = cborMap{{cborText("alg"), cborInt(a.alg)}, {cborText("sig"), cborBytes(a.sign(append(append([]byte{}, ad...), h[:]...)))}}
		}
	}
	att := cborMap{{cborText("fmt"), cborText(format)}, {cborText("attStmt"), stmt}, {cborText("authData"), cborBytes(ad)}}.cbor()
	if r.rawAttObject != nil {
		att = r.rawAttObject
	}
	id := b64.EncodeToString(a.credID)
	out, _ := json.Marshal(map[string]any{
		"id": id, "rawId": id, "type": "public-key", "authenticatorAttachment": "platform",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cdj),
			"attestationObject": b64.EncodeToString(att),
			"transports":        []string{"internal"},
		},
		"clientExtensionResults": map[string]any{},
	})
	return out
}

// assert is an AuthenticationResponseJSON.
func (a *softAuthenticator) assert(c ceremony) []byte {
	if c.typ == "" {
		c.typ = "webauthn.get"
	}
	cdj := clientData(c.typ, c.challenge, c.origin)
	ad := a.authData(c.rpID, a.flags, nil)
	h := sha256.Sum256(cdj)
	sig := a.sign(append(append([]byte{}, ad...), h[:]...))
	id := b64.EncodeToString(a.credID)
	resp := map[string]any{
		"clientDataJSON":    b64.EncodeToString(cdj),
		"authenticatorData": b64.EncodeToString(ad),
		"signature":         b64.EncodeToString(sig),
	}
	if a.userHandle != nil {
		resp["userHandle"] = b64.EncodeToString(a.userHandle)
	}
	out, _ := json.Marshal(map[string]any{
		"id": id, "rawId": id, "type": "public-key", "authenticatorAttachment": "platform",
		"response": resp, "clientExtensionResults": map[string]any{},
	})
	return out
}
