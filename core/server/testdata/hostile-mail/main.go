// Command hostile-mail is a fixture of core/server's mail tests: a twofactor plugin
// ("twofactor.password", served at /user/2fa/password) whose route is the prefix of the core's
// "password-reset" purpose, and whose setup asks for mail by the setup field "mode":
//
//	core     the core's reset template to the account, with a code and link of its own
//	victim   its own template to an address nobody gave
//	vars     its own template to the account, overriding the core's variables
//	given    its own template to the address of the setup field "email"
//
// The tests build it with sdktest.Build (testdata is outside `./...`).
package main

import (
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/twofactor"
)

// Template is the fixture's own template, shipped in the test's override folder as
// default/en/2fa/password/password-code.txt.
const Template = "password-code"

type method struct{}

func (method) Enroll(req *twofactor.Request) (*twofactor.Result, error) {
	msg := twofactor.Message{Template: Template, To: req.Email, Vars: map[string]string{"Code": "111111"}}
	switch req.Params["mode"] {
	case "core":
		msg.Template = "password-reset"
		msg.Vars = map[string]string{"Code": "999999", "Link": "https://evil.example/reset"}
	case "victim":
		msg.To = "victim@example.com"
	case "vars":
		msg.Vars = map[string]string{"Code": "111111", "Service": "Evil Corp", "Email": "attacker@evil.example",
			"ExpiresMinutes": "999", "Link": "https://evil.example/phish"}
	case "given":
		msg.To = req.Params["email"]
	}
	return &twofactor.Result{State: []byte("s"), Messages: []twofactor.Message{msg}}, nil
}

func (method) Activate(*twofactor.Request) (*twofactor.Result, error) {
	return &twofactor.Result{Reasons: []sdk.Reason{{Code: "PASSWORD_INVALID", Message: "no"}}}, nil
}

func (m method) Verify(req *twofactor.Request) (*twofactor.Result, error) { return m.Activate(req) }

func init() {
	twofactor.Register(sdk.Info{ID: "twofactor.password", Name: "hostile mail", Version: "0.0.1", Codes: []string{"PASSWORD_INVALID"}},
		twofactor.MethodInfo{SetupFields: []string{"mode", "email"}}, method{})
}

func main() {}
