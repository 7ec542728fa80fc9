// Package policy is the default password policy, the original service's
// rules: 8 to 256 characters (counted in Unicode code points), at least one
// uppercase letter, one lowercase letter and one digit (ASCII, as the
// original validator's /^(?=.*[a-z])(?=.*[A-Z])(?=.*\d).*$/ reads them).
//
// It is a plain package so the same code runs natively (tests, benchmarks)
// and inside the plugin (../main.go).
package policy

import (
	"strconv"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/password"
)

// Length bounds, in characters.
const (
	MinLength = 8
	MaxLength = 256
)

// Reason codes, in the order the checks run.
const (
	CodeTooShort    = "PASSWORD_TOO_SHORT"
	CodeTooLong     = "PASSWORD_TOO_LONG"
	CodeNoUppercase = "PASSWORD_NO_UPPERCASE"
	CodeNoLowercase = "PASSWORD_NO_LOWERCASE"
	CodeNoDigit     = "PASSWORD_NO_DIGIT"
)

// Messages of the composition rules (the API's contract: do not change).
const (
	MsgNoUppercase = "Password must contain at least one uppercase character"
	MsgNoLowercase = "Password must contain at least one lowercase character"
	MsgNoDigit     = "Password must contain at least one digit"
)

// Info is the plugin's descriptor information.
var Info = sdk.Info{
	ID:          "password.default",
	Name:        "Default password policy",
	Version:     "1.0.0",
	Description: "8 to 256 characters with at least one uppercase letter, one lowercase letter and one digit.",
	Codes:       []string{CodeTooShort, CodeTooLong, CodeNoUppercase, CodeNoLowercase, CodeNoDigit},
}

// Policy is the default policy. The zero value is ready.
type Policy struct{}

var _ password.Policy = Policy{}

// Check implements password.Policy: every rule that fails, in order (length,
// uppercase, lowercase, digit).
func (Policy) Check(req *password.Request) []sdk.Reason {
	field := req.Field
	if field == "" {
		field = "password"
	}
	var rs []sdk.Reason
	switch n := utf8.RuneCountInString(req.Password); {
	case n < MinLength:
		rs = append(rs, sdk.Reason{Code: CodeTooShort, Message: "body/" + field + " must NOT have fewer than " + strconv.Itoa(MinLength) + " characters"})
	case n > MaxLength:
		rs = append(rs, sdk.Reason{Code: CodeTooLong, Message: "body/" + field + " must NOT have more than " + strconv.Itoa(MaxLength) + " characters"})
	}
	var upper, lower, digit bool
	for i := 0; i < len(req.Password); i++ {
		switch c := req.Password[i]; {
		case 'A' <= c && c <= 'Z':
			upper = true
		case 'a' <= c && c <= 'z':
			lower = true
		case '0' <= c && c <= '9':
			digit = true
		}
	}
	if !upper {
		rs = append(rs, sdk.Reason{Code: CodeNoUppercase, Message: MsgNoUppercase})
	}
	if !lower {
		rs = append(rs, sdk.Reason{Code: CodeNoLowercase, Message: MsgNoLowercase})
	}
	if !digit {
		rs = append(rs, sdk.Reason{Code: CodeNoDigit, Message: MsgNoDigit})
	}
	return rs
}
