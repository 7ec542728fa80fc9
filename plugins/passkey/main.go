// Command passkey is the first-party passkey plugin ("twofactor.passkey"),
// served at /user/2fa/passkey: WebAuthn registration and assertion as a
// second factor. Build it with `make plugins`; the method is in ./passkey.
package main

import (
	"github.com/gatehouse/gatehouse/plugins/passkey/passkey"
	"github.com/gatehouse/gatehouse/sdk/twofactor"
)

func init() { twofactor.Register(passkey.Info, passkey.MethodInfo, passkey.NewMethod()) }

func main() {}
