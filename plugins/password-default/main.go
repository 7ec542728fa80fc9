// Command password-default is the first-party default password policy
// plugin ("password.default"). Build it with `make plugins`; the rules are in
// ./policy.
package main

import (
	"github.com/gatehouse/gatehouse/plugins/password-default/policy"
	"github.com/gatehouse/gatehouse/sdk/password"
)

func init() { password.Register(policy.Info, policy.Policy{}) }

func main() {}
