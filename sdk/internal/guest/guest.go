// Package guest is the SDK's side of the ABI shared by every plugin kind:
// the registration of the one plugin a module holds, the describe and
// configure exports, and the dispatch of a hook's encoded input to its Go
// handler. On GOOS=wasip1 the exports and host imports are real (glue_wasip1.go);
// elsewhere the same dispatch runs natively, for tests.
package guest

import (
	"fmt"
	"runtime/debug"
	"slices"

	"github.com/gatehouse/gatehouse/sdk/abi"
)

// Handler runs one hook on its encoded input and appends its encoded output.
type Handler func(in []byte, out []byte) (abi.Status, []byte)

// Registration is the plugin a module holds.
type Registration struct {
	Desc      abi.Descriptor
	Handlers  map[string]Handler
	Configure func(config []byte) []abi.Reason // nil: takes no configuration
}

var (
	reg          *Registration
	capabilities []string
)

// Register records the module's plugin. A module holds exactly one: a second
// call panics (a programming error found at init).
func Register(r Registration) {
	if reg != nil {
		panic(fmt.Sprintf("gatehouse sdk: plugin %q registered twice (already %q)", r.Desc.ID, reg.Desc.ID))
	}
	r.Desc.ABIMinor = abi.Minor
	for _, c := range capabilities {
		if !slices.Contains(r.Desc.Capabilities, c) {
			r.Desc.Capabilities = append(r.Desc.Capabilities, c)
		}
	}
	reg = &r
}

// DeclareCapability adds a capability to the descriptor; SDK packages that
// import a capability module call it from init.
func DeclareCapability(c string) {
	if !slices.Contains(capabilities, c) {
		capabilities = append(capabilities, c)
	}
	if reg != nil && !slices.Contains(reg.Desc.Capabilities, c) {
		reg.Desc.Capabilities = append(reg.Desc.Capabilities, c)
	}
}

// Registered returns the registration, or nil.
func Registered() *Registration { return reg }

// Reset forgets the registration (native tests only).
func Reset() { reg = nil }

// Describe answers describe.
func Describe(in, out []byte) (abi.Status, []byte) {
	if reg == nil {
		return abi.StatusFailed, (&abi.Result{Reasons: []abi.Reason{{Code: "NOT_REGISTERED", Message: "no plugin registered: call a Register function from init"}}}).Marshal(out)
	}
	return abi.StatusOK, reg.Desc.Marshal(out)
}

// Configure answers configure.
func Configure(in, out []byte) (status abi.Status, res []byte) {
	var req abi.ConfigureRequest
	if err := req.Unmarshal(in); err != nil {
		return abi.StatusBadInput, out
	}
	if reg == nil {
		return abi.StatusFailed, out
	}
	defer recoverTo(&status, &res, out)
	if reg.Configure == nil {
		if len(req.Config) == 0 || string(req.Config) == "{}" {
			return abi.StatusOK, out
		}
		return abi.StatusDenied, (&abi.Result{Reasons: []abi.Reason{{Code: "CONFIG_UNEXPECTED", Message: "this plugin takes no configuration"}}}).Marshal(out)
	}
	if rs := reg.Configure(req.Config); len(rs) > 0 {
		return abi.StatusDenied, (&abi.Result{Reasons: rs}).Marshal(out)
	}
	return abi.StatusOK, out
}

// Dispatch runs a hook's handler. A panic in the plugin becomes StatusFailed
// with the panic in the log (the host then throws the instance away).
func Dispatch(hook string, in, out []byte) (status abi.Status, res []byte) {
	if reg == nil {
		return abi.StatusFailed, out
	}
	h := reg.Handlers[hook]
	if h == nil {
		return abi.StatusFailed, out
	}
	defer recoverTo(&status, &res, out)
	return h(in, out)
}

func recoverTo(status *abi.Status, res *[]byte, out []byte) {
	if r := recover(); r != nil {
		Log(abi.LevelError, fmt.Sprintf("panic: %v\n%s", r, debug.Stack()))
		*status, *res = abi.StatusFailed, out[:0]
	}
}
