package main

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

// The same cases run natively (the policy registered by this package's init)
// and as the built .wasm in the real host.
func TestPolicy(t *testing.T) {
	wasm := sdktest.Build(t, ".")
	sdktest.Conformance(t, wasm)
	sdktest.RunPassword(t, wasm, []sdktest.PasswordCase{
		{Name: "long passphrase", Password: "correct horse battery staple"},
		{Name: "no composition rules", Password: "lowercaseonlybutlong"},
		{Name: "7 characters", Password: "abcdefg", Codes: []string{CodeTooShort}, Messages: []string{"Password must have at least 8 characters"}},
		{Name: "64 characters are allowed", Password: strings.Repeat("ab", 32)},
		{Name: "257 characters", Password: strings.Repeat("ab", 128) + "c", Codes: []string{CodeTooLong}},
		{Name: "common", Password: "password1", Codes: []string{CodeCommon}},
		{Name: "common, any case", Password: "PassWord1", Codes: []string{CodeCommon}},
		{Name: "repetitive", Password: "zzzzzzzzzzzz", Codes: []string{CodeRepetitive}},
		{Name: "email local part", Password: "xx-jane.doe-2024", Email: "jane.doe@example.com", Codes: []string{CodeContext}},
		{Name: "a word of the email", Password: "my-doe-secret!", Email: "jane.doe@example.com", Codes: []string{CodeContext}},
		{Name: "service name", Password: "Acme Portal 4ever", ServiceName: "Acme Portal", Codes: []string{CodeContext}},
		{Name: "unrelated to context", Password: "violet tractor umbrella", Email: "jane.doe@example.com", ServiceName: "Acme"},
	})
}

func TestConfigure(t *testing.T) {
	tests := []struct {
		name, config string
		ok           bool
	}{
		{"none", "", true},
		{"min 12", `{"minLength": 12}`, true},
		{"too small", `{"minLength": 4}`, false},
		{"unknown field", `{"maxLength": 4}`, false},
		{"not JSON", `{`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPolicy()
			if got := p.Configure([]byte(tt.config)); (len(got) == 0) != tt.ok {
				t.Fatalf("Configure(%s) = %v", tt.config, got)
			}
		})
	}
}
