// Package cpolicy_test tests the C plugin's committed plugin/policy.wasm in the real
// host: the ABI is language-neutral. Rebuild the .wasm with `make plugins-c`.
package cpolicy_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

func TestCPolicy(t *testing.T) {
	const wasm = "plugin/policy.wasm"
	sdktest.Conformance(t, wasm)
	refused := []string{"REPEATED_CHARACTERS"}
	sdktest.RunPassword(t, wasm, []sdktest.PasswordCase{
		{Name: "fine", Password: "abcabcabc"},
		{Name: "three in a row", Password: "xaaax"},
		{Name: "four in a row", Password: "xaaaax", Codes: refused,
			Messages: []string{"Password must not repeat a character more than 3 times in a row"}},
		{Name: "with other fields set", Password: "1111", Email: "a@b.c", ServiceName: "svc", Codes: refused},
		{Name: "empty", Password: ""},
	})
}
