//go:build !wasip1

package httpconn

import (
	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/internal/guest"
)

func call(req []byte) []byte { return guest.NativeCall(abi.CapHTTP, req) }
