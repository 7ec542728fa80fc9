// Package twofactor is the SDK for second-factor method plugins: implement
// Method (and Challenger for methods that send a code) and call Register
// from init.
//
// A method holds no state of its own. The host keeps each user's state
// (encrypted at rest) and passes it in Request.State; a hook returns the new
// state in Result.State (nil leaves it unchanged) and the effects it wants
// (Messages to send). Replay protection, guess counting and atomicity are the
// host's: a method names what an accepted code used up in Result.ReplayKey and
// the host refuses it a second time.
//
// The host serves a method at /user/2fa/<route>/... with the bodies and
// message codes its MethodInfo describes (host/ABI.md, "Twofactor methods").
package twofactor

import (
	"sort"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/abi"
)

// Request is the input of every hook.
type Request struct {
	Now         time.Time
	RequestID   string
	UserID      string
	Email       string
	ServiceName string // the issuer shown in authenticator apps
	State       []byte // the state the method returned last; nil at Enroll
	Code        string // the code the user typed (Activate, Verify)
	// Params are the setup body's fields named in MethodInfo.SetupFields, such
	// as "email" (Enroll only).
	Params map[string]string
	// Origin is the HTTP request's Origin header when it is one of Origins,
	// else "" (ABI v1.2).
	Origin string
	// Origins are the server's accepted origins, scheme://host[:port], the
	// public URL's first (ABI v1.2).
	Origins []string
	// RPID and RPName are the relying party a WebAuthn method binds
	// credentials to (ABI v1.2): a host name (by default the public URL's)
	// and a display name (by default ServiceName).
	RPID, RPName string
	// PublicURL is the server's public URL (ABI v1.2).
	PublicURL string
	// ActiveState is, for an Additive method's Enroll and Activate, the
	// active state; nil while the method is not active (ABI v1.2).
	ActiveState []byte
}

// Message is an email the method asks the host to send (Enroll, Challenge).
// The host renders the template in the user's language and queues it in the
// same transaction that stores the new state.
type Message struct {
	// Template names the mail template; the host accepts only names that
	// start with the method's route and a dash ("email-otp-challenge").
	Template string
	// To is the recipient's address.
	To string
	// Vars are the template's variables, such as "Code".
	Vars map[string]string
}

// Result is the output of every hook.
type Result struct {
	// Reasons, when not empty, deny the request (a wrong code): the first
	// reason's code is what the host maps to its API message code.
	Reasons []sdk.Reason
	// State replaces the user's state for this method; nil leaves it.
	State []byte
	// Secret, URI and Image are shown to the user once (Enroll).
	Secret string
	URI    string
	Image  []byte
	// Messages are sent by the host, in its outbox transaction (Enroll,
	// Challenge).
	Messages []Message
	// ReplayKey names what an accepted code used up, such as the TOTP time
	// step: the host refuses a second acceptance with the same key within
	// MethodInfo.ReplayWindow. "" for none.
	ReplayKey string
	// Public is shown to the user in GET /user/2fa, such as the address of
	// email OTP (taken from Activate).
	Public map[string]string
	// ClientData is a JSON object for the caller (ABI v1.2): from Enroll its
	// properties are added to the setup answer, from Challenge it is the
	// answer. Its properties must be among MethodInfo.ClientDataFields; at
	// most 64 KiB.
	ClientData []byte
	// Summary is a JSON object shown in GET /user/2fa under the method's
	// SummaryKey, beside completedAt (ABI v1.2), such as a list of the user's
	// credentials. Taken from an accepted Activate or Verify; at most 8 KiB.
	Summary []byte
	// UniqueKeys are, from an accepted Activate, every key of the new state
	// that no other user may hold for this method, such as passkey
	// credential ids (ABI v1.2): at most 32, each at most 128 bytes. The host
	// refuses an activation that would share one.
	UniqueKeys []string
}

// MethodInfo is what the host needs to serve a method: its route, its request
// bodies and its message codes. The zero value of each field selects the
// default written beside it.
type MethodInfo struct {
	// Route is the path segment, /user/2fa/<Route>/... Default: the plugin id
	// without "twofactor." ("twofactor.totp" serves /user/2fa/totp).
	Route string
	// SummaryKey is the property of GET /user/2fa that shows the method, such
	// as "totp". Default "": listed in "methods" only (third parties).
	SummaryKey string
	// CodeField is the request-body property holding the code. Default "code".
	CodeField string
	// CodeLength is the exact length of a code. Default 0: any, up to 64.
	CodeLength int
	// SetupFields are the string properties the setup body requires, passed
	// in Request.Params. Default: none.
	SetupFields []string
	// Weak marks a factor weaker than an authenticator app (email).
	Weak bool
	// CodePrefix is the prefix P of the message codes (P_INVALID,
	// P_UNINITIALIZED, TOO_MANY_P_CHECKS, ...). Default: the route in upper
	// case, '-' as '_'.
	CodePrefix string
	// Codes overrides single message codes; "" keeps the derived one.
	Codes Codes
	// ReplayWindow is how long the host remembers a used ReplayKey. Default
	// 0: the host's (5 minutes). Whole seconds.
	ReplayWindow time.Duration
	// OptionalSetupFields are properties the setup body may carry, such as a
	// credential's "name"; passed in Request.Params when present (ABI v1.2).
	OptionalSetupFields []string
	// JSONFields names which of CodeField, SetupFields and
	// OptionalSetupFields take a JSON object (at most 16 KiB) instead of a
	// string; the method gets its JSON text (ABI v1.2).
	JSONFields []string
	// ClientDataFields are the properties Result.ClientData may carry, such
	// as "publicKey" (ABI v1.2).
	ClientDataFields []string
	// Additive marks a method that holds several credentials (ABI v1.2):
	// while it is active, setup and enable need a sudo token and add one.
	// Enroll and Activate get Request.ActiveState, and the state an accepted
	// Activate returns becomes the active state (the old credentials and the
	// new one).
	Additive bool
}

// Codes are a method's message codes (see abi.TwoFactorCodes for each
// default).
type Codes = abi.TwoFactorCodes

func (mi MethodInfo) abi() *abi.TwoFactorInfo {
	return &abi.TwoFactorInfo{
		Route:               mi.Route,
		SummaryKey:          mi.SummaryKey,
		CodeField:           mi.CodeField,
		CodeLength:          uint32(max(mi.CodeLength, 0)),
		SetupFields:         append([]string(nil), mi.SetupFields...),
		Weak:                mi.Weak,
		CodePrefix:          mi.CodePrefix,
		Codes:               mi.Codes,
		ReplayWindowSeconds: uint32(max(mi.ReplayWindow/time.Second, 0)),
		OptionalSetupFields: append([]string(nil), mi.OptionalSetupFields...),
		JSONFields:          append([]string(nil), mi.JSONFields...),
		ClientDataFields:    append([]string(nil), mi.ClientDataFields...),
		Additive:            mi.Additive,
	}
}

// Method is a second factor. Plugin authors implement it. A wrong code is a
// Result with Reasons (the first reason's code is the API's message code, so
// return the method's invalid code there); an error fails the call, and the
// host answers 500.
type Method interface {
	// Enroll makes a new secret and what the user sees.
	Enroll(req *Request) (*Result, error)
	// Activate checks the first code against the state Enroll made.
	Activate(req *Request) (*Result, error)
	// Verify checks a code at login; it returns the new state even when it
	// denies.
	Verify(req *Request) (*Result, error)
}

// Challenger is implemented by methods that send a code (email OTP).
type Challenger interface {
	// Challenge makes a code, keeps what verifies it in the new state and
	// returns the message that carries it.
	Challenge(req *Request) (*Result, error)
}

// Register registers the module's method with its metadata. Call it once,
// from init. An error from a hook fails the call (status failed); a denial is
// a Result with Reasons. If m also implements sdk.Configurer it receives the
// operator's configuration.
func Register(info sdk.Info, mi MethodInfo, m Method) {
	hooks := []string{abi.HookTwoFactorEnroll, abi.HookTwoFactorActivate, abi.HookTwoFactorVerify}
	handlers := map[string]func(in, out []byte) (abi.Status, []byte){
		abi.HookTwoFactorEnroll:   func(in, out []byte) (abi.Status, []byte) { return run(m.Enroll, in, out) },
		abi.HookTwoFactorActivate: func(in, out []byte) (abi.Status, []byte) { return run(m.Activate, in, out) },
		abi.HookTwoFactorVerify:   func(in, out []byte) (abi.Status, []byte) { return run(m.Verify, in, out) },
	}
	if c, ok := m.(Challenger); ok {
		hooks = append(hooks, abi.HookTwoFactorChallenge)
		handlers[abi.HookTwoFactorChallenge] = func(in, out []byte) (abi.Status, []byte) { return run(c.Challenge, in, out) }
	}
	desc := info.Descriptor(abi.KindTwoFactor, hooks...)
	desc.TwoFactor = mi.abi()
	sdk.Register(desc, m, handlers)
}

func run(fn func(*Request) (*Result, error), in, out []byte) (abi.Status, []byte) {
	var m abi.TwoFactorRequest
	if err := m.Unmarshal(in); err != nil {
		return abi.StatusBadInput, out
	}
	req := Request{Now: time.Unix(0, m.Now), RequestID: m.RequestID, UserID: m.UserID, Email: m.Email,
		ServiceName: m.ServiceName, State: m.State, Code: m.Code, Origin: m.Origin, Origins: m.Origins,
		RPID: m.RPID, RPName: m.RPName, PublicURL: m.PublicURL, ActiveState: m.ActiveState}
	if len(m.Params) > 0 {
		req.Params = make(map[string]string, len(m.Params)/2)
		for i := 0; i+1 < len(m.Params); i += 2 {
			req.Params[m.Params[i]] = m.Params[i+1]
		}
	}
	res, err := fn(&req)
	if err != nil {
		sdk.Log(abi.LevelError, err.Error())
		return abi.StatusFailed, out
	}
	if res == nil {
		res = &Result{}
	}
	r := abi.TwoFactorResult{Reasons: res.Reasons, State: res.State, Secret: res.Secret, URI: res.URI,
		Image: res.Image, ReplayKey: res.ReplayKey, Public: pairs(res.Public), ClientData: res.ClientData,
		Summary: res.Summary, UniqueKeys: res.UniqueKeys}
	for _, msg := range res.Messages {
		r.Messages = append(r.Messages, abi.Message{Template: msg.Template, To: msg.To, Vars: pairs(msg.Vars)})
	}
	status := abi.StatusOK
	if len(res.Reasons) > 0 {
		status = abi.StatusDenied
	}
	return status, r.Marshal(out)
}

// pairs flattens a map to name, value, ... in name order (so the same result
// encodes to the same bytes).
func pairs(m map[string]string) []string {
	if len(m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, 2*len(m))
	for _, k := range keys {
		out = append(out, k, m[k])
	}
	return out
}
