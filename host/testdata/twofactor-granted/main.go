// Command twofactor-granted is a fixture of the server's and the black-box tests: a twofactor
// plugin ("twofactor.keyed", served at /user/2fa/keyed) that imports the crypto capability, so
// it loads only when the operator grants it crypto (GATEHOUSE_PLUGIN_GRANTS=twofactor.keyed=crypto).
// Without the grant it describes itself and then fails to load: the server answers its routes
// with 503 PLUGIN_UNAVAILABLE. The code is always "123456"; enroll returns a secret for manual
// entry.
package main

import (
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/hostcrypto"
	"github.com/gatehouse/gatehouse/sdk/twofactor"
)

type method struct{}

func (method) Enroll(req *twofactor.Request) (*twofactor.Result, error) {
	state := hostcrypto.HMAC(hostcrypto.SHA256, []byte("fixture"), []byte(req.UserID))
	return &twofactor.Result{State: state, Secret: "KEYEDSECRET", URI: "otpauth://totp/Keyed:" + req.Email + "?secret=KEYEDSECRET"}, nil
}

func (method) Activate(req *twofactor.Request) (*twofactor.Result, error) { return check(req), nil }

func (method) Verify(req *twofactor.Request) (*twofactor.Result, error) { return check(req), nil }

func check(req *twofactor.Request) *twofactor.Result {
	if req.Code != "123456" {
		return &twofactor.Result{Reasons: []sdk.Reason{{Code: "KEYED_INVALID", Message: "wrong code"}}}
	}
	return &twofactor.Result{}
}

func init() {
	twofactor.Register(sdk.Info{ID: "twofactor.keyed", Name: "Keyed", Version: "0.0.1", Codes: []string{"KEYED_INVALID"}},
		twofactor.MethodInfo{CodeLength: 6}, method{})
}

func main() {}
