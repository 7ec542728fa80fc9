//go:build wasip1

package outbox

import (
	"unsafe"

	"github.com/gatehouse/gatehouse/sdk/internal/guest"
)

//go:wasmimport gatehouse_outbox_v1 write
func send(req unsafe.Pointer, n uint32) uint32

//go:wasmimport gatehouse_outbox_v1 reply_read
func replyRead(buf unsafe.Pointer, limit uint32) uint32

func call(req []byte) []byte { return guest.TransportCall(req, send, replyRead) }
