// Package emailotp is the email OTP method of the first-party plugin
// twofactor.email-otp, served at /user/2fa/email-otp: a 6-digit code from the
// cryptographic random source, mailed to the address given at setup, single
// use, valid 10 minutes, dead after 5 wrong tries; a new send replaces the
// previous code. Email is a weaker channel than an authenticator app (NIST SP
// 800-63B), and the method says so (MethodInfo.Weak).
//
// It is a plain package so the same code runs natively (tests, benchmarks)
// and inside the plugin (../main.go).
package emailotp

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/twofactor"
)

// Rules of the API spec, section 4.
const (
	Lifetime = 10 * time.Minute
	MaxTries = 5
	Digits   = 6
)

// Mail templates (the core ships them in every language).
const (
	TemplateSetup     = "email-otp-setup"
	TemplateChallenge = "email-otp-challenge"
)

// Reason codes.
const (
	// CodeInvalid denies a wrong, used, dead or expired code; it is also the
	// API's 401 message code.
	CodeInvalid = "OTP_INVALID_EXPIRED"
	// CodeNoAddress refuses a setup without an address (the core checks the
	// address before it calls, so only a misuse gets it).
	CodeNoAddress = "EMAIL_OTP_NO_ADDRESS"
)

// Info is the plugin's descriptor information.
var Info = sdk.Info{
	ID:          "twofactor.email-otp",
	Name:        "Email OTP",
	Version:     "1.0.0",
	Description: "6-digit codes mailed to an address confirmed at setup; valid 10 minutes, 5 tries. Weaker than an authenticator app.",
	Codes:       []string{CodeInvalid, CodeNoAddress},
}

// MethodInfo is the method's routes, bodies and the message codes of the
// spec's "User: 2FA" table.
var MethodInfo = twofactor.MethodInfo{
	SummaryKey:  "emailOtp",
	CodeField:   "otp",
	CodeLength:  Digits,
	SetupFields: []string{"email"},
	Weak:        true,
	CodePrefix:  "EMAIL_OTP",
	Codes: twofactor.Codes{
		Invalid:      CodeInvalid,
		Inactive:     "EMAIL_OTP_INACTIVE",
		TooManySends: "TOO_MANY_OTP_EMAILS",
	},
}

// Method is the email OTP method. The zero value is ready.
type Method struct{}

var (
	_ twofactor.Method     = Method{}
	_ twofactor.Challenger = Method{}
)

// state is the method's state for one user: the address and the pending
// code. The host keeps it sealed at rest.
type state struct {
	Email     string
	Code      string // "" when there is none pending
	ExpiresAt int64  // Unix nanoseconds
	Tries     int
}

// Encoded in the ABI's wire format: field 1 email, 2 code, 3 expiry, 4 tries.
func (s *state) marshal() []byte {
	var e abi.Encoder
	e.String(1, s.Email)
	e.String(2, s.Code)
	e.Int(3, s.ExpiresAt)
	e.Uint(4, uint64(s.Tries))
	return e.Bytes()
}

var errState = errors.New("emailotp: unreadable state")

func (s *state) unmarshal(b []byte) error {
	*s = state{}
	d := abi.NewDecoder(b)
	for d.Next() {
		switch d.Field() {
		case 1:
			s.Email = d.String()
		case 2:
			s.Code = d.String()
		case 3:
			s.ExpiresAt = d.Int()
		case 4:
			s.Tries = int(d.Uint())
		}
	}
	if d.Err() != nil || s.Email == "" {
		return errState
	}
	return nil
}

// Generate returns 6 decimal digits from the cryptographic source, without
// modulo bias.
func Generate() (string, error) {
	var b [4]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		if n := binary.BigEndian.Uint32(b[:]); n < 4_294_000_000 { // a multiple of 10^6
			s := strconv.FormatUint(uint64(n%1_000_000), 10)
			for len(s) < Digits {
				s = "0" + s
			}
			return s, nil
		}
	}
}

// send makes a new code (replacing any pending one) and the message that
// carries it.
func send(st state, now time.Time, template string) (*twofactor.Result, error) {
	code, err := Generate()
	if err != nil {
		return nil, err
	}
	st.Code, st.ExpiresAt, st.Tries = code, now.Add(Lifetime).UnixNano(), 0
	return &twofactor.Result{State: st.marshal(), Messages: []twofactor.Message{{Template: template, To: st.Email,
		Vars: map[string]string{"Code": code, "ExpiresMinutes": strconv.Itoa(int(Lifetime / time.Minute))}}}}, nil
}

// Enroll implements twofactor.Method: a code to the address of the setup
// body.
func (Method) Enroll(req *twofactor.Request) (*twofactor.Result, error) {
	email := req.Params["email"]
	if email == "" {
		return &twofactor.Result{Reasons: []sdk.Reason{{Code: CodeNoAddress, Message: "An email address is required"}}}, nil
	}
	return send(state{Email: email}, req.Now, TemplateSetup)
}

// Challenge implements twofactor.Challenger: a new code to the active
// address.
func (Method) Challenge(req *twofactor.Request) (*twofactor.Result, error) {
	var st state
	if err := st.unmarshal(req.State); err != nil {
		return nil, err
	}
	return send(st, req.Now, TemplateChallenge)
}

// Activate implements twofactor.Method: the code mailed at setup.
func (m Method) Activate(req *twofactor.Request) (*twofactor.Result, error) { return m.Verify(req) }

// Verify implements twofactor.Method. A right code is used up; a wrong one
// counts a try, and the fifth kills the code.
func (Method) Verify(req *twofactor.Request) (*twofactor.Result, error) {
	var st state
	if err := st.unmarshal(req.State); err != nil {
		return nil, err
	}
	ok := st.Code != "" && st.Tries < MaxTries && req.Now.UnixNano() < st.ExpiresAt &&
		subtle.ConstantTimeCompare([]byte(st.Code), []byte(req.Code)) == 1
	if ok {
		st.Code, st.Tries, st.ExpiresAt = "", 0, 0
	} else {
		st.Tries++
		if st.Tries >= MaxTries {
			st.Code = ""
		}
	}
	res := &twofactor.Result{State: st.marshal(), Public: map[string]string{"email": st.Email}}
	if !ok {
		res.Reasons = []sdk.Reason{{Code: CodeInvalid, Message: "Invalid or expired code"}}
	}
	return res, nil
}
