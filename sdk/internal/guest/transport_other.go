//go:build !wasip1

package guest

// NativeCall answers a transport capability call in a native build, through
// NativeTransport.
func NativeCall(capability string, req []byte) []byte { return nativeTransport(capability, req) }
