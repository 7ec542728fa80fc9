//go:build wasip1

package password

import (
	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/internal/guest"
)

//go:wasmexport gatehouse_password_check
func exportCheck(inLen int32) int32 {
	return guest.Call(inLen, func(in, out []byte) (abi.Status, []byte) {
		return guest.Dispatch(abi.HookPasswordCheck, in, out)
	})
}
