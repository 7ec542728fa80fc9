// Package totp is the TOTP method of the first-party plugin twofactor.totp:
// RFC 6238 with pquerna/otp's HOTP (HMAC-SHA1, 6 digits, 30 s steps, a window
// of one step either side), a 160-bit secret from the cryptographic random
// source, and the otpauth URL of the API spec (the core renders its QR code).
// An accepted code's replay key is its time step, which the host refuses a
// second time.
//
// It is a plain package so the same code runs natively (tests, benchmarks)
// and inside the plugin (../main.go), where crypto/rand reads the host's
// cryptographic source through WASI.
package totp

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"net/url"
	"strconv"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"

	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/twofactor"
)

// Parameters of RFC 6238 as the API spec fixes them.
const (
	Digits = 6
	Period = 30 // seconds
	Skew   = 1  // steps accepted either side of the current one
)

// Reason codes.
const (
	// CodeInvalid denies a wrong code; it is also the API's 401 message code.
	CodeInvalid = "TOTP_INVALID"
	// MsgInvalid is its sentence.
	MsgInvalid = "Invalid TOTP code"
)

// Info is the plugin's descriptor information.
var Info = sdk.Info{
	ID:          "twofactor.totp",
	Name:        "TOTP",
	Version:     "1.0.0",
	Description: "Time-based one-time passwords (RFC 6238: SHA1, 6 digits, 30 s, one step either side) from an authenticator app.",
	Codes:       []string{CodeInvalid},
}

// MethodInfo is the method's routes, body and message codes: /user/2fa/totp,
// {"totp": "123456"}, and the TOTP_* codes of the spec.
var MethodInfo = twofactor.MethodInfo{
	SummaryKey:   "totp",
	CodeField:    "totp",
	CodeLength:   Digits,
	CodePrefix:   "TOTP",
	ReplayWindow: 3 * time.Minute, // a step's code is accepted for at most 90 s
}

// Method is the TOTP method. The zero value is ready. Its state is the
// base32 secret.
type Method struct{}

var _ twofactor.Method = Method{}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// URL is the otpauth URL of the API spec, parameters in the spec's order:
// otpauth://totp/<issuer>:<account>?secret=...&issuer=...&algorithm=SHA1&digits=6&period=30.
func URL(issuer, account, secret string) string {
	label := url.PathEscape(issuer) + ":" + url.PathEscape(account)
	return "otpauth://totp/" + label + "?secret=" + secret + "&issuer=" + url.QueryEscape(issuer) +
		"&algorithm=SHA1&digits=6&period=30"
}

// Enroll implements twofactor.Method: a new 160-bit secret and its URL.
func (Method) Enroll(req *twofactor.Request) (*twofactor.Result, error) {
	var raw [20]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, err
	}
	secret := b32.EncodeToString(raw[:])
	return &twofactor.Result{State: []byte(secret), URI: URL(req.ServiceName, req.Email, secret)}, nil
}

// Activate implements twofactor.Method: the first code, checked as Verify does.
func (m Method) Activate(req *twofactor.Request) (*twofactor.Result, error) { return m.Verify(req) }

// Verify implements twofactor.Method: the code of the current step or one
// either side; the replay key is the matched step.
func (Method) Verify(req *twofactor.Request) (*twofactor.Result, error) {
	step, ok := Match(string(req.State), req.Code, req.Now)
	if !ok {
		return &twofactor.Result{Reasons: []sdk.Reason{{Code: CodeInvalid, Message: MsgInvalid}}}, nil
	}
	return &twofactor.Result{ReplayKey: strconv.FormatUint(step, 10)}, nil
}

var opts = hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// Match checks code against the steps around now and returns the step it
// matches. Every candidate is computed and compared in constant time. A
// secret that is not base32 matches nothing.
func Match(secret, code string, now time.Time) (uint64, bool) {
	if len(code) != Digits {
		return 0, false
	}
	current := uint64(now.Unix()) / Period
	var matched uint64
	found := 0
	for step := current - Skew; step <= current+Skew; step++ {
		want, err := hotp.GenerateCodeCustom(secret, step, opts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			matched, found = step, 1
		}
	}
	return matched, found == 1
}
