// Package twofactor is the SDK for second-factor method plugins: implement
// Method (and Challenger for methods that send a code) and call Register
// from init.
//
// A method holds no state of its own. The host keeps each user's state
// (encrypted at rest) and passes it in Request.State; a hook returns the new
// state in Result.State (nil leaves it unchanged) and the effects it wants
// (Messages to send). Replay protection, guess counting and atomicity are the
// host's. The host side of these hooks is not wired yet (ABI v1 defines
// them; see host/ABI.md).
package twofactor

import (
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
}

// Message is an email the method asks the host to send.
type Message = abi.Message

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
	// Messages are sent by the host, in its outbox transaction (Challenge).
	Messages []Message
}

// Method is a second factor. Plugin authors implement it.
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

// Register registers the module's method. Call it once, from init. An error
// from a hook fails the call (status failed); a denial is a Result with
// Reasons.
func Register(info sdk.Info, m Method) {
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
	sdk.Register(info.Descriptor(abi.KindTwoFactor, hooks...), m, handlers)
}

func run(fn func(*Request) (*Result, error), in, out []byte) (abi.Status, []byte) {
	var m abi.TwoFactorRequest
	if err := m.Unmarshal(in); err != nil {
		return abi.StatusBadInput, out
	}
	req := Request{Now: time.Unix(0, m.Now), RequestID: m.RequestID, UserID: m.UserID, Email: m.Email,
		ServiceName: m.ServiceName, State: m.State, Code: m.Code}
	res, err := fn(&req)
	if err != nil {
		sdk.Log(abi.LevelError, err.Error())
		return abi.StatusFailed, out
	}
	if res == nil {
		res = &Result{}
	}
	r := abi.TwoFactorResult{Reasons: res.Reasons, State: res.State, Secret: res.Secret, URI: res.URI,
		Image: res.Image, Messages: res.Messages}
	status := abi.StatusOK
	if len(res.Reasons) > 0 {
		status = abi.StatusDenied
	}
	return status, r.Marshal(out)
}
