// Package passkey holds the WebAuthn ceremonies of the passkey method as plain
// functions over plain values: the options of a registration and of an
// assertion, and the checks of their answers. The checks themselves (CBOR,
// COSE keys, attestation statements, signatures, client data, authenticator
// data flags) are github.com/go-webauthn/webauthn's; this package decides what
// is asked, what is kept and which refusal is a malformed request rather than a
// wrong credential.
//
// Nothing here reads a clock or keeps state: the caller passes the time and
// the stored values in, and keeps what comes back (the plugin's state, sealed
// by the host).
package passkey

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"
)

// Ceremony names what a pending challenge was made for.
type Ceremony string

// The two ceremonies.
const (
	Registration Ceremony = "registration"
	Assertion    Ceremony = "assertion"
)

// Limits of what the method accepts and keeps.
const (
	// ChallengeLifetime is how long a challenge may be answered.
	ChallengeLifetime = 5 * time.Minute
	// MaxResponseBytes is the largest credential JSON accepted (the core lets
	// at most 16 KiB through).
	MaxResponseBytes = 16 << 10
	// MaxCredentialIDBytes is the longest credential id WebAuthn allows.
	MaxCredentialIDBytes = 1023
	// MaxCredentials is how many passkeys one user may hold.
	MaxCredentials = 16
	// MaxNameRunes is the longest passkey name.
	MaxNameRunes = 64
	// challengeBytes is the size of a random challenge.
	challengeBytes = 32
)

// Algorithms are the COSE algorithms asked for, in the order of preference
// the options list them: ES256, EdDSA, RS256.
var Algorithms = []webauthncose.COSEAlgorithmIdentifier{
	webauthncose.AlgES256, webauthncose.AlgEdDSA, webauthncose.AlgRS256,
}

// RelyingParty is who the credentials are for.
type RelyingParty struct {
	// ID is the RP ID, a domain ("example.com", "localhost").
	ID string
	// Name is shown by the authenticator at registration.
	Name string
	// Origins are the origins a ceremony may run on (scheme://host[:port]).
	Origins []string
}

// User is the account a ceremony is for.
type User struct {
	// ID is the user's id; it is the WebAuthn user handle.
	ID string
	// Name is the account name the authenticator shows (the email address).
	Name string
}

// handle is the WebAuthn user handle: the user id, or its SHA-256 when it is
// not 1 to 64 bytes long (a handle's bounds; Gatehouse's ids are numbers).
func (u User) handle() []byte {
	if n := len(u.ID); n >= 1 && n <= 64 {
		return []byte(u.ID)
	}
	sum := sha256.Sum256([]byte(u.ID))
	return sum[:]
}

// Credential is a registered passkey as the state keeps it.
type Credential struct {
	ID         []byte    `json:"id"`
	PublicKey  []byte    `json:"publicKey"` // COSE_Key
	SignCount  uint32    `json:"signCount,omitempty"`
	Name       string    `json:"name,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
	LastUsedAt time.Time `json:"lastUsedAt,omitzero"`
	Transports []string  `json:"transports,omitempty"`
	AAGUID     []byte    `json:"aaguid,omitempty"`
	// Attestation is the attestation statement format of the registration
	// ("none", "packed", ...).
	Attestation string `json:"attestation,omitempty"`
	// BackupEligible is the BE flag of the registration, which may never
	// change afterwards.
	BackupEligible bool `json:"backupEligible,omitempty"`
	UserVerified   bool `json:"userVerified,omitempty"`
}

// EncodedID is the credential id in base64url without padding, as the
// browser's PublicKeyCredential.id shows it.
func (c Credential) EncodedID() string { return base64.RawURLEncoding.EncodeToString(c.ID) }

// UniqueKey is the key under which the credential id must be unique across
// users: the base64url SHA-256 of the id (43 characters whatever the id's
// length).
func (c Credential) UniqueKey() string {
	sum := sha256.Sum256(c.ID)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Pending is an outstanding challenge.
type Pending struct {
	Ceremony         Ceremony  `json:"ceremony"`
	Challenge        string    `json:"challenge"` // base64url, as the client data carries it
	UserID           string    `json:"userId"`
	RPID             string    `json:"rpId"`
	Expires          time.Time `json:"expires"`
	UserVerification string    `json:"userVerification"`
	// Name is the name asked at setup for the credential being registered.
	Name string `json:"name,omitempty"`
	// Allowed are the credential ids an assertion may use.
	Allowed [][]byte `json:"allowed,omitempty"`
}

// Refusal is a ceremony answer that is refused. Malformed refusals are bad
// requests (an answer that does not parse, a field too large); the others are
// wrong credentials (a signature, an origin, a challenge that does not match).
type Refusal struct {
	Malformed bool
	// Clone is set when the signature counter did not grow.
	Clone   bool
	Message string
}

func (r *Refusal) Error() string { return r.Message }

func malformed(format string, a ...any) *Refusal {
	return &Refusal{Malformed: true, Message: fmt.Sprintf(format, a...)}
}

func invalid(format string, a ...any) *Refusal {
	return &Refusal{Message: fmt.Sprintf(format, a...)}
}

// AsRefusal returns the refusal inside err, if any.
func AsRefusal(err error) (*Refusal, bool) {
	var r *Refusal
	ok := errors.As(err, &r)
	return r, ok
}

// UserVerification values of the operator's configuration.
var userVerifications = []string{
	string(protocol.VerificationRequired), string(protocol.VerificationPreferred), string(protocol.VerificationDiscouraged),
}

// ValidUserVerification reports whether uv is a WebAuthn user verification
// requirement.
func ValidUserVerification(uv string) bool { return slices.Contains(userVerifications, uv) }

// CleanName checks a passkey name: trimmed, at most MaxNameRunes runes, no
// control characters.
func CleanName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxNameRunes {
		return "", malformed("name: at most %d characters of UTF-8", MaxNameRunes)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "", malformed("name: no control characters")
		}
	}
	return name, nil
}

func (rp RelyingParty) library(uv string) (*webauthn.WebAuthn, error) {
	if rp.ID == "" || len(rp.Origins) == 0 {
		return nil, errors.New("passkey: the relying party has no id or no origin (GATEHOUSE_WEBAUTHN_RP_ID, GATEHOUSE_PUBLIC_URL)")
	}
	name := rp.Name
	if name == "" {
		name = rp.ID
	}
	return webauthn.New(&webauthn.Config{
		RPID:                  rp.ID,
		RPDisplayName:         name,
		RPOrigins:             rp.Origins,
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementPreferred,
			UserVerification: protocol.UserVerificationRequirement(uv),
		},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: ChallengeLifetime, TimeoutUVD: ChallengeLifetime},
			Registration: webauthn.TimeoutConfig{Timeout: ChallengeLifetime, TimeoutUVD: ChallengeLifetime},
		},
	})
}

// libraryUser adapts a user and its credentials to go-webauthn.
type libraryUser struct {
	user  User
	creds []Credential
}

func (u libraryUser) WebAuthnID() []byte          { return u.user.handle() }
func (u libraryUser) WebAuthnName() string        { return u.user.Name }
func (u libraryUser) WebAuthnDisplayName() string { return u.user.Name }
func (u libraryUser) WebAuthnCredentials() []webauthn.Credential {
	out := make([]webauthn.Credential, len(u.creds))
	for i, c := range u.creds {
		out[i] = c.library()
	}
	return out
}

func (c Credential) library() webauthn.Credential {
	transports := make([]protocol.AuthenticatorTransport, len(c.Transports))
	for i, t := range c.Transports {
		transports[i] = protocol.AuthenticatorTransport(t)
	}
	return webauthn.Credential{
		ID:                c.ID,
		PublicKey:         c.PublicKey,
		AttestationFormat: c.Attestation,
		Transport:         transports,
		Flags:             webauthn.CredentialFlags{UserPresent: true, UserVerified: c.UserVerified, BackupEligible: c.BackupEligible},
		Authenticator:     webauthn.Authenticator{AAGUID: c.AAGUID, SignCount: c.SignCount},
	}
}

func descriptors(creds []Credential) []protocol.CredentialDescriptor {
	out := make([]protocol.CredentialDescriptor, len(creds))
	for i, c := range creds {
		lc := c.library()
		out[i] = lc.Descriptor()
	}
	return out
}

func credentialParameters() []protocol.CredentialParameter {
	out := make([]protocol.CredentialParameter, len(Algorithms))
	for i, alg := range Algorithms {
		out[i] = protocol.CredentialParameter{Type: protocol.PublicKeyCredentialType, Algorithm: alg}
	}
	return out
}

// BeginRegistration makes the options of a registration for user, who holds
// existing (excluded, so an authenticator is not registered twice), and the
// pending challenge to keep. name is the name the new passkey will have
// ("" for none). The options are {"publicKey": PublicKeyCredentialCreationOptionsJSON}.
func BeginRegistration(rp RelyingParty, user User, existing []Credential, uv, name string, now time.Time) (json.RawMessage, Pending, error) {
	if len(existing) >= MaxCredentials {
		return nil, Pending{}, malformed("at most %d passkeys per account: remove the method to start again", MaxCredentials)
	}
	name, err := CleanName(name)
	if err != nil {
		return nil, Pending{}, err
	}
	lib, err := rp.library(uv)
	if err != nil {
		return nil, Pending{}, err
	}
	creation, session, err := lib.BeginRegistration(libraryUser{user: user, creds: existing},
		webauthn.WithCredentialParameters(credentialParameters()),
		webauthn.WithExclusions(descriptors(existing)))
	if err != nil {
		return nil, Pending{}, fmt.Errorf("passkey: registration options: %w", err)
	}
	opts, err := json.Marshal(map[string]any{"publicKey": creation.Response})
	if err != nil {
		return nil, Pending{}, err
	}
	return opts, Pending{Ceremony: Registration, Challenge: session.Challenge, UserID: user.ID, RPID: rp.ID,
		Expires: now.Add(ChallengeLifetime), UserVerification: uv, Name: name}, nil
}

// checkPending refuses a challenge that is not for this ceremony, user and RP
// or that has expired.
func checkPending(p *Pending, want Ceremony, rp RelyingParty, user User, now time.Time) error {
	switch {
	case p == nil || p.Challenge == "":
		return invalid("no challenge is pending: ask for one first")
	case p.Ceremony != want:
		return invalid("the pending challenge is for another ceremony")
	case p.UserID != user.ID:
		return invalid("the pending challenge is for another user")
	case p.RPID != rp.ID:
		return invalid("the pending challenge is for another relying party")
	case !now.Before(p.Expires):
		return invalid("the challenge has expired")
	}
	return nil
}

// parseable refuses an answer too large to be one.
func parseable(response []byte) error {
	switch {
	case len(response) == 0:
		return malformed("credential: missing")
	case len(response) > MaxResponseBytes:
		return malformed("credential: larger than %d bytes", MaxResponseBytes)
	case !json.Valid(response):
		return malformed("credential: not JSON")
	}
	return nil
}

// libraryMessage is the most telling text of a go-webauthn error.
func libraryMessage(err error) string {
	var e *protocol.Error
	if errors.As(err, &e) {
		msg := e.Details
		if e.DevInfo != "" && e.DevInfo != "<nil>" && e.DevInfo != msg {
			msg = strings.TrimSpace(msg + ": " + e.DevInfo)
		}
		if msg != "" {
			return msg
		}
	}
	return err.Error()
}

// FinishRegistration checks the answer to a registration (the browser's
// RegistrationResponseJSON) against the pending challenge and returns the new
// credential. existing are the credentials the user already holds; one of
// them registered again is refused.
func FinishRegistration(rp RelyingParty, user User, pending *Pending, existing []Credential, response []byte, now time.Time) (Credential, error) {
	if err := parseable(response); err != nil {
		return Credential{}, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return Credential{}, malformed(msgNotRegistration)
	}
	if len(parsed.RawID) > MaxCredentialIDBytes {
		return Credential{}, malformed("credential: id longer than %d bytes", MaxCredentialIDBytes)
	}
	if err := checkPending(pending, Registration, rp, user, now); err != nil {
		return Credential{}, err
	}
	key, err := registrationChecks(parsed, pending, rp)
	if err != nil {
		return Credential{}, err
	}
	for _, c := range existing {
		if bytes.Equal(c.ID, parsed.RawID) {
			return Credential{}, invalid("credential refused: this passkey is already registered")
		}
	}
	lib, err := rp.library(pending.UserVerification)
	if err != nil {
		return Credential{}, err
	}
	session := webauthn.SessionData{
		Challenge:        pending.Challenge,
		RelyingPartyID:   rp.ID,
		UserID:           user.handle(),
		UserVerification: protocol.UserVerificationRequirement(pending.UserVerification),
		CredParams:       credentialParameters(),
	}
	cred, err := lib.CreateCredential(libraryUser{user: user, creds: existing}, session, parsed)
	if err != nil {
		return Credential{}, invalid(msgAttestation)
	}
	if len(existing) >= MaxCredentials {
		return Credential{}, malformed("at most %d passkeys per account", MaxCredentials)
	}
	out := Credential{
		ID:             cred.ID,
		PublicKey:      key, // as the authenticator sent it (go-webauthn re-encodes it)
		SignCount:      cred.Authenticator.SignCount,
		Name:           pending.Name,
		CreatedAt:      now.UTC(),
		AAGUID:         cred.Authenticator.AAGUID,
		Attestation:    cred.AttestationFormat,
		BackupEligible: cred.Flags.BackupEligible,
		UserVerified:   cred.Flags.UserVerified,
	}
	for _, t := range cred.Transport {
		if len(out.Transports) < 8 && len(t) <= 32 {
			out.Transports = append(out.Transports, string(t))
		}
	}
	if out.Name == "" {
		out.Name = fmt.Sprintf("Passkey %d", len(existing)+1)
	}
	return out, nil
}

// BeginAssertion makes the options of an assertion by one of creds and the
// pending challenge to keep. The options are
// {"publicKey": PublicKeyCredentialRequestOptionsJSON}.
func BeginAssertion(rp RelyingParty, user User, creds []Credential, uv string, now time.Time) (json.RawMessage, Pending, error) {
	if len(creds) == 0 {
		return nil, Pending{}, errors.New("passkey: no credential to assert")
	}
	lib, err := rp.library(uv)
	if err != nil {
		return nil, Pending{}, err
	}
	assertion, session, err := lib.BeginLogin(libraryUser{user: user, creds: creds},
		webauthn.WithUserVerification(protocol.UserVerificationRequirement(uv)))
	if err != nil {
		return nil, Pending{}, fmt.Errorf("passkey: assertion options: %w", err)
	}
	opts, err := json.Marshal(map[string]any{"publicKey": assertion.Response})
	if err != nil {
		return nil, Pending{}, err
	}
	return opts, Pending{Ceremony: Assertion, Challenge: session.Challenge, UserID: user.ID, RPID: rp.ID,
		Expires: now.Add(ChallengeLifetime), UserVerification: uv, Allowed: session.AllowedCredentialIDs}, nil
}

// FinishAssertion checks the answer to an assertion (the browser's
// AuthenticationResponseJSON) against the pending challenge and the user's
// credentials. It returns the index of the credential used and that
// credential with its new counter and last use.
func FinishAssertion(rp RelyingParty, user User, pending *Pending, creds []Credential, response []byte, now time.Time) (int, Credential, error) {
	if err := parseable(response); err != nil {
		return -1, Credential{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return -1, Credential{}, malformed(msgNotAssertion)
	}
	if len(parsed.RawID) > MaxCredentialIDBytes {
		return -1, Credential{}, malformed("credential: id longer than %d bytes", MaxCredentialIDBytes)
	}
	if err := checkPending(pending, Assertion, rp, user, now); err != nil {
		return -1, Credential{}, err
	}
	index := slices.IndexFunc(creds, func(c Credential) bool { return bytes.Equal(c.ID, parsed.RawID) })
	if index < 0 {
		return -1, Credential{}, invalid("credential refused: not a passkey of this account")
	}
	if err := assertionChecks(parsed, pending, rp, user, creds[index]); err != nil {
		return -1, Credential{}, err
	}
	lib, err := rp.library(pending.UserVerification)
	if err != nil {
		return -1, Credential{}, err
	}
	session := webauthn.SessionData{
		Challenge:            pending.Challenge,
		RelyingPartyID:       rp.ID,
		UserID:               user.handle(),
		AllowedCredentialIDs: pending.Allowed,
		UserVerification:     protocol.UserVerificationRequirement(pending.UserVerification),
	}
	used, err := lib.ValidateLogin(libraryUser{user: user, creds: creds}, session, parsed)
	if err != nil {
		return -1, Credential{}, invalid(msgSignature)
	}
	if used.Authenticator.CloneWarning {
		return index, Credential{}, &Refusal{Clone: true, Message: fmt.Sprintf(
			"credential refused: its signature counter went from %d to %d (a cloned authenticator?)",
			creds[index].SignCount, parsed.Response.AuthenticatorData.Counter)}
	}
	out := creds[index]
	out.SignCount = used.Authenticator.SignCount
	out.LastUsedAt = now.UTC()
	out.UserVerified = out.UserVerified || used.Flags.UserVerified
	return index, out, nil
}
