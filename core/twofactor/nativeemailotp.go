package twofactor

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"time"

	"github.com/gatehouse/gatehouse/core/otp"
)

// EmailOTPInfo is the description of the email-otp method, with the spec's message codes.
// Email is a weaker channel than an authenticator app (NIST SP 800-63B), and says so.
var EmailOTPInfo = Info{
	ID:          "email-otp",
	SummaryKey:  "emailOtp",
	CodeField:   "otp",
	CodeLength:  6,
	SetupFields: []string{"email"},
	Challenges:  true,
	Weak:        true,
	Codes: Codes{
		Invalid:         "OTP_INVALID_EXPIRED",
		Uninitialized:   "EMAIL_OTP_UNINITIALIZED",
		Inactive:        "EMAIL_OTP_INACTIVE",
		AlreadyInactive: "EMAIL_OTP_ALREADY_INACTIVE",
		TooMany:         "TOO_MANY_EMAIL_OTP_CHECKS",
		TooManySends:    "TOO_MANY_OTP_EMAILS",
		Corrupt:         "EMAIL_OTP_CORRUPT",
	},
}

// NativeEmailOTP is the email OTP method compiled into the server: a 6-digit code from the
// cryptographic source, single use, valid 10 minutes, dead after 5 wrong tries; a new send
// replaces the previous code.
type NativeEmailOTP struct{}

var _ Method = NativeEmailOTP{}

type emailOTPState struct {
	Email     string    `json:"email"`
	Code      string    `json:"code,omitempty"`
	ExpiresAt time.Time `json:"expiresAt,omitempty"`
	Tries     int       `json:"tries,omitempty"`
}

// Info implements Method.
func (NativeEmailOTP) Info() Info { return EmailOTPInfo }

func (NativeEmailOTP) send(st emailOTPState, now time.Time, template string) (Result, error) {
	code, err := otp.Generate()
	if err != nil {
		return Result{}, err
	}
	st.Code, st.ExpiresAt, st.Tries = code, now.Add(otp.Lifetime), 0
	state, err := json.Marshal(st)
	if err != nil {
		return Result{}, err
	}
	return Result{State: state, Messages: []Message{{Template: template, To: st.Email,
		Vars: map[string]string{"Code": code, "ExpiresMinutes": "10"}}}}, nil
}

// Enroll implements Method: a code to the address in the setup body.
func (m NativeEmailOTP) Enroll(_ context.Context, req Request) (Result, error) {
	return m.send(emailOTPState{Email: req.Params["email"]}, req.Now, "email-otp-setup")
}

// Challenge implements Method: a new code to the active address.
func (m NativeEmailOTP) Challenge(_ context.Context, req Request) (Result, error) {
	var st emailOTPState
	if err := json.Unmarshal(req.State, &st); err != nil {
		return Result{}, err
	}
	return m.send(st, req.Now, "email-otp-challenge")
}

// Activate implements Method.
func (m NativeEmailOTP) Activate(ctx context.Context, req Request) (Result, error) {
	return m.Verify(ctx, req)
}

// Verify implements Method. A wrong code counts a try; the fifth kills the code.
func (NativeEmailOTP) Verify(_ context.Context, req Request) (Result, error) {
	var st emailOTPState
	if err := json.Unmarshal(req.State, &st); err != nil {
		return Result{}, err
	}
	ok := st.Code != "" && st.Tries < otp.MaxTries && req.Now.Before(st.ExpiresAt) &&
		subtle.ConstantTimeCompare([]byte(st.Code), []byte(req.Code)) == 1
	if !ok {
		st.Tries++
		if st.Tries >= otp.MaxTries {
			st.Code = ""
		}
	} else {
		st.Code, st.Tries, st.ExpiresAt = "", 0, time.Time{}
	}
	state, err := json.Marshal(st)
	if err != nil {
		return Result{}, err
	}
	return Result{Denied: !ok, State: state, Public: map[string]string{"email": st.Email}}, nil
}
