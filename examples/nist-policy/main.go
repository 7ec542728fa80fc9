// Command nist-policy is an example password-policy plugin written as a third
// party would write one with the Gatehouse SDK. It follows NIST SP 800-63B
// section 3.1.1.2: a minimum length (8 by default, configurable up to 64),
// a maximum of 256 (at least 64 must be allowed), no composition rules, and
// refusal of passwords that are common (the 10,000 most common of
// @zxcvbn-ts/language-common, MIT, see LICENSE-common-passwords.txt), made of
// one repeated character, or built from context words (the email's local
// part, the service's name).
//
// Build:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o nist-policy.wasm .
//
// Configuration (optional): {"minLength": 12}
package main

import (
	_ "embed"
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/password"
)

//go:embed common-passwords.txt
var commonList string

// Reason codes.
const (
	CodeTooShort   = "NIST_TOO_SHORT"
	CodeTooLong    = "NIST_TOO_LONG"
	CodeCommon     = "NIST_COMMON"
	CodeRepetitive = "NIST_REPETITIVE"
	CodeContext    = "NIST_CONTEXT"
	CodeBadConfig  = "NIST_BAD_CONFIG"
)

const (
	defaultMinLength = 8
	maxLength        = 256
	minContextWord   = 3
)

var info = sdk.Info{
	ID:          "password.nist",
	Name:        "NIST SP 800-63B password policy (example)",
	Version:     "1.0.0",
	Description: "Length 8 (configurable) to 256, no composition rules, a blocklist of 10,000 common passwords, no repeated single character, no context words.",
	Codes:       []string{CodeTooShort, CodeTooLong, CodeCommon, CodeRepetitive, CodeContext},
	ConfigSchema: `{"type":"object","properties":{"minLength":{"type":"integer","minimum":8,"maximum":64,"default":8}},` +
		`"additionalProperties":false}`,
}

// policy is the plugin. Its configuration is set once per instance by
// Configure, before any check.
type policy struct {
	minLength int
	common    map[string]struct{}
}

var (
	_ password.Policy = (*policy)(nil)
	_ sdk.Configurer  = (*policy)(nil)
)

func newPolicy() *policy {
	p := &policy{minLength: defaultMinLength, common: make(map[string]struct{}, 10000)}
	for line := range strings.Lines(commonList) {
		if w := strings.TrimSpace(line); w != "" {
			p.common[w] = struct{}{}
		}
	}
	return p
}

// Configure implements sdk.Configurer.
func (p *policy) Configure(config []byte) []sdk.Reason {
	if len(config) == 0 {
		return nil
	}
	var c struct {
		MinLength *int `json:"minLength"`
	}
	dec := json.NewDecoder(strings.NewReader(string(config)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return []sdk.Reason{{Code: CodeBadConfig, Message: "config: " + err.Error()}}
	}
	if c.MinLength != nil {
		if *c.MinLength < 8 || *c.MinLength > 64 {
			return []sdk.Reason{{Code: CodeBadConfig, Message: "config: minLength must be between 8 and 64"}}
		}
		p.minLength = *c.MinLength
	}
	return nil
}

// Check implements password.Policy.
func (p *policy) Check(req *password.Request) []sdk.Reason {
	n := utf8.RuneCountInString(req.Password)
	if n < p.minLength {
		return []sdk.Reason{{Code: CodeTooShort, Message: "Password must have at least " + itoa(p.minLength) + " characters"}}
	}
	if n > maxLength {
		return []sdk.Reason{{Code: CodeTooLong, Message: "Password must have at most " + itoa(maxLength) + " characters"}}
	}
	lower := strings.ToLower(req.Password)
	if _, ok := p.common[lower]; ok {
		return []sdk.Reason{{Code: CodeCommon, Message: "Password is too common"}}
	}
	if repetitive(lower) {
		return []sdk.Reason{{Code: CodeRepetitive, Message: "Password must not be one repeated character"}}
	}
	for _, w := range contextWords(req) {
		if strings.Contains(lower, w) {
			return []sdk.Reason{{Code: CodeContext, Message: "Password must not contain your email address or the service name"}}
		}
	}
	return nil
}

func repetitive(s string) bool {
	first, _ := utf8.DecodeRuneInString(s)
	for _, r := range s {
		if r != first {
			return false
		}
	}
	return true
}

// contextWords are the lower-cased email local part and service name, and
// their alphanumeric words, of at least minContextWord characters.
func contextWords(req *password.Request) []string {
	var words []string
	add := func(s string) {
		s = strings.ToLower(s)
		if utf8.RuneCountInString(s) >= minContextWord {
			words = append(words, s)
		}
		for _, f := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			if f != s && utf8.RuneCountInString(f) >= minContextWord {
				words = append(words, f)
			}
		}
	}
	if local, _, ok := strings.Cut(req.Email, "@"); ok {
		add(local)
	}
	add(req.ServiceName)
	return words
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

func init() { password.Register(info, newPolicy()) }

func main() {}
