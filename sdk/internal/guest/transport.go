package guest

import "github.com/gatehouse/gatehouse/sdk/abi"

// NativeTransport, when set, answers transport capability calls in native
// builds (tests): it gets the capability ("smtp", "outbox", "http") and the
// encoded request, and returns the encoded reply. When nil, native calls
// fail temporarily. Under wasip1 the host answers and this is unused.
var NativeTransport func(capability string, req []byte) []byte

func nativeTransport(capability string, req []byte) []byte {
	if NativeTransport != nil {
		return NativeTransport(capability, req)
	}
	r := abi.Reply{Outcome: abi.OutcomeTemporary, Error: capability + ": no host (a native build)"}
	if capability == abi.CapHTTP {
		return (&abi.HTTPResponse{Outcome: r.Outcome, Error: r.Error}).Marshal(nil)
	}
	return r.Marshal(nil)
}
