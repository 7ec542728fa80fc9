//go:build !wasip1

package outbox

import (
	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/internal/guest"
)

func call(req []byte) []byte { return guest.NativeCall(abi.CapOutbox, req) }
