package passkey

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/twofactor"
)

// Reason codes.
const (
	// CodeInvalid denies a credential that does not verify (a signature, an
	// origin, a challenge, a counter); the API's 401 message code, counted by
	// the guess limiter.
	CodeInvalid = "PASSKEY_INVALID"
	// CodeCorrupt denies a call whose state does not decode.
	CodeCorrupt = "PASSKEY_CORRUPT"
	// CodeBadRequest denies a malformed credential or setup body: the host
	// answers 400 with the reason's message and does not count a guess.
	CodeBadRequest = "BAD_REQUEST"
	// CodeBadConfig refuses the operator's configuration.
	CodeBadConfig = "PASSKEY_BAD_CONFIG"
)

// maxSummaryBytes is the largest summary the host takes (GET /user/2fa).
const maxSummaryBytes = 8 << 10

// Info is the plugin's descriptor information.
var Info = sdk.Info{
	ID:      "twofactor.passkey",
	Name:    "Passkeys",
	Version: "1.0.0",
	Description: "WebAuthn passkeys and security keys as a second factor (ES256, EdDSA, RS256; attestation none or packed self attestation; " +
		"signatures verified by the host's crypto capability).",
	// The AssemblyScript build (plugins/passkey/as, the one the server embeds) verifies
	// signatures with the host's crypto capability; the reference declares it too, so the two
	// have one descriptor (it checks with go-webauthn, natively in the module).
	Capabilities: []string{abi.CapCrypto},
	Codes:        []string{CodeInvalid, CodeCorrupt, CodeBadRequest},
	ConfigSchema: `{"type":"object","properties":{` +
		`"userVerification":{"enum":["required","preferred","discouraged"],"default":"preferred",` +
		`"description":"WebAuthn user verification (PIN, biometrics) asked of the authenticator; required refuses a ceremony without it"}},` +
		`"additionalProperties":false}`,
}

// MethodInfo is the method's routes, bodies and message codes:
// /user/2fa/passkey, {"credential": {...}} (a JSON object), the optional
// setup field name, the PASSKEY_* codes, and the options returned as
// {"publicKey": ...} by setup and challenge.
var MethodInfo = twofactor.MethodInfo{
	Route:               "passkey",
	SummaryKey:          "passkey",
	CodeField:           "credential",
	OptionalSetupFields: []string{"name"},
	JSONFields:          []string{"credential"},
	ClientDataFields:    []string{"publicKey"},
	Additive:            true,
	CodePrefix:          "PASSKEY",
}

// Config is the operator's configuration (GATEHOUSE_PLUGIN_CONFIG).
type Config struct {
	// UserVerification is asked of the authenticator: "preferred" (the
	// default), "required" or "discouraged".
	UserVerification string `json:"userVerification"`
}

// Method is the passkey method. Its state (JSON, sealed by the host) is a
// State: the pending challenge of setup or challenge, and the credentials of
// the active method.
type Method struct {
	cfg Config
	// Log reports a refused clone (the SDK's log in the plugin).
	Log func(level abi.Level, msg string)
}

// NewMethod returns a method with the default configuration.
func NewMethod() *Method {
	return &Method{cfg: Config{UserVerification: "preferred"}, Log: sdk.Log}
}

var (
	_ twofactor.Method     = (*Method)(nil)
	_ twofactor.Challenger = (*Method)(nil)
	_ sdk.Configurer       = (*Method)(nil)
)

// Configure reads {"userVerification": "preferred"|"required"|"discouraged"}.
func (m *Method) Configure(raw []byte) []sdk.Reason {
	c := Config{UserVerification: "preferred"}
	if len(raw) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return []sdk.Reason{{Code: CodeBadConfig, Message: "configuration: " + err.Error()}}
		}
	}
	if !ValidUserVerification(c.UserVerification) {
		return []sdk.Reason{{Code: CodeBadConfig, Message: "userVerification: one of required, preferred, discouraged"}}
	}
	m.cfg = c
	return nil
}

// State is the method's state for one user.
type State struct {
	Pending     *Pending     `json:"pending,omitempty"`
	Credentials []Credential `json:"credentials,omitempty"`
}

func decodeState(b []byte) (State, error) {
	var s State
	if len(b) == 0 {
		return s, errors.New("empty state")
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, err
	}
	return s, nil
}

func (s State) encode() []byte {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // plain values only
	}
	return b
}

// relyingParty is the request's: its RP ID, name and accepted origins, the RP
// ID defaulting to the public URL's host and the origins to its origin.
func relyingParty(req *twofactor.Request) RelyingParty {
	rp := RelyingParty{ID: req.RPID, Name: req.RPName, Origins: req.Origins}
	if u, err := url.Parse(req.PublicURL); err == nil && u.Host != "" {
		if rp.ID == "" {
			rp.ID = u.Hostname()
		}
		if len(rp.Origins) == 0 {
			rp.Origins = []string{u.Scheme + "://" + u.Host}
		}
	}
	if rp.Name == "" {
		rp.Name = req.ServiceName
	}
	return rp
}

func user(req *twofactor.Request) User { return User{ID: req.UserID, Name: req.Email} }

func deny(code, msg string) *twofactor.Result {
	return &twofactor.Result{Reasons: []sdk.Reason{{Code: code, Message: msg}}}
}

// refused turns a ceremony error into a denial (keeping state), or fails the
// call for an error that is no refusal (a broken configuration).
func refused(err error, state []byte) (*twofactor.Result, error) {
	r, ok := AsRefusal(err)
	if !ok {
		return nil, err
	}
	code := CodeInvalid
	if r.Malformed {
		code = CodeBadRequest
	}
	res := deny(code, r.Message)
	res.State = state
	return res, nil
}

// active is the active state of an additive enroll or activate: none when the
// method is not active.
func active(req *twofactor.Request) (State, error) {
	if req.ActiveState == nil {
		return State{}, nil
	}
	return decodeState(req.ActiveState)
}

// Enroll makes the options of a registration ({"publicKey": ...}) and keeps
// its challenge as the pending state. The active credentials are excluded.
func (m *Method) Enroll(req *twofactor.Request) (*twofactor.Result, error) {
	act, err := active(req)
	if err != nil {
		return deny(CodeCorrupt, "the active passkeys do not decode"), nil
	}
	opts, pending, err := BeginRegistration(relyingParty(req), user(req), act.Credentials, m.cfg.UserVerification, req.Params["name"], req.Now)
	if err != nil {
		return refused(err, nil)
	}
	return &twofactor.Result{State: State{Pending: &pending}.encode(), ClientData: opts}, nil
}

// Activate checks the registration against the pending challenge. Accepted,
// the new state holds the active credentials and the new one; the challenge
// is used up either way.
func (m *Method) Activate(req *twofactor.Request) (*twofactor.Result, error) {
	st, err := decodeState(req.State)
	if err != nil {
		return deny(CodeCorrupt, "the pending passkey state does not decode"), nil
	}
	act, err := active(req)
	if err != nil {
		return deny(CodeCorrupt, "the active passkeys do not decode"), nil
	}
	used := State{}.encode() // the challenge, used up
	cred, err := FinishRegistration(relyingParty(req), user(req), st.Pending, act.Credentials, []byte(req.Code), req.Now)
	if err != nil {
		return refused(err, used)
	}
	next := State{Credentials: append(append([]Credential(nil), act.Credentials...), cred)}
	summary, err := summarize(next.Credentials)
	if err != nil {
		return refused(err, used)
	}
	// Each later use adds a lastUsedAt timestamp (at most 35 bytes) to the list.
	if len(summary)+35*len(next.Credentials) > maxSummaryBytes {
		return refused(malformed("too many passkeys to list: remove the method to start again"), used)
	}
	keys := make([]string, len(next.Credentials))
	for i, c := range next.Credentials {
		keys[i] = c.UniqueKey()
	}
	return &twofactor.Result{State: next.encode(), Summary: summary, UniqueKeys: keys}, nil
}

// Challenge makes the options of an assertion by one of the active
// credentials and keeps its challenge in the state.
func (m *Method) Challenge(req *twofactor.Request) (*twofactor.Result, error) {
	st, err := decodeState(req.State)
	if err != nil {
		return deny(CodeCorrupt, "the passkey state does not decode"), nil
	}
	if len(st.Credentials) == 0 {
		return deny(CodeBadRequest, "no passkey is active"), nil
	}
	opts, pending, err := BeginAssertion(relyingParty(req), user(req), st.Credentials, m.cfg.UserVerification, req.Now)
	if err != nil {
		return refused(err, nil)
	}
	st.Pending = &pending
	return &twofactor.Result{State: st.encode(), ClientData: opts}, nil
}

// Verify checks an assertion against the pending challenge. The challenge is
// used up either way; accepted, the credential's counter and last use are
// updated. A counter that did not grow is refused and logged.
func (m *Method) Verify(req *twofactor.Request) (*twofactor.Result, error) {
	st, err := decodeState(req.State)
	if err != nil {
		return deny(CodeCorrupt, "the passkey state does not decode"), nil
	}
	pending := st.Pending
	st.Pending = nil
	used := st.encode()
	idx, cred, err := FinishAssertion(relyingParty(req), user(req), pending, st.Credentials, []byte(req.Code), req.Now)
	if err != nil {
		if r, ok := AsRefusal(err); ok && r.Clone && m.Log != nil {
			m.Log(abi.LevelWarn, fmt.Sprintf("passkey: possible cloned authenticator refused: user %s, credential %q: %s",
				req.UserID, st.Credentials[idx].Name, r.Message))
		}
		return refused(err, used)
	}
	st.Credentials[idx] = cred
	summary, err := summarize(st.Credentials)
	if err != nil {
		return nil, err
	}
	return &twofactor.Result{State: st.encode(), Summary: summary}, nil
}

// summaryEntry is one credential as GET /user/2fa lists it: never a key.
type summaryEntry struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"createdAt"`
	LastUsedAt *time.Time `json:"lastUsedAt"`
}

// summarize is the summary {"credentials": [...]}; a list the host cannot
// take is a refusal.
func summarize(creds []Credential) ([]byte, error) {
	list := make([]summaryEntry, len(creds))
	for i, c := range creds {
		list[i] = summaryEntry{ID: c.EncodedID(), Name: c.Name, CreatedAt: c.CreatedAt}
		if !c.LastUsedAt.IsZero() {
			t := c.LastUsedAt
			list[i].LastUsedAt = &t
		}
	}
	b, err := json.Marshal(map[string]any{"credentials": list})
	if err != nil {
		return nil, err
	}
	if len(b) > maxSummaryBytes {
		return nil, malformed("too many passkeys to list: remove the method to start again")
	}
	return b, nil
}
