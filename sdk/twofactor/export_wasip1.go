//go:build wasip1

package twofactor

import (
	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/internal/guest"
)

// Go cannot export conditionally: challenge is always exported, and the host
// calls only the hooks the descriptor declares.

//go:wasmexport gatehouse_twofactor_enroll
func exportEnroll(inLen int32) int32 { return dispatch(abi.HookTwoFactorEnroll, inLen) }

//go:wasmexport gatehouse_twofactor_activate
func exportActivate(inLen int32) int32 { return dispatch(abi.HookTwoFactorActivate, inLen) }

//go:wasmexport gatehouse_twofactor_challenge
func exportChallenge(inLen int32) int32 { return dispatch(abi.HookTwoFactorChallenge, inLen) }

//go:wasmexport gatehouse_twofactor_verify
func exportVerify(inLen int32) int32 { return dispatch(abi.HookTwoFactorVerify, inLen) }

func dispatch(hook string, inLen int32) int32 {
	return guest.Call(inLen, func(in, out []byte) (abi.Status, []byte) { return guest.Dispatch(hook, in, out) })
}
