//go:build wasip1

package httpconn

import (
	"unsafe"

	"github.com/gatehouse/gatehouse/sdk/internal/guest"
)

//go:wasmimport gatehouse_http_v1 request
func send(req unsafe.Pointer, n uint32) uint32

//go:wasmimport gatehouse_http_v1 reply_read
func replyRead(buf unsafe.Pointer, limit uint32) uint32

func call(req []byte) []byte { return guest.TransportCall(req, send, replyRead) }
