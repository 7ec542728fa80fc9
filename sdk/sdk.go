// Package sdk is the Go SDK for Gatehouse plugins: WebAssembly modules built
// with standard Go for GOOS=wasip1 that the Gatehouse host loads (ABI v1,
// see host/ABI.md in the repository).
//
// A plugin is a main package that registers exactly one implementation from
// an init function, with the Register function of its kind's package
// (sdk/password, sdk/twofactor, sdk/mailer), and has an empty main:
//
//	package main
//
//	import (
//		"github.com/gatehouse/gatehouse/sdk"
//		"github.com/gatehouse/gatehouse/sdk/password"
//	)
//
//	type policy struct{}
//
//	func (policy) Check(req *password.Request) []sdk.Reason {
//		if len(req.Password) < 12 {
//			return []sdk.Reason{{Code: "TOO_SHORT", Message: "Password is too short"}}
//		}
//		return nil
//	}
//
//	func init() {
//		password.Register(sdk.Info{
//			ID: "password.example", Name: "Example", Version: "1.0.0",
//			Codes: []string{"TOO_SHORT"},
//		}, policy{})
//	}
//
//	func main() {}
//
// Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o example.wasm .
//
// and test it, natively and as the built .wasm in the real host, with the
// helpers of sdk/sdktest.
//
// Plugins hold no state between calls: an instance may be thrown away after
// any call, and several instances serve calls concurrently. Everything a
// call needs comes in its request.
//
// A plugin reaches the outside only through capabilities the operator
// grants to its id. Importing a capability package declares the capability
// in the descriptor: sdk/smtp (the operator's SMTP relay), sdk/outbox (the
// development mail folder) and sdk/httpconn (HTTP through connections the
// operator names). Their failures are *TransportError values.
package sdk

import (
	"fmt"

	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/internal/guest"
)

// Info is what a plugin says about itself in its descriptor. The kind and
// the hooks are filled in by the kind's Register function.
type Info struct {
	// ID is "<kind>.<name>", lower case, such as "password.nist".
	ID string
	// Name is a human-readable name.
	Name string
	// Version is the plugin's version; semver is advised.
	Version string
	// Description is one paragraph for operators.
	Description string
	// Codes lists every reason code the plugin may return (UPPER_SNAKE_CASE).
	// The host refuses a reason whose code is not listed.
	Codes []string
	// ConfigSchema is a JSON Schema of the plugin's configuration, "" for none.
	ConfigSchema string
	// Capabilities lists host capabilities the plugin needs beyond those its
	// SDK imports declare for it.
	Capabilities []string
}

// Descriptor turns the info into the ABI descriptor of a plugin of kind with
// hooks. Kind packages call it.
func (i Info) Descriptor(kind abi.Kind, hooks ...string) abi.Descriptor {
	return abi.Descriptor{
		ABIMinor:     abi.Minor,
		ID:           i.ID,
		Name:         i.Name,
		Version:      i.Version,
		Kind:         kind,
		Hooks:        hooks,
		Capabilities: append([]string(nil), i.Capabilities...),
		Codes:        append([]string(nil), i.Codes...),
		ConfigSchema: i.ConfigSchema,
		Description:  i.Description,
	}
}

// Reason is why a plugin refuses: a stable code from Info.Codes and the
// sentence the user sees.
type Reason = abi.Reason

// Configurer may be implemented by any plugin that takes a configuration.
// Configure gets the operator's JSON (possibly empty) once per instance,
// before any hook, and returns the reasons it refuses it (naming the field),
// or nil. A plugin that does not implement it accepts only no configuration.
type Configurer interface {
	Configure(config []byte) []Reason
}

// Log writes a line to the host's log at level (abi.LevelDebug and so on).
// Never log a secret, a password or a code.
func Log(level abi.Level, msg string) { guest.Log(level, msg) }

// Logf formats a line and writes it at level, if the host writes that level.
func Logf(level abi.Level, format string, args ...any) {
	if guest.LogEnabled(level) {
		guest.Log(level, fmt.Sprintf(format, args...))
	}
}

// Register registers a plugin of any kind from its descriptor and handlers.
// Kind packages use it; plugin authors use their kind's Register instead.
func Register(desc abi.Descriptor, impl any, handlers map[string]func(in, out []byte) (abi.Status, []byte)) {
	r := guest.Registration{Desc: desc, Handlers: map[string]guest.Handler{}}
	for k, v := range handlers {
		r.Handlers[k] = v
	}
	if c, ok := impl.(Configurer); ok {
		r.Configure = c.Configure
	}
	guest.Register(r)
}
