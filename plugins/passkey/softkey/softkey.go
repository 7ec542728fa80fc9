// Package softkey is a software WebAuthn authenticator for the passkey
// plugin's tests, written from the WebAuthn and CTAP2 specifications without
// go-webauthn (so the checks are tested against an independent encoder): CBOR
// by hand, COSE keys for ES256, EdDSA and RS256 (and ES384, for refusals),
// attestation "none" (or "packed" self attestation), and the JSON forms of
// PublicKeyCredential.toJSON(). Only tests import it (the plugin's, and
// tests/assemblyscript's identity suite of the Go and AssemblyScript builds).
package softkey

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

// Value is a CBOR data item of a tiny encoder: unsigned and negative
// integers, byte and text strings, arrays and maps (keys sorted in CTAP2
// canonical order).
type Value interface{ CBOR() []byte }

// The CBOR item types.
type (
	Int   int64
	Bytes []byte
	Text  string
	Array []Value
	Map   []Pair
	// Raw is encoded CBOR, passed through.
	Raw []byte
)

// Pair is a map entry.
type Pair struct{ K, V Value }

func head(major byte, n uint64) []byte {
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

// CBOR encodes the item.
func (i Int) CBOR() []byte {
	if i >= 0 {
		return head(0, uint64(i))
	}
	return head(1, uint64(-1-i))
}

// CBOR encodes the item.
func (b Bytes) CBOR() []byte { return append(head(2, uint64(len(b))), b...) }

// CBOR encodes the item.
func (s Text) CBOR() []byte { return append(head(3, uint64(len(s))), s...) }

// CBOR encodes the item.
func (r Raw) CBOR() []byte { return r }

// CBOR encodes the item.
func (a Array) CBOR() []byte {
	out := head(4, uint64(len(a)))
	for _, v := range a {
		out = append(out, v.CBOR()...)
	}
	return out
}

// CBOR encodes the item.
func (m Map) CBOR() []byte {
	type enc struct{ k, v []byte }
	items := make([]enc, len(m))
	for i, p := range m {
		items[i] = enc{p.K.CBOR(), p.V.CBOR()}
	}
	// CTAP2 canonical: shorter encoded key first, then bytewise.
	sort.Slice(items, func(i, j int) bool {
		if len(items[i].k) != len(items[j].k) {
			return len(items[i].k) < len(items[j].k)
		}
		return string(items[i].k) < string(items[j].k)
	})
	out := head(5, uint64(len(m)))
	for _, it := range items {
		out = append(append(out, it.k...), it.v...)
	}
	return out
}

// Authenticator data flags: user present, user verified, backup eligible,
// backed up, attested credential data.
const (
	FlagUP = 0x01
	FlagUV = 0x04
	FlagBE = 0x08
	FlagBS = 0x10
	FlagAT = 0x40
)

// B64 is base64url without padding, WebAuthn's JSON encoding of bytes.
var B64 = base64.RawURLEncoding

// Authenticator holds one credential. Its fields may be changed between
// ceremonies to forge answers (a copy with other Flags, another Counter).
type Authenticator struct {
	T      testing.TB
	Alg    int64 // COSE algorithm: -7, -8, -257 (or another for refusals)
	Signer crypto.Signer
	CredID []byte
	// Counter is the signature counter the last answer carried.
	Counter uint32
	// CounterStep is added to the counter before each assertion (0: the
	// authenticator has no counter).
	CounterStep uint32
	AAGUID      [16]byte
	Flags       byte // UP, UV, BE, BS of every answer
	// UserHandle, when set, is sent in assertions.
	UserHandle []byte
}

// New makes an authenticator with a fresh key of the COSE algorithm alg
// (-7 ES256, -35 ES384, -8 EdDSA, -257 RS256), a random 32-byte credential
// id, a counter that grows by one, and the UP and UV flags.
func New(t testing.TB, alg int64) *Authenticator {
	t.Helper()
	a := &Authenticator{T: t, Alg: alg, CredID: make([]byte, 32), CounterStep: 1, Flags: FlagUP | FlagUV}
	rand.Read(a.CredID)
	rand.Read(a.AAGUID[:])
	var err error
	switch alg {
	case -7:
		a.Signer, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case -35:
		a.Signer, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case -8:
		_, a.Signer, err = ed25519.GenerateKey(rand.Reader)
	case -257:
		a.Signer, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		t.Fatalf("no key for alg %d", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// coseKey is the credential public key as a COSE_Key.
func (a *Authenticator) coseKey() []byte {
	switch k := a.Signer.Public().(type) {
	case *ecdsa.PublicKey:
		crv, size := int64(1), 32
		if k.Curve == elliptic.P384() {
			crv, size = 2, 48
		}
		x, y := make([]byte, size), make([]byte, size)
		k.X.FillBytes(x)
		k.Y.FillBytes(y)
		return Map{{Int(1), Int(2)}, {Int(3), Int(a.Alg)}, {Int(-1), Int(crv)},
			{Int(-2), Bytes(x)}, {Int(-3), Bytes(y)}}.CBOR()
	case ed25519.PublicKey:
		return Map{{Int(1), Int(1)}, {Int(3), Int(a.Alg)}, {Int(-1), Int(6)},
			{Int(-2), Bytes(k)}}.CBOR()
	case *rsa.PublicKey:
		return Map{{Int(1), Int(3)}, {Int(3), Int(a.Alg)},
			{Int(-1), Bytes(k.N.Bytes())}, {Int(-2), Bytes(big.NewInt(int64(k.E)).Bytes())}}.CBOR()
	}
	a.T.Fatal("unknown key type")
	return nil
}

// Sign signs msg with the credential key as WebAuthn does for its algorithm
// (ECDSA as ASN.1 DER, Ed25519 raw, RSA PKCS#1 v1.5 with SHA-256).
func (a *Authenticator) Sign(msg []byte) []byte {
	var sig []byte
	var err error
	switch k := a.Signer.(type) {
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
		a.T.Fatal(err)
	}
	return sig
}

// Ceremony is what a client puts in the client data, and the RP ID whose
// hash the authenticator data carries.
type Ceremony struct {
	Type      string // "webauthn.create" / "webauthn.get"; "" for the ceremony's own
	Challenge string // base64url
	Origin    string
	RPID      string
}

func clientData(typ, challenge, origin string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": origin, "crossOrigin": false})
	return b
}

func (a *Authenticator) authData(rpID string, flags byte, attested []byte) []byte {
	h := sha256.Sum256([]byte(rpID))
	a.Counter += a.CounterStep
	out := append(h[:], flags)
	out = binary.BigEndian.AppendUint32(out, a.Counter)
	return append(out, attested...)
}

// Registration says how to spoil a registration answer.
type Registration struct {
	Format       string // "none" (default), "packed" (self attestation) or another
	AttStmt      Value  // replaces the attestation statement
	RawAttObject []byte // replaces the attestation object
}

// Register answers a registration: a RegistrationResponseJSON.
func (a *Authenticator) Register(c Ceremony, r Registration) []byte {
	if c.Type == "" {
		c.Type = "webauthn.create"
	}
	cdj := clientData(c.Type, c.Challenge, c.Origin)
	attested := append(a.AAGUID[:], byte(len(a.CredID)>>8), byte(len(a.CredID)))
	attested = append(append(attested, a.CredID...), a.coseKey()...)
	savedStep := a.CounterStep
	a.CounterStep = 0 // a registration reports the counter as it is
	ad := a.authData(c.RPID, a.Flags|FlagAT, attested)
	a.CounterStep = savedStep
	format := r.Format
	if format == "" {
		format = "none"
	}
	stmt := r.AttStmt
	if stmt == nil {
		stmt = Map{}
		if format == "packed" {
			h := sha256.Sum256(cdj)
			stmt = Map{{Text("alg"), Int(a.Alg)}, {Text("sig"), Bytes(a.Sign(append(append([]byte{}, ad...), h[:]...)))}}
		}
	}
	att := Map{{Text("fmt"), Text(format)}, {Text("attStmt"), stmt}, {Text("authData"), Bytes(ad)}}.CBOR()
	if r.RawAttObject != nil {
		att = r.RawAttObject
	}
	id := B64.EncodeToString(a.CredID)
	out, _ := json.Marshal(map[string]any{
		"id": id, "rawId": id, "type": "public-key", "authenticatorAttachment": "platform",
		"response": map[string]any{
			"clientDataJSON":    B64.EncodeToString(cdj),
			"attestationObject": B64.EncodeToString(att),
			"transports":        []string{"internal"},
		},
		"clientExtensionResults": map[string]any{},
	})
	return out
}

// Assert answers an assertion: an AuthenticationResponseJSON.
func (a *Authenticator) Assert(c Ceremony) []byte {
	if c.Type == "" {
		c.Type = "webauthn.get"
	}
	cdj := clientData(c.Type, c.Challenge, c.Origin)
	ad := a.authData(c.RPID, a.Flags, nil)
	h := sha256.Sum256(cdj)
	sig := a.Sign(append(append([]byte{}, ad...), h[:]...))
	id := B64.EncodeToString(a.CredID)
	resp := map[string]any{
		"clientDataJSON":    B64.EncodeToString(cdj),
		"authenticatorData": B64.EncodeToString(ad),
		"signature":         B64.EncodeToString(sig),
	}
	if a.UserHandle != nil {
		resp["userHandle"] = B64.EncodeToString(a.UserHandle)
	}
	out, _ := json.Marshal(map[string]any{
		"id": id, "rawId": id, "type": "public-key", "authenticatorAttachment": "platform",
		"response": resp, "clientExtensionResults": map[string]any{},
	})
	return out
}

// MapOf is the map of keys and values given in turn: MapOf(k1, v1, k2, v2).
func MapOf(kv ...Value) Map {
	m := make(Map, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m = append(m, Pair{K: kv[i], V: kv[i+1]})
	}
	return m
}
