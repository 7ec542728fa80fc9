package passkey

// The checks of a ceremony's answer in the method's own order and words, made before
// go-webauthn's verification (which then checks the signatures and the attestation, and every
// rule again). The AssemblyScript build of the method (plugins/passkey/as) makes the same
// checks in the same order with the same messages, and tests/assemblyscript runs both on the
// same answers: a refusal's message must not depend on the library's wording.

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"slices"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
)

// Messages of a refused answer the checks share with the AssemblyScript build.
const (
	msgNotRegistration = "credential: not a WebAuthn registration response (id, rawId, type public-key, response.clientDataJSON and response.attestationObject)"
	msgNotAssertion    = "credential: not a WebAuthn assertion response (id, rawId, type public-key, response.clientDataJSON, authenticatorData and signature)"
	msgAttestation     = "credential refused: the attestation statement does not verify"
	msgSignature       = "credential refused: the signature does not verify"
)

// COSE key parameters of the algorithms asked for.
const (
	coseKtyOKP     = 1
	coseKtyEC2     = 2
	coseKtyRSA     = 3
	coseCrvP256    = 1
	coseCrvEd25519 = 6
)

// clientDataChecks refuses client data of another ceremony, challenge or origin.
func clientDataChecks(c protocol.CollectedClientData, want Ceremony, pending *Pending, rp RelyingParty) error {
	typ := "webauthn.create"
	if want == Assertion {
		typ = "webauthn.get"
	}
	switch {
	case string(c.Type) != typ:
		return invalid("credential refused: the client data is of another ceremony (type %s expected)", typ)
	case subtle.ConstantTimeCompare([]byte(c.Challenge), []byte(pending.Challenge)) != 1:
		return invalid("credential refused: the client data's challenge is not the pending one")
	case !slices.Contains(rp.Origins, c.Origin):
		return invalid("credential refused: the origin %q is not accepted", c.Origin)
	case c.CrossOrigin || c.TopOrigin != "":
		return invalid("credential refused: a cross-origin ceremony (in a frame of another site)")
	}
	return nil
}

// authDataChecks refuses authenticator data of another relying party, without user presence,
// or without user verification when it is required.
func authDataChecks(a protocol.AuthenticatorData, rp RelyingParty, uv string) error {
	rpHash := sha256.Sum256([]byte(rp.ID))
	switch {
	case !bytes.Equal(a.RPIDHash, rpHash[:]):
		return invalid("credential refused: the authenticator data is for another relying party than %q", rp.ID)
	case !a.Flags.UserPresent():
		return invalid("credential refused: the authenticator did not test user presence")
	case uv == string(protocol.VerificationRequired) && !a.Flags.UserVerified():
		return invalid("credential refused: user verification is required and the authenticator did not verify the user")
	case a.Flags.HasBackupState() && !a.Flags.HasBackupEligible():
		return invalid("credential refused: the authenticator data says backed up but not backup eligible")
	}
	return nil
}

// coseKey is what the checks read of a COSE_Key: its kty (1), alg (3) and, for EC2 and OKP
// keys, crv (-1); a parameter of another type reads as 0.
type coseKey struct{ Kty, Alg, Crv int64 }

func readCOSEKey(raw []byte) (coseKey, error) {
	var m map[int64]any
	if err := webauthncbor.Unmarshal(raw, &m); err != nil {
		return coseKey{}, err
	}
	num := func(label int64) int64 {
		switch v := m[label].(type) {
		case int64:
			return v
		case uint64:
			if v <= 1<<62 {
				return int64(v)
			}
		}
		return 0
	}
	k := coseKey{Kty: num(1), Alg: num(3)}
	if k.Kty != coseKtyRSA {
		k.Crv = num(-1)
	}
	return k, nil
}

// attestedKey returns the COSE_Key of the attested credential data as the authenticator
// data carries it (rawAuthData parsed by go-webauthn: the attested credential data is
// there), after checking it is of an algorithm asked for.
func attestedKey(rawAuthData []byte, idLen int) ([]byte, error) {
	var m any
	n, err := webauthncbor.UnmarshalFirst(rawAuthData[55+idLen:], &m)
	if err != nil {
		return nil, malformed(msgNotRegistration)
	}
	raw := rawAuthData[55+idLen : 55+idLen+n]
	k, err := readCOSEKey(raw)
	if err != nil {
		return nil, invalid("credential refused: the public key is not of ES256 (P-256), EdDSA (Ed25519) or RS256")
	}
	switch {
	case k.Alg == -7 && k.Kty == coseKtyEC2 && k.Crv == coseCrvP256,
		k.Alg == -8 && k.Kty == coseKtyOKP && k.Crv == coseCrvEd25519,
		k.Alg == -257 && k.Kty == coseKtyRSA:
		return raw, nil
	}
	return nil, invalid("credential refused: the public key is not of ES256 (P-256), EdDSA (Ed25519) or RS256")
}

// registrationChecks checks a parsed registration against the pending challenge and returns
// the credential's COSE_Key as the authenticator data carries it. The attestation formats
// accepted are none (an empty statement) and packed self attestation (alg and sig, no
// certificate): the options ask for none, which browsers deliver.
func registrationChecks(parsed *protocol.ParsedCredentialCreationData, pending *Pending, rp RelyingParty) ([]byte, error) {
	if err := clientDataChecks(parsed.Response.CollectedClientData, Registration, pending, rp); err != nil {
		return nil, err
	}
	att := parsed.Response.AttestationObject
	if err := authDataChecks(att.AuthData, rp, pending.UserVerification); err != nil {
		return nil, err
	}
	if !att.AuthData.Flags.HasAttestedCredentialData() {
		return nil, invalid("credential refused: the authenticator data has no attested credential")
	}
	if !bytes.Equal(att.AuthData.AttData.CredentialID, parsed.RawID) {
		return nil, invalid("credential refused: the attested credential id is not the credential's id")
	}
	key, err := attestedKey(att.RawAuthData, len(att.AuthData.AttData.CredentialID))
	if err != nil {
		return nil, err
	}
	switch att.Format {
	case "none":
		if len(att.AttStatement) != 0 {
			return nil, invalid("credential refused: attestation none with a statement")
		}
	case "packed":
		if _, ok := att.AttStatement["x5c"]; ok {
			return nil, invalid("credential refused: attestation with a certificate is not accepted (the options ask for none)")
		}
		k, _ := readCOSEKey(key)
		alg, ok := att.AttStatement["alg"].(int64)
		if _, sig := att.AttStatement["sig"].([]byte); !ok || !sig || len(att.AttStatement) != 2 {
			return nil, invalid(msgAttestation)
		}
		if alg != k.Alg {
			return nil, invalid("credential refused: the self attestation's algorithm is not the key's")
		}
	default:
		return nil, invalid("credential refused: attestation format %q is not accepted (the options ask for none)", att.Format)
	}
	return key, nil
}

// assertionChecks checks a parsed assertion by cred against the pending challenge.
func assertionChecks(parsed *protocol.ParsedCredentialAssertionData, pending *Pending, rp RelyingParty, user User, cred Credential) error {
	if !slices.ContainsFunc(pending.Allowed, func(id []byte) bool { return bytes.Equal(id, cred.ID) }) {
		return invalid("credential refused: not a passkey the challenge allows")
	}
	if h := parsed.Response.UserHandle; len(h) > 0 && !bytes.Equal(h, user.handle()) {
		return invalid("credential refused: the passkey is another account's (user handle)")
	}
	if err := clientDataChecks(parsed.Response.CollectedClientData, Assertion, pending, rp); err != nil {
		return err
	}
	a := parsed.Response.AuthenticatorData
	if err := authDataChecks(a, rp, pending.UserVerification); err != nil {
		return err
	}
	if a.Flags.HasBackupEligible() != cred.BackupEligible {
		return invalid("credential refused: the passkey's backup eligibility changed since its registration")
	}
	return nil
}
