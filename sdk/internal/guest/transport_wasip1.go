//go:build wasip1

package guest

import "unsafe"

// TransportCall runs a transport capability function (send) on req and
// fetches its reply with the module's reply_read (read). Each capability
// package declares its own imports, so a plugin imports only the modules it
// uses.
func TransportCall(req []byte, send, read func(unsafe.Pointer, uint32) uint32) []byte {
	n := send(unsafe.Pointer(unsafe.SliceData(req)), uint32(len(req)))
	reply := make([]byte, n)
	if n > 0 {
		read(unsafe.Pointer(unsafe.SliceData(reply)), n)
	}
	return reply
}
