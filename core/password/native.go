package password

import (
	"context"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// DefaultRules is the original service's password rule set, compiled natively: 8 to 256
// characters, at least one uppercase, one lowercase and one digit. It serves until the
// password.default plugin is loaded, and as the baseline of the plugin benchmarks.
type DefaultRules struct{}

var _ Policy = DefaultRules{}

// Check implements Policy.
func (DefaultRules) Check(_ context.Context, c Candidate) (Verdict, error) {
	refuse := func(msg string) (Verdict, error) { return Verdict{Reasons: []string{msg}}, nil }
	n := utf8.RuneCountInString(c.Password)
	switch {
	case n < 8:
		return refuse(fmt.Sprintf("body/%s must NOT have fewer than 8 characters", c.Field))
	case n > 256:
		return refuse(fmt.Sprintf("body/%s must NOT have more than 256 characters", c.Field))
	}
	var upper, lower, digit bool
	for _, r := range c.Password {
		switch {
		case r >= 'A' && r <= 'Z' || unicode.IsUpper(r):
			upper = true
		case r >= 'a' && r <= 'z' || unicode.IsLower(r):
			lower = true
		case r >= '0' && r <= '9':
			digit = true
		}
	}
	switch {
	case !upper:
		return refuse("Password must contain at least one uppercase character")
	case !lower:
		return refuse("Password must contain at least one lowercase character")
	case !digit:
		return refuse("Password must contain at least one digit")
	}
	return Verdict{Accepted: true}, nil
}
