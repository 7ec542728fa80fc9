package twofactor

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"net/url"
	"strconv"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
)

// NativeTOTP is RFC 6238 TOTP (SHA1, 6 digits, 30 s, ±1 step) compiled into the server. The
// totp plugin is the method the server runs; this is the same method natively, the baseline of
// the plugin benchmarks and the reference of the plugin's tests.
type NativeTOTP struct{}

var _ Method = NativeTOTP{}

// TOTPInfo is the description of the totp method, with the spec's message codes.
var TOTPInfo = Info{
	ID:           "totp",
	SummaryKey:   "totp",
	CodeField:    "totp",
	CodeLength:   6,
	ReplayWindow: 3 * time.Minute,
	Codes:        DefaultCodes("TOTP"),
}

// Info implements Method.
func (NativeTOTP) Info() Info { return TOTPInfo }

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// TOTPURL is the otpauth URL of spec section 5, parameters in the spec's order.
func TOTPURL(issuer, account, secret string) string {
	label := url.PathEscape(issuer) + ":" + url.PathEscape(account)
	return "otpauth://totp/" + label + "?secret=" + secret + "&issuer=" + url.QueryEscape(issuer) +
		"&algorithm=SHA1&digits=6&period=30"
}

// Enroll implements Method: a new 160-bit secret; the state is its base32 form.
func (NativeTOTP) Enroll(_ context.Context, req Request) (Result, error) {
	raw := make([]byte, 20)
	if _, err := rand.Read(raw); err != nil {
		return Result{}, err
	}
	secret := b32.EncodeToString(raw)
	return Result{State: []byte(secret), Secret: secret, URI: TOTPURL(req.ServiceName, req.Email, secret)}, nil
}

// Activate implements Method.
func (t NativeTOTP) Activate(ctx context.Context, req Request) (Result, error) {
	return t.Verify(ctx, req)
}

// Challenge implements Method; TOTP sends nothing.
func (NativeTOTP) Challenge(context.Context, Request) (Result, error) {
	return Result{Denied: true}, nil
}

// Verify implements Method: the code of the current step or one either side; the replay key is
// the matched step.
func (NativeTOTP) Verify(_ context.Context, req Request) (Result, error) {
	step, ok := MatchTOTP(string(req.State), req.Code, req.Now)
	if !ok {
		return Result{Denied: true}, nil
	}
	return Result{ReplayKey: strconv.FormatUint(step, 10)}, nil
}

// MatchTOTP checks code against the steps around now and returns the matching step. Every
// candidate is computed and compared in constant time.
func MatchTOTP(secret, code string, now time.Time) (uint64, bool) {
	if len(code) != 6 {
		return 0, false
	}
	current := uint64(now.Unix()) / 30
	var matched uint64
	found := 0
	for _, step := range []uint64{current - 1, current, current + 1} {
		want, err := hotp.GenerateCodeCustom(secret, step, hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			matched, found = step, 1
		}
	}
	return matched, found == 1
}
