// Command password-echo is a fixture of host's request-id tests: a password policy
// ("password.echo") that logs the request id it was given and refuses every password with a
// reason naming it, so a test sees what reached the plugin and what its log line carries. The
// tests build it with sdktest.Build (testdata is outside `./...`).
package main

import (
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/password"
)

type policy struct{}

// Check implements password.Policy.
func (policy) Check(req *password.Request) []sdk.Reason {
	sdk.Log(abi.LevelInfo, "echo: checked a password")
	return []sdk.Reason{{Code: "ECHO", Message: "request=" + req.RequestID}}
}

func init() {
	password.Register(sdk.Info{ID: "password.echo", Name: "echo", Version: "0.0.1", Codes: []string{"ECHO"}}, policy{})
}

func main() {}
