// Command hotp is an example second-factor plugin written as a third party
// would write one with the Gatehouse SDK: HOTP (RFC 4226), counter-based
// one-time passwords from a hardware token or an authenticator app in counter
// mode (HMAC-SHA1, 6 digits).
//
// It shows what a method plugin decides and what it leaves to the host. The
// plugin keeps no state: the host passes the user's state in (the secret and
// the next expected counter) and stores what comes back, sealed at rest, in
// the same transaction as its guess counter. Dropped into the plugins folder,
// it is served at /user/2fa/hotp/setup, /enable, /authenticate, /next-guess and
// DELETE /user/2fa/hotp with the body {"code": "123456"} and the codes
// HOTP_INVALID, HOTP_UNINITIALIZED, TOO_MANY_HOTP_CHECKS, ... derived from its
// route: no change to the core.
//
//   - Look-ahead (RFC 4226 section 7.2): a token's counter runs ahead of the
//     server's whenever its button is pressed without logging in, so a code
//     is accepted for any of the next lookAhead counters (default 10), and
//     the counter moves past the one that matched. A code is never accepted
//     twice: the counter has moved (and the replay key says so to the host).
//   - Resynchronisation (section 7.4): a code beyond the window (up to
//     resyncWindow counters ahead, default 100) is refused, but remembered;
//     if the next code the user enters, within 5 minutes, is the code of the
//     very next counter, the two consecutive codes prove the token's position
//     and the counter resynchronises there.
//
// Build:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o hotp.wasm .
//
// Configuration (optional): {"lookAhead": 10, "resyncWindow": 100}
package main

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"

	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/twofactor"
)

// Reason codes. CodeInvalid is also the API's 401 message code.
const (
	CodeInvalid   = "HOTP_INVALID"
	CodeBadConfig = "HOTP_BAD_CONFIG"
)

const (
	defaultLookAhead    = 10
	defaultResyncWindow = 100
	// resyncWithin bounds the time between the two consecutive codes of a
	// resynchronisation.
	resyncWithin = 5 * time.Minute
)

var info = sdk.Info{
	ID:          "twofactor.hotp",
	Name:        "HOTP (example)",
	Version:     "1.0.0",
	Description: "Counter-based one-time passwords (RFC 4226: HMAC-SHA1, 6 digits) with a look-ahead window and resynchronisation by two consecutive codes.",
	Codes:       []string{CodeInvalid, CodeBadConfig},
	ConfigSchema: `{"type":"object","properties":{` +
		`"lookAhead":{"type":"integer","minimum":1,"maximum":50,"default":10},` +
		`"resyncWindow":{"type":"integer","minimum":0,"maximum":1000,"default":100}},"additionalProperties":false}`,
}

// methodInfo: the defaults give the route "hotp" (from the id), the codes
// HOTP_* and no summary key, as a third party's method should have.
var methodInfo = twofactor.MethodInfo{CodeLength: 6}

// method is the plugin. Its configuration is set once per instance by
// Configure, before any hook.
type method struct {
	lookAhead    uint64
	resyncWindow uint64
}

var (
	_ twofactor.Method = (*method)(nil)
	_ sdk.Configurer   = (*method)(nil)
)

func newMethod() *method {
	return &method{lookAhead: defaultLookAhead, resyncWindow: defaultResyncWindow}
}

func init() { twofactor.Register(info, methodInfo, newMethod()) }

func main() {}

// Configure implements sdk.Configurer.
func (m *method) Configure(config []byte) []sdk.Reason {
	if len(config) == 0 {
		return nil
	}
	var c struct {
		LookAhead    *int `json:"lookAhead"`
		ResyncWindow *int `json:"resyncWindow"`
	}
	dec := json.NewDecoder(strings.NewReader(string(config)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return []sdk.Reason{{Code: CodeBadConfig, Message: "config: " + err.Error()}}
	}
	if c.LookAhead != nil {
		if *c.LookAhead < 1 || *c.LookAhead > 50 {
			return []sdk.Reason{{Code: CodeBadConfig, Message: "config: lookAhead must be between 1 and 50"}}
		}
		m.lookAhead = uint64(*c.LookAhead)
	}
	if c.ResyncWindow != nil {
		if *c.ResyncWindow < 0 || *c.ResyncWindow > 1000 {
			return []sdk.Reason{{Code: CodeBadConfig, Message: "config: resyncWindow must be between 0 and 1000"}}
		}
		m.resyncWindow = uint64(*c.ResyncWindow)
	}
	return nil
}

// state is one user's HOTP state, which the host keeps.
type state struct {
	Secret  string // base32, no padding
	Counter uint64 // the next counter expected
	// Resync is the counter after the one a code beyond the window matched
	// (0: none), at ResyncAt (Unix nanoseconds).
	Resync   uint64
	ResyncAt int64
}

// The state is encoded in the ABI's wire format, the codec the SDK already
// has: field 1 secret, 2 counter, 3 resync, 4 resync time.
func (s *state) marshal() []byte {
	var e abi.Encoder
	e.String(1, s.Secret)
	e.Uint(2, s.Counter)
	e.Uint(3, s.Resync)
	e.Int(4, s.ResyncAt)
	return e.Bytes()
}

func (s *state) unmarshal(b []byte) bool {
	*s = state{}
	d := abi.NewDecoder(b)
	for d.Next() {
		switch d.Field() {
		case 1:
			s.Secret = d.String()
		case 2:
			s.Counter = d.Uint()
		case 3:
			s.Resync = d.Uint()
		case 4:
			s.ResyncAt = d.Int()
		}
	}
	return d.Err() == nil && s.Secret != ""
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Enroll implements twofactor.Method: a new 160-bit secret, counter 0, and
// its otpauth URL (the host shows it as a QR code).
func (m *method) Enroll(req *twofactor.Request) (*twofactor.Result, error) {
	var raw [20]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, err
	}
	st := state{Secret: b32.EncodeToString(raw[:])}
	label := url.PathEscape(req.ServiceName) + ":" + url.PathEscape(req.Email)
	uri := "otpauth://hotp/" + label + "?secret=" + st.Secret + "&issuer=" + url.QueryEscape(req.ServiceName) +
		"&algorithm=SHA1&digits=6&counter=0"
	return &twofactor.Result{State: st.marshal(), URI: uri}, nil
}

// Activate implements twofactor.Method: the first code, as Verify checks it.
func (m *method) Activate(req *twofactor.Request) (*twofactor.Result, error) { return m.Verify(req) }

// Verify implements twofactor.Method.
func (m *method) Verify(req *twofactor.Request) (*twofactor.Result, error) {
	var st state
	if !st.unmarshal(req.State) {
		return nil, errCorrupt
	}
	now := req.Now.UnixNano()
	next := st.Resync // the counter a resynchronisation's second code must match
	pending := next != 0 && now >= st.ResyncAt && now-st.ResyncAt <= int64(resyncWithin)
	st.Resync, st.ResyncAt = 0, 0
	denied := func() (*twofactor.Result, error) {
		return &twofactor.Result{Reasons: []sdk.Reason{{Code: CodeInvalid, Message: "Invalid HOTP code"}}, State: st.marshal()}, nil
	}
	if len(req.Code) != 6 {
		return denied()
	}
	if i, ok := match(st.Secret, req.Code, st.Counter, st.Counter+m.lookAhead); ok {
		return accept(st, i)
	}
	// The second of two consecutive codes beyond the window.
	if pending {
		if i, ok := match(st.Secret, req.Code, next, next+1); ok {
			return accept(st, i)
		}
	}
	// The first: remember where it matched, and refuse it.
	if m.resyncWindow > 0 {
		if i, ok := match(st.Secret, req.Code, st.Counter+m.lookAhead, st.Counter+m.lookAhead+m.resyncWindow); ok {
			st.Resync, st.ResyncAt = i+1, now
		}
	}
	return denied()
}

// accept moves the counter past the one that matched; the replay key names
// the secret and that counter, so the host refuses the same code again even
// if two requests race with the same state.
func accept(st state, matched uint64) (*twofactor.Result, error) {
	st.Counter = matched + 1
	sum := sha256.Sum256([]byte(st.Secret))
	return &twofactor.Result{State: st.marshal(), ReplayKey: hex.EncodeToString(sum[:6]) + ":" + strconv.FormatUint(matched, 10)}, nil
}

// errCorrupt fails a call whose state cannot be read (the host answers 500).
var errCorrupt = errors.New("hotp: unreadable state")

var opts = hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// match returns the first counter in [from, to) whose code is code. It
// computes and compares every candidate in constant time.
func match(secret, code string, from, to uint64) (uint64, bool) {
	var found uint64
	ok := false
	for c := from; c < to; c++ {
		want, err := hotp.GenerateCodeCustom(secret, c, opts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && !ok {
			found, ok = c, true
		}
	}
	return found, ok
}
