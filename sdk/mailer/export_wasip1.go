//go:build wasip1

package mailer

import (
	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/internal/guest"
)

//go:wasmexport gatehouse_mailer_deliver
func exportDeliver(inLen int32) int32 {
	return guest.Call(inLen, func(in, out []byte) (abi.Status, []byte) {
		return guest.Dispatch(abi.HookMailerDeliver, in, out)
	})
}
