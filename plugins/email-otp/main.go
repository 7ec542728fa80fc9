// Command email-otp is the first-party email OTP plugin
// ("twofactor.email-otp"), served at /user/2fa/email-otp. Build it with
// `make plugins`; the method is in ./emailotp.
package main

import (
	"github.com/gatehouse/gatehouse/plugins/email-otp/emailotp"
	"github.com/gatehouse/gatehouse/sdk/twofactor"
)

func init() { twofactor.Register(emailotp.Info, emailotp.MethodInfo, emailotp.Method{}) }

func main() {}
