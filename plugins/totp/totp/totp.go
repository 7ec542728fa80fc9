// Package totp is the TOTP method of the first-party plugin twofactor.totp:
// RFC 6238 (HOTP of RFC 4226 with HMAC-SHA1, 6 digits, 30 s steps, a window
// of one step either side), a 160-bit secret from the cryptographic random
// source, and the otpauth URL of the API spec (the core renders its QR code).
// An accepted code's replay key is its time step, which the host refuses a
// second time.
//
// The HMAC-SHA1 is the host's native one (sdk/hostcrypto, the crypto
// capability, which the server grants twofactor.totp): compiled into the
// guest, the three HMACs of a verify ran about 60 times slower under the
// host's deadline checks than natively. The HOTP truncation around it is
// RFC 4226's; the tests check every code against pquerna/otp.
//
// It is a plain package so the same code runs natively (tests, benchmarks,
// where sdk/hostcrypto computes with crypto/hmac) and inside the plugin
// (../main.go), where crypto/rand reads the host's cryptographic source
// through WASI.
package totp

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/hostcrypto"
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
	return &twofactor.Result{State: []byte(secret), Secret: secret, URI: URL(req.ServiceName, req.Email, secret)}, nil
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

// Match checks code against the steps around now and returns the step it
// matches. Every candidate is computed and compared in constant time. A
// secret that is not base32 matches nothing.
func Match(secret, code string, now time.Time) (uint64, bool) {
	if len(code) != Digits {
		return 0, false
	}
	key, ok := decodeSecret(secret)
	if !ok {
		return 0, false
	}
	current := uint64(now.Unix()) / Period
	var matched uint64
	found := 0
	var want [Digits]byte
	for step := current - Skew; step <= current+Skew; step++ {
		HOTP(want[:], key, step)
		if subtle.ConstantTimeCompare(want[:], []byte(code)) == 1 {
			matched, found = step, 1
		}
	}
	return matched, found == 1
}

// decodeSecret reads a base32 secret as authenticator apps and pquerna/otp
// do: surrounding space trimmed, padding optional, either case.
func decodeSecret(secret string) ([]byte, bool) {
	secret = strings.TrimSpace(secret)
	if n := len(secret) % 8; n != 0 {
		secret += strings.Repeat("=", 8-n)
	}
	key, err := base32.StdEncoding.DecodeString(strings.ToUpper(secret))
	return key, err == nil
}

// HOTP writes the RFC 4226 code of counter under key into code (its length
// is the number of digits, at most 9): the host's HMAC-SHA1 of the counter
// as 8 big-endian bytes, dynamically truncated to 31 bits, in decimal with
// leading zeros.
func HOTP(code, key []byte, counter uint64) {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	var buf [20]byte
	sum := hostcrypto.AppendHMAC(buf[:0], hostcrypto.SHA1, key, msg[:])
	offset := sum[len(sum)-1] & 0xf
	value := binary.BigEndian.Uint32(sum[offset:offset+4]) & 0x7fffffff
	for i := len(code) - 1; i >= 0; i-- {
		code[i] = byte('0' + value%10)
		value /= 10
	}
}
