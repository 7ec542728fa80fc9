//go:build !wasip1

package smtp

import (
	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/internal/guest"
)

func call(req []byte) []byte { return guest.NativeCall(abi.CapSMTP, req) }
