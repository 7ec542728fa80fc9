// Command totp is the first-party TOTP plugin ("twofactor.totp"), served at
// /user/2fa/totp. Build it with `make plugins`; the method is in ./totp.
package main

import (
	"github.com/gatehouse/gatehouse/plugins/totp/totp"
	"github.com/gatehouse/gatehouse/sdk/twofactor"
)

func init() { twofactor.Register(totp.Info, totp.MethodInfo, totp.Method{}) }

func main() {}
