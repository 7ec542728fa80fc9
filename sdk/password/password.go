// Package password is the SDK for password-policy plugins: implement Policy
// and call Register from init.
package password

import (
	"time"

	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/abi"
)

// Request is one password to check. Its strings alias the call's input
// buffer: they are valid only until Check returns, so copy (strings.Clone)
// anything kept. Plugins keep nothing between calls anyway.
type Request struct {
	// Now is the host's wall clock.
	Now time.Time
	// RequestID identifies the HTTP request, for logs.
	RequestID string
	// Password is the candidate password.
	Password string
	// Email is the account's email, "" when unknown (a context word).
	Email string
	// Field is the JSON field being checked, such as "newPassword", for
	// messages in the API's validator style ("body/newPassword must ...").
	Field string
	// ServiceName is the service's display name (a context word).
	ServiceName string
}

// Policy accepts or refuses passwords. Plugin authors implement it.
type Policy interface {
	// Check returns nil to accept the password, or the reasons it is
	// refused, most important first (the user sees the first). Each code
	// must be listed in the plugin's sdk.Info.Codes.
	Check(req *Request) []sdk.Reason
}

// Register registers the module's password policy. Call it once, from init.
// If p also implements sdk.Configurer it receives the operator's
// configuration.
func Register(info sdk.Info, p Policy) {
	sdk.Register(info.Descriptor(abi.KindPassword, abi.HookPasswordCheck), p,
		map[string]func(in, out []byte) (abi.Status, []byte){
			abi.HookPasswordCheck: func(in, out []byte) (abi.Status, []byte) { return check(p, in, out) },
		})
}

func check(p Policy, in, out []byte) (abi.Status, []byte) {
	var m abi.PasswordCheckRequest
	if err := m.UnmarshalView(in); err != nil {
		return abi.StatusBadInput, out
	}
	req := Request{
		Now:         time.Unix(0, m.Now),
		RequestID:   m.RequestID,
		Password:    m.Password,
		Email:       m.Email,
		Field:       m.Field,
		ServiceName: m.ServiceName,
	}
	reasons := p.Check(&req)
	if len(reasons) == 0 {
		return abi.StatusOK, out
	}
	return abi.StatusDenied, (&abi.Result{Reasons: reasons}).Marshal(out)
}
