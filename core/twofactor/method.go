// Package twofactor is the 2FA framework: a method (TOTP, email OTP, a third party's HOTP) is a
// plugin that enrols, activates, challenges and verifies; this package keeps each user's method
// state sealed at rest, passes it to the method with each call, stores what comes back, and does
// the counting, replay protection and token minting itself, in one transaction.
package twofactor

import (
	"context"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/sdk/abi"
)

// Method is one 2FA method. Implementations are pure functions of the request: they hold no
// state of their own (the plugin host adapts a twofactor plugin to it).
type Method interface {
	// Info describes the method: its id, codes and body shape.
	Info() Info
	// Enroll makes a new pending secret (setup).
	Enroll(ctx context.Context, req Request) (Result, error)
	// Activate checks the first code against the pending state (enable).
	Activate(ctx context.Context, req Request) (Result, error)
	// Challenge makes a code and asks for it to be sent (email OTP). Methods whose Info says
	// Challenges false are never asked.
	Challenge(ctx context.Context, req Request) (Result, error)
	// Verify checks a code against the active state (authenticate).
	Verify(ctx context.Context, req Request) (Result, error)
}

// Request is the input of every hook.
type Request struct {
	Now time.Time
	// RequestID names the request the call is made for (reqctx), for the method's logs.
	RequestID   string
	UserID      uint64
	Email       string
	ServiceName string
	// State is the method's state for this user (pending for Enroll and Activate, active for
	// Challenge and Verify); nil when there is none.
	State []byte
	// Code is the code the user typed (Activate, Verify).
	Code string
	// Params are the other string fields of the request body (for example the email address
	// of email OTP's setup).
	Params map[string]string
	// Origin is the request's Origin header when it is one of Origins, else "".
	Origin string
	// Origins are the accepted origins, the public URL's first.
	Origins []string
	// RPID and RPName are the relying party a WebAuthn method binds credentials to.
	RPID, RPName string
	// PublicURL is the server's public URL.
	PublicURL string
	// ActiveState is, for an Additive method's Enroll and Activate, the active state; nil when
	// the method is not active.
	ActiveState []byte
}

// Message is an email a method asks the core to send. The core sends it only as the method's
// own mail: Template is looked up in the method's namespace (mail.MethodPurpose: never a core
// purpose), To must be one of the user's addresses (the account's, or the one given in the setup
// body) and Vars never override the core's variables (Service, Email, NewEmail, Link,
// ExpiresMinutes). Anything else fails the call closed (500 PLUGIN_BAD_OUTPUT).
type Message struct {
	// Template is the template's name, "<route>-<name>" such as "email-otp-challenge".
	Template string
	// To is the recipient; the core mails its own copy of the matching user address.
	To string
	// Vars are the method's template variables, such as its Code.
	Vars map[string]string
}

// Result is the output of every hook.
type Result struct {
	// Denied is true when the code is wrong (Activate, Verify) or the request is refused.
	Denied bool
	// Reason is the message code of a denial; empty means the method's Invalid code.
	// ReasonBadRequest marks a malformed request: 400 with Message, not a counted guess.
	Reason string
	// Message is the denial's sentence.
	Message string
	// State is the new state; nil leaves it unchanged.
	State []byte
	// Secret is shown to the user after Enroll, for entering by hand in an authenticator app
	// (TOTP's base32 secret); "" for none. For an otpauth:// URI without it the core shows the
	// URI's secret parameter.
	Secret string
	// URI is shown to the user after Enroll (an otpauth:// URL).
	URI string
	// Image is a PNG shown to the user after Enroll (a QR code); the core renders one for an
	// otpauth URI when the method sends none.
	Image []byte
	// ReplayKey identifies what an accepted code used up (a TOTP time step); the core refuses a
	// second acceptance with the same key within ReplayWindow.
	ReplayKey string
	// Public is shown in GET /user/2fa (for example the address of email OTP).
	Public map[string]string
	// Messages are emails to send.
	Messages []Message
	// ClientData is a JSON object for the caller (Enroll: added to the setup answer;
	// Challenge: the answer), of Info.ClientDataFields; nil for none.
	ClientData []byte
	// Summary is a JSON object shown in GET /user/2fa under SummaryKey (Activate, Verify);
	// nil keeps the one shown.
	Summary []byte
	// UniqueKeys are, from Activate, the keys of the new active state no other user may hold
	// for this method (passkey credential ids).
	UniqueKeys []string
}

// ReasonBadRequest is the denial reason of a malformed request (abi.ReasonBadRequest).
const ReasonBadRequest = abi.ReasonBadRequest

// Info describes a method.
type Info struct {
	// ID is the route segment: /user/2fa/{ID}/...
	ID string
	// SummaryKey is the property of GET /user/2fa that shows it ("totp", "emailOtp"); empty:
	// only listed in "methods".
	SummaryKey string
	// CodeField is the body property holding the code ("totp", "otp", "code").
	CodeField string
	// CodeLength, when positive, is the exact length of the code.
	CodeLength int
	// SetupFields are the required properties of the setup body; OptionalSetupFields may be
	// absent.
	SetupFields         []string
	OptionalSetupFields []string
	// JSONFields are those of CodeField and the setup fields that take a JSON object.
	JSONFields []string
	// ClientDataFields are the properties Result.ClientData may carry.
	ClientDataFields []string
	// Additive marks a method of several credentials: while active, setup and enable need a
	// sudo token and add one.
	Additive bool
	// Challenges is true when the method sends codes (a /challenge route).
	Challenges bool
	// Weak marks a factor that is weaker than a TOTP authenticator (email).
	Weak bool
	// ReplayWindow is how long a used ReplayKey is remembered. Default 5 minutes.
	ReplayWindow time.Duration
	// Codes are the message codes of the method.
	Codes Codes
}

// Codes are a method's message codes.
type Codes struct {
	Invalid         string // 401 on a wrong code
	Uninitialized   string // 409 when there is nothing to enable or count
	Inactive        string // 409 at authenticate when the method is not active
	AlreadyInactive string // 409 at delete when the method is not active
	TooMany         string // 429 of its guess limiter
	TooManySends    string // 429 of its send limiter (methods that send codes)
	Corrupt         string // 500 when its state cannot be read
}

// DefaultCodes derives a method's codes from its prefix, as spec section 5 does for
// third-party methods: TOTP → TOTP_INVALID, TOTP_UNINITIALIZED, TOO_MANY_TOTP_CHECKS, ...
// (abi.DeriveCodes, the one derivation the host uses too).
func DefaultCodes(prefix string) Codes {
	return Codes(abi.DeriveCodes(strings.ToUpper(strings.ReplaceAll(prefix, "-", "_"))))
}
