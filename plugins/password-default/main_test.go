package main

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/plugins/password-default/policy"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

// The spec's rules and messages, natively and as the built .wasm.
func TestDefaultPolicy(t *testing.T) {
	wasm := sdktest.Build(t, ".")
	sdktest.Conformance(t, wasm)
	short := "body/newPassword must NOT have fewer than 8 characters"
	long := "body/newPassword must NOT have more than 256 characters"
	sdktest.RunPassword(t, wasm, []sdktest.PasswordCase{
		{Name: "good", Password: "GoodPassw0rd", Field: "newPassword"},
		{Name: "too short", Password: "Ab1", Field: "newPassword", Codes: []string{policy.CodeTooShort}, Messages: []string{short}},
		{Name: "too long", Password: "Ab1" + strings.Repeat("c", 254), Field: "newPassword", Codes: []string{policy.CodeTooLong}, Messages: []string{long}},
		{Name: "256 multibyte", Password: "Ab1" + strings.Repeat("ü", 253), Field: "newPassword"},
		{Name: "no uppercase", Password: "password1", Codes: []string{policy.CodeNoUppercase}, Messages: []string{policy.MsgNoUppercase}},
		{Name: "no lowercase", Password: "PASSWORD1", Codes: []string{policy.CodeNoLowercase}, Messages: []string{policy.MsgNoLowercase}},
		{Name: "no digit", Password: "Password", Codes: []string{policy.CodeNoDigit}, Messages: []string{policy.MsgNoDigit}},
		{Name: "order", Password: "", Field: "password", Codes: []string{policy.CodeTooShort, policy.CodeNoUppercase, policy.CodeNoLowercase, policy.CodeNoDigit},
			Messages: []string{"body/password must NOT have fewer than 8 characters", policy.MsgNoUppercase, policy.MsgNoLowercase, policy.MsgNoDigit}},
	})
}
