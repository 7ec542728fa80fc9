package passkey

import (
	"encoding/json"
	"github.com/gatehouse/gatehouse/plugins/passkey/softkey"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/twofactor"
)

// flow drives the method as the host does: it keeps the pending and the
// active state and passes them in.
type flow struct {
	t       *testing.T
	m       *Method
	now     time.Time
	userID  string
	pending []byte
	active  []byte
	logs    []string
}

func newFlow(t *testing.T, config string) *flow {
	f := &flow{t: t, m: NewMethod(), now: t0, userID: "42"}
	if reasons := f.m.Configure([]byte(config)); reasons != nil {
		t.Fatalf("configure %s: %v", config, reasons)
	}
	f.m.Log = func(level abi.Level, msg string) { f.logs = append(f.logs, msg) }
	return f
}

func (f *flow) req(state []byte, code string) *twofactor.Request {
	return &twofactor.Request{Now: f.now, UserID: f.userID, Email: "ada@example.com", ServiceName: "Gatehouse",
		State: state, Code: code, RPID: "localhost", RPName: "Gatehouse", PublicURL: "http://localhost:8080",
		Origins: []string{"http://localhost:8080"}, Origin: "http://localhost:8080"}
}

func (f *flow) call(hook func(*twofactor.Request) (*twofactor.Result, error), req *twofactor.Request) *twofactor.Result {
	f.t.Helper()
	res, err := hook(req)
	if err != nil {
		f.t.Fatalf("hook failed: %v", err)
	}
	return res
}

// setup runs Enroll and returns the creation options.
func (f *flow) setup(name string) map[string]any {
	f.t.Helper()
	req := f.req(nil, "")
	req.ActiveState = f.active
	if name != "" {
		req.Params = map[string]string{"name": name}
	}
	res := f.call(f.m.Enroll, req)
	if len(res.Reasons) > 0 || res.State == nil {
		f.t.Fatalf("enroll: %+v", res)
	}
	f.pending = res.State
	return options(f.t, res.ClientData)
}

// enable runs Activate; accepted, the new state becomes the active one.
func (f *flow) enable(answer []byte) *twofactor.Result {
	f.t.Helper()
	req := f.req(f.pending, string(answer))
	req.ActiveState = f.active
	res := f.call(f.m.Activate, req)
	if res.State == nil {
		f.t.Fatal("activate returned no state")
	}
	if len(res.Reasons) == 0 {
		f.active, f.pending = res.State, nil
	} else {
		f.pending = res.State
	}
	return res
}

func (f *flow) challenge() map[string]any {
	f.t.Helper()
	res := f.call(f.m.Challenge, f.req(f.active, ""))
	if len(res.Reasons) > 0 || res.State == nil {
		f.t.Fatalf("Challenge: %+v", res)
	}
	f.active = res.State
	return options(f.t, res.ClientData)
}

func (f *flow) authenticate(answer []byte) *twofactor.Result {
	f.t.Helper()
	res := f.call(f.m.Verify, f.req(f.active, string(answer)))
	if res.State == nil {
		f.t.Fatal("verify returned no state")
	}
	f.active = res.State
	return res
}

func reason(res *twofactor.Result) string {
	if len(res.Reasons) == 0 {
		return ""
	}
	return res.Reasons[0].Code
}

func at(o map[string]any, origin string) softkey.Ceremony {
	rp, _ := o["rpId"].(string)
	if rpo, ok := o["rp"].(map[string]any); ok {
		rp = rpo["id"].(string)
	}
	return softkey.Ceremony{Challenge: o["challenge"].(string), Origin: origin, RPID: rp}
}

const origin = "http://localhost:8080"

func TestMethodFlow(t *testing.T) {
	f := newFlow(t, "")
	phone, key := softkey.New(t, -7), softkey.New(t, -8)

	o := f.setup("Phone")
	if res := f.enable(phone.Register(at(o, origin), softkey.Registration{})); reason(res) != "" {
		t.Fatalf("enable: %+v", res.Reasons)
	} else {
		if len(res.UniqueKeys) != 1 || res.UniqueKeys[0] != (Credential{ID: phone.CredID}).UniqueKey() {
			t.Errorf("unique keys %v", res.UniqueKeys)
		}
		var s struct {
			Credentials []map[string]any `json:"credentials"`
		}
		if err := json.Unmarshal(res.Summary, &s); err != nil || len(s.Credentials) != 1 {
			t.Fatalf("summary %s: %v", res.Summary, err)
		}
		c := s.Credentials[0]
		if c["name"] != "Phone" || c["id"] != b64.EncodeToString(phone.CredID) || c["createdAt"] != t0.Format(time.RFC3339) || c["lastUsedAt"] != nil || len(c) != 4 {
			t.Errorf("summary entry %v", c)
		}
	}

	// A second passkey: the active one is excluded and kept.
	f.now = t0.Add(time.Minute)
	o = f.setup("")
	if ex := o["excludeCredentials"].([]any); len(ex) != 1 {
		t.Errorf("exclude %v", ex)
	}
	res := f.enable(key.Register(at(o, origin), softkey.Registration{}))
	if reason(res) != "" || len(res.UniqueKeys) != 2 {
		t.Fatalf("second enable: %+v", res)
	}
	if strings.Contains(string(res.Summary), "publicKey") || !strings.Contains(string(res.Summary), `"name":"Passkey 2"`) {
		t.Errorf("summary %s", res.Summary)
	}

	// Authenticate with either.
	for i, a := range []*softkey.Authenticator{phone, key, phone} {
		f.now = t0.Add(time.Duration(2+i) * time.Minute)
		o := f.challenge()
		if allow := o["allowCredentials"].([]any); len(allow) != 2 {
			t.Errorf("allow %v", allow)
		}
		answer := a.Assert(at(o, origin))
		res := f.authenticate(answer)
		if reason(res) != "" || res.Summary == nil {
			t.Fatalf("authenticate %d: %+v", i, res.Reasons)
		}
		if !strings.Contains(string(res.Summary), f.now.Format(time.RFC3339)) {
			t.Errorf("summary without the last use: %s", res.Summary)
		}
		// The same answer again: the challenge is used up.
		if res := f.authenticate(answer); reason(res) != CodeInvalid {
			t.Errorf("replayed assertion %d: %+v", i, res.Reasons)
		}
	}
	var st State
	json.Unmarshal(f.active, &st)
	if st.Pending != nil || st.Credentials[0].SignCount != 2 || st.Credentials[1].SignCount != 1 {
		t.Errorf("state %+v", st)
	}
}

func TestMethodRefusals(t *testing.T) {
	enrolled := func(t *testing.T, config string) (*flow, *softkey.Authenticator) {
		f := newFlow(t, config)
		a := softkey.New(t, -7)
		if res := f.enable(a.Register(at(f.setup(""), origin), softkey.Registration{})); reason(res) != "" {
			t.Fatalf("enable: %+v", res.Reasons)
		}
		return f, a
	}

	t.Run("registration challenge is single use", func(t *testing.T) {
		f := newFlow(t, "")
		a := softkey.New(t, -7)
		o := f.setup("")
		wrong := at(o, "https://evil.example")
		if res := f.enable(a.Register(wrong, softkey.Registration{})); reason(res) != CodeInvalid {
			t.Fatalf("wrong Origin: %+v", res.Reasons)
		}
		if res := f.enable(a.Register(at(o, origin), softkey.Registration{})); reason(res) != CodeInvalid {
			t.Fatalf("the right answer after a denial: %+v", res.Reasons)
		}
	})
	t.Run("malformed registration is a bad request and uses the challenge up", func(t *testing.T) {
		f := newFlow(t, "")
		o := f.setup("")
		if res := f.enable([]byte(`{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"e30","attestationObject":"_w"}}`)); reason(res) != CodeBadRequest {
			t.Fatalf("garbage: %+v", res.Reasons)
		}
		if res := f.enable(softkey.New(t, -7).Register(at(o, origin), softkey.Registration{})); reason(res) != CodeInvalid {
			t.Fatalf("after a bad request: %+v", res.Reasons)
		}
	})
	t.Run("expired registration", func(t *testing.T) {
		f := newFlow(t, "")
		o := f.setup("")
		f.now = t0.Add(ChallengeLifetime)
		if res := f.enable(softkey.New(t, -7).Register(at(o, origin), softkey.Registration{})); reason(res) != CodeInvalid {
			t.Fatalf("expired: %+v", res.Reasons)
		}
	})
	t.Run("assertion challenge used up by a denial", func(t *testing.T) {
		f, a := enrolled(t, "")
		o := f.challenge()
		if res := f.authenticate(a.Assert(at(o, "http://localhost:9999"))); reason(res) != CodeInvalid {
			t.Fatalf("wrong Origin: %+v", res.Reasons)
		}
		if res := f.authenticate(a.Assert(at(o, origin))); reason(res) != CodeInvalid {
			t.Fatalf("the right answer after a denial: %+v", res.Reasons)
		}
	})
	t.Run("expired assertion", func(t *testing.T) {
		f, a := enrolled(t, "")
		o := f.challenge()
		f.now = f.now.Add(ChallengeLifetime + time.Second)
		if res := f.authenticate(a.Assert(at(o, origin))); reason(res) != CodeInvalid {
			t.Fatalf("expired: %+v", res.Reasons)
		}
	})
	t.Run("assertion of another user's challenge", func(t *testing.T) {
		f, a := enrolled(t, "")
		o := f.challenge()
		f.userID = "43"
		if res := f.authenticate(a.Assert(at(o, origin))); reason(res) != CodeInvalid {
			t.Fatalf("other user: %+v", res.Reasons)
		}
	})
	t.Run("clone refused and logged", func(t *testing.T) {
		f, a := enrolled(t, "")
		a.Counter = 40
		if res := f.authenticate(a.Assert(at(f.challenge(), origin))); reason(res) != "" {
			t.Fatalf("first: %+v", res.Reasons)
		}
		a.Counter = 5
		if res := f.authenticate(a.Assert(at(f.challenge(), origin))); reason(res) != CodeInvalid {
			t.Fatalf("counter back: %+v", res.Reasons)
		}
		if len(f.logs) != 1 || !strings.Contains(f.logs[0], "cloned") || !strings.Contains(f.logs[0], "41 to 6") {
			t.Errorf("logs %q", f.logs)
		}
	})
	t.Run("malformed assertion", func(t *testing.T) {
		f, _ := enrolled(t, "")
		f.challenge()
		for _, answer := range []string{"{", `{"id":"AA"}`, strings.Repeat("x", MaxResponseBytes+1)} {
			if res := f.authenticate([]byte(answer)); reason(res) != CodeBadRequest {
				t.Errorf("%.20q: %+v", answer, res.Reasons)
			}
		}
	})
	t.Run("user verification required", func(t *testing.T) {
		f, a := enrolled(t, `{"userVerification":"required"}`)
		a.Flags = softkey.FlagUP
		o := f.challenge()
		if o["userVerification"] != "required" {
			t.Errorf("options %v", o)
		}
		if res := f.authenticate(a.Assert(at(o, origin))); reason(res) != CodeInvalid {
			t.Fatalf("without UV: %+v", res.Reasons)
		}
	})
	t.Run("corrupt states", func(t *testing.T) {
		f := newFlow(t, "")
		for _, st := range [][]byte{nil, {}, []byte("{"), {0xff, 0}} {
			for name, hook := range map[string]func(*twofactor.Request) (*twofactor.Result, error){
				"activate": f.m.Activate, "verify": f.m.Verify, "challenge": f.m.Challenge,
			} {
				if res := f.call(hook, f.req(st, "{}")); reason(res) != CodeCorrupt {
					t.Errorf("%s with state %q: %+v", name, st, res.Reasons)
				}
			}
			req := f.req(nil, "")
			req.ActiveState = st
			if st != nil {
				if res := f.call(f.m.Enroll, req); reason(res) != CodeCorrupt {
					t.Errorf("enroll with active state %q: %+v", st, res.Reasons)
				}
			}
		}
	})
	t.Run("bad setup name", func(t *testing.T) {
		f := newFlow(t, "")
		req := f.req(nil, "")
		req.Params = map[string]string{"name": strings.Repeat("n", MaxNameRunes+1)}
		if res := f.call(f.m.Enroll, req); reason(res) != CodeBadRequest {
			t.Errorf("long name: %+v", res.Reasons)
		}
	})
}

func TestConfigure(t *testing.T) {
	for _, tc := range []struct {
		config string
		ok     bool
	}{
		{"", true}, {`{}`, true}, {`{"userVerification":"required"}`, true}, {`{"userVerification":"discouraged"}`, true},
		{`{"userVerification":"always"}`, false}, {`{"userVerification":""}`, false}, {`{"other":1}`, false}, {`[`, false},
	} {
		if got := NewMethod().Configure([]byte(tc.config)) == nil; got != tc.ok {
			t.Errorf("%q: accepted %v", tc.config, got)
		}
	}
}

func TestRelyingPartyDefaults(t *testing.T) {
	rp := relyingParty(&twofactor.Request{PublicURL: "https://auth.example.com:8443/base", ServiceName: "Svc"})
	if rp.ID != "auth.example.com" || rp.Name != "Svc" || len(rp.Origins) != 1 || rp.Origins[0] != "https://auth.example.com:8443" {
		t.Errorf("%+v", rp)
	}
	rp = relyingParty(&twofactor.Request{RPID: "example.com", RPName: "Ex", Origins: []string{"https://a.example.com"}, PublicURL: "https://auth.example.com"})
	if rp.ID != "example.com" || rp.Name != "Ex" || rp.Origins[0] != "https://a.example.com" || len(rp.Origins) != 1 {
		t.Errorf("%+v", rp)
	}
}
