package passkey

import (
	"bytes"
	"encoding/json"
	"github.com/gatehouse/gatehouse/plugins/passkey/softkey"
	"strings"
	"testing"
	"time"
)

var (
	testRP   = RelyingParty{ID: "localhost", Name: "Gatehouse", Origins: []string{"http://localhost:8080", "https://app.example"}}
	testUser = User{ID: "42", Name: "ada@example.com"}
	t0       = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
)

// options decodes {"publicKey": {...}}.
func options(t testing.TB, raw json.RawMessage) map[string]any {
	t.Helper()
	var o struct {
		PublicKey map[string]any `json:"publicKey"`
	}
	if err := json.Unmarshal(raw, &o); err != nil || o.PublicKey == nil {
		t.Fatalf("options %s: %v", raw, err)
	}
	return o.PublicKey
}

// registered runs a good registration of a and returns the credential.
func registered(t testing.TB, a *softkey.Authenticator, existing []Credential, uv string) Credential {
	t.Helper()
	_, p, err := BeginRegistration(testRP, testUser, existing, uv, "", t0)
	if err != nil {
		t.Fatal(err)
	}
	c, err := FinishRegistration(testRP, testUser, &p, existing,
		a.Register(softkey.Ceremony{Challenge: p.Challenge, Origin: testRP.Origins[0], RPID: testRP.ID}, softkey.Registration{}), t0)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRegistrationOptions(t *testing.T) {
	old := Credential{ID: []byte{1, 2, 3}, Transports: []string{"usb"}}
	raw, p, err := BeginRegistration(testRP, testUser, []Credential{old}, "preferred", " Phone ", t0)
	if err != nil {
		t.Fatal(err)
	}
	o := options(t, raw)
	rp := o["rp"].(map[string]any)
	user := o["user"].(map[string]any)
	if rp["id"] != "localhost" || rp["name"] != "Gatehouse" {
		t.Errorf("rp %v", rp)
	}
	if user["id"] != b64.EncodeToString([]byte("42")) || user["name"] != "ada@example.com" || user["displayName"] != "ada@example.com" {
		t.Errorf("user %v", user)
	}
	if o["challenge"] != p.Challenge || len(p.Challenge) < 22 || strings.ContainsAny(p.Challenge, "=+/") {
		t.Errorf("challenge %v / %q", o["challenge"], p.Challenge)
	}
	var algs []float64
	for _, pk := range o["pubKeyCredParams"].([]any) {
		algs = append(algs, pk.(map[string]any)["alg"].(float64))
	}
	if len(algs) != 3 || algs[0] != -7 || algs[1] != -8 || algs[2] != -257 {
		t.Errorf("algorithms %v", algs)
	}
	if o["attestation"] != "none" {
		t.Errorf("attestation %v", o["attestation"])
	}
	if sel := o["authenticatorSelection"].(map[string]any); sel["userVerification"] != "preferred" || sel["residentKey"] != "preferred" {
		t.Errorf("selection %v", sel)
	}
	if ex := o["excludeCredentials"].([]any); len(ex) != 1 || ex[0].(map[string]any)["id"] != "AQID" {
		t.Errorf("exclude %v", ex)
	}
	if o["timeout"].(float64) != 300000 {
		t.Errorf("timeout %v", o["timeout"])
	}
	if p.Ceremony != Registration || p.UserID != "42" || p.RPID != "localhost" || !p.Expires.Equal(t0.Add(5*time.Minute)) || p.Name != "Phone" {
		t.Errorf("pending %+v", p)
	}
	_, p2, _ := BeginRegistration(testRP, testUser, nil, "preferred", "", t0)
	if p2.Challenge == p.Challenge {
		t.Error("two challenges alike")
	}
}

func TestBeginRegistrationRefusals(t *testing.T) {
	many := make([]Credential, MaxCredentials)
	for name, f := range map[string]func() error{
		"too many": func() error { _, _, err := BeginRegistration(testRP, testUser, many, "preferred", "", t0); return err },
		"long name": func() error {
			_, _, err := BeginRegistration(testRP, testUser, nil, "preferred", strings.Repeat("é", 65), t0)
			return err
		},
		"control name": func() error {
			_, _, err := BeginRegistration(testRP, testUser, nil, "preferred", "a\nb", t0)
			return err
		},
	} {
		err := f()
		if r, ok := AsRefusal(err); !ok || !r.Malformed {
			t.Errorf("%s: %v, want a malformed refusal", name, err)
		}
	}
	if _, _, err := BeginRegistration(RelyingParty{}, testUser, nil, "preferred", "", t0); err == nil {
		t.Error("no relying party: accepted")
	} else if _, ok := AsRefusal(err); ok {
		t.Errorf("no relying party is the operator's fault, not a refusal: %v", err)
	}
}

func TestCeremoniesByAlgorithm(t *testing.T) {
	for _, tc := range []struct {
		name string
		alg  int64
	}{{"ES256", -7}, {"EdDSA", -8}, {"RS256", -257}} {
		t.Run(tc.name, func(t *testing.T) {
			a := softkey.New(t, tc.alg)
			c := registered(t, a, nil, "preferred")
			if !bytes.Equal(c.ID, a.CredID) || c.Name != "Passkey 1" || !c.CreatedAt.Equal(t0) || c.Attestation != "none" ||
				!bytes.Equal(c.AAGUID, a.AAGUID[:]) || len(c.Transports) != 1 || c.Transports[0] != "internal" || !c.UserVerified {
				t.Errorf("credential %+v", c)
			}
			creds := []Credential{c}
			for i := 1; i <= 3; i++ {
				now := t0.Add(time.Duration(i) * time.Minute)
				raw, p, err := BeginAssertion(testRP, testUser, creds, "preferred", now)
				if err != nil {
					t.Fatal(err)
				}
				o := options(t, raw)
				if o["rpId"] != "localhost" || o["userVerification"] != "preferred" || len(o["allowCredentials"].([]any)) != 1 {
					t.Errorf("assertion options %v", o)
				}
				idx, used, err := FinishAssertion(testRP, testUser, &p, creds,
					a.Assert(softkey.Ceremony{Challenge: p.Challenge, Origin: testRP.Origins[1], RPID: testRP.ID}), now)
				if err != nil {
					t.Fatalf("assertion %d: %v", i, err)
				}
				if idx != 0 || used.SignCount != uint32(i) || !used.LastUsedAt.Equal(now) {
					t.Errorf("assertion %d: index %d, credential %+v", i, idx, used)
				}
				creds[0] = used
			}
		})
	}
}

func TestRegistrationRefusals(t *testing.T) {
	a := softkey.New(t, -7)
	good := func(p Pending) softkey.Ceremony {
		return softkey.Ceremony{Challenge: p.Challenge, Origin: testRP.Origins[0], RPID: testRP.ID}
	}
	for _, tc := range []struct {
		name      string
		uv        string
		answer    func(p Pending) []byte
		now       time.Time
		user      User
		malformed bool
	}{
		{name: "wrong origin", answer: func(p Pending) []byte {
			c := good(p)
			c.Origin = "https://evil.example"
			return a.Register(c, softkey.Registration{})
		}},
		{name: "wrong RP ID hash", answer: func(p Pending) []byte {
			c := good(p)
			c.RPID = "example.com"
			return a.Register(c, softkey.Registration{})
		}},
		{name: "wrong type", answer: func(p Pending) []byte {
			c := good(p)
			c.Type = "webauthn.get"
			return a.Register(c, softkey.Registration{})
		}},
		{name: "wrong challenge", answer: func(p Pending) []byte {
			c := good(p)
			c.Challenge = b64.EncodeToString(bytes.Repeat([]byte{7}, 32))
			return a.Register(c, softkey.Registration{})
		}},
		{name: "expired challenge", now: t0.Add(5 * time.Minute), answer: func(p Pending) []byte { return a.Register(good(p), softkey.Registration{}) }},
		{name: "another user's challenge", user: User{ID: "43", Name: "bob@example.com"},
			answer: func(p Pending) []byte { return a.Register(good(p), softkey.Registration{}) }},
		{name: "no user presence", answer: func(p Pending) []byte {
			b := *a
			b.Flags = softkey.FlagUV
			return b.Register(good(p), softkey.Registration{})
		}},
		{name: "no user verification when required", uv: "required", answer: func(p Pending) []byte {
			b := *a
			b.Flags = softkey.FlagUP
			return b.Register(good(p), softkey.Registration{})
		}},
		{name: "backup state without eligibility", answer: func(p Pending) []byte {
			b := *a
			b.Flags = softkey.FlagUP | softkey.FlagBS
			return b.Register(good(p), softkey.Registration{})
		}},
		{name: "algorithm not asked for (ES384)", answer: func(p Pending) []byte {
			return softkey.New(t, -35).Register(good(p), softkey.Registration{})
		}},
		{name: "attestation format unknown", answer: func(p Pending) []byte {
			return a.Register(good(p), softkey.Registration{Format: "x-homemade"})
		}},
		{name: "attestation none with a statement", answer: func(p Pending) []byte {
			return a.Register(good(p), softkey.Registration{AttStmt: softkey.MapOf(softkey.Text("sig"), softkey.Bytes{1})})
		}},
		{name: "packed self attestation with a wrong signature", answer: func(p Pending) []byte {
			return a.Register(good(p), softkey.Registration{Format: "packed",
				AttStmt: softkey.MapOf(softkey.Text("alg"), softkey.Int(-7), softkey.Text("sig"), softkey.Bytes(a.Sign([]byte("other"))))})
		}},
		{name: "garbage CBOR", malformed: true, answer: func(p Pending) []byte {
			return a.Register(good(p), softkey.Registration{RawAttObject: []byte{0xa3, 0xff, 0x00, 0x13, 0x37}})
		}},
		{name: "CBOR of another shape", malformed: true, answer: func(p Pending) []byte {
			return a.Register(good(p), softkey.Registration{RawAttObject: softkey.Array{softkey.Int(1), softkey.Text("x")}.CBOR()})
		}},
		{name: "not JSON", malformed: true, answer: func(Pending) []byte { return []byte(`{"id":`) }},
		{name: "empty object", malformed: true, answer: func(Pending) []byte { return []byte(`{}`) }},
		{name: "client data not JSON", malformed: true, answer: func(p Pending) []byte {
			var m map[string]any
			json.Unmarshal(a.Register(good(p), softkey.Registration{}), &m)
			m["response"].(map[string]any)["clientDataJSON"] = b64.EncodeToString([]byte("not json"))
			b, _ := json.Marshal(m)
			return b
		}},
		{name: "oversized", malformed: true, answer: func(p Pending) []byte {
			return bytes.Replace(a.Register(good(p), softkey.Registration{}), []byte(`"type"`),
				[]byte(`"padding":"`+strings.Repeat("x", MaxResponseBytes)+`","type"`), 1)
		}},
		{name: "credential id too long", malformed: true, answer: func(p Pending) []byte {
			b := *a
			b.CredID = bytes.Repeat([]byte{9}, MaxCredentialIDBytes+1)
			return b.Register(good(p), softkey.Registration{})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			uv := tc.uv
			if uv == "" {
				uv = "preferred"
			}
			_, p, err := BeginRegistration(testRP, testUser, nil, uv, "", t0)
			if err != nil {
				t.Fatal(err)
			}
			now, user := tc.now, tc.user
			if now.IsZero() {
				now = t0
			}
			if user.ID == "" {
				user = testUser
			}
			_, err = FinishRegistration(testRP, user, &p, nil, tc.answer(p), now)
			r, ok := AsRefusal(err)
			t.Log(err)
			if !ok || r.Malformed != tc.malformed {
				t.Fatalf("got %v (refusal %v), want malformed=%v", err, ok, tc.malformed)
			}
		})
	}
}

func TestRegistrationAccepts(t *testing.T) {
	a := softkey.New(t, -8)
	c := softkey.Ceremony{Origin: testRP.Origins[0], RPID: testRP.ID}
	for _, tc := range []struct {
		name string
		uv   string
		auth func() *softkey.Authenticator
		reg  softkey.Registration
	}{
		{name: "packed self attestation", auth: func() *softkey.Authenticator { return a }, reg: softkey.Registration{Format: "packed"}},
		{name: "no user verification when preferred", auth: func() *softkey.Authenticator {
			b := *a
			b.Flags = softkey.FlagUP
			return &b
		}},
		{name: "backup eligible and backed up", auth: func() *softkey.Authenticator {
			b := *a
			b.Flags = softkey.FlagUP | softkey.FlagUV | softkey.FlagBE | softkey.FlagBS
			return &b
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, p, err := BeginRegistration(testRP, testUser, nil, "preferred", "Key", t0)
			if err != nil {
				t.Fatal(err)
			}
			c.Challenge = p.Challenge
			cred, err := FinishRegistration(testRP, testUser, &p, nil, tc.auth().Register(c, tc.reg), t0)
			if err != nil {
				t.Fatal(err)
			}
			if cred.Name != "Key" {
				t.Errorf("name %q", cred.Name)
			}
		})
	}
}

func TestRegistrationOfAHeldCredential(t *testing.T) {
	a := softkey.New(t, -7)
	first := registered(t, a, nil, "preferred")
	_, p, err := BeginRegistration(testRP, testUser, []Credential{first}, "preferred", "", t0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = FinishRegistration(testRP, testUser, &p, []Credential{first},
		a.Register(softkey.Ceremony{Challenge: p.Challenge, Origin: testRP.Origins[0], RPID: testRP.ID}, softkey.Registration{}), t0)
	if r, ok := AsRefusal(err); !ok || r.Malformed {
		t.Fatalf("registered twice: %v", err)
	}
	second := registered(t, softkey.New(t, -8), []Credential{first}, "preferred")
	if second.Name != "Passkey 2" {
		t.Errorf("second name %q", second.Name)
	}
}

func TestAssertionRefusals(t *testing.T) {
	a := softkey.New(t, -7)
	other := softkey.New(t, -7)
	mine := registered(t, a, nil, "preferred")
	good := func(p Pending) softkey.Ceremony {
		return softkey.Ceremony{Challenge: p.Challenge, Origin: testRP.Origins[0], RPID: testRP.ID}
	}
	for _, tc := range []struct {
		name      string
		uv        string
		creds     []Credential
		answer    func(p Pending) []byte
		pending   func(p Pending) *Pending
		now       time.Time
		malformed bool
		clone     bool
	}{
		{name: "wrong origin", answer: func(p Pending) []byte {
			c := good(p)
			c.Origin = "http://localhost:8081"
			return a.Assert(c)
		}},
		{name: "wrong RP ID hash", answer: func(p Pending) []byte {
			c := good(p)
			c.RPID = "evil.example"
			return a.Assert(c)
		}},
		{name: "wrong type", answer: func(p Pending) []byte {
			c := good(p)
			c.Type = "webauthn.create"
			return a.Assert(c)
		}},
		{name: "wrong challenge", answer: func(p Pending) []byte {
			c := good(p)
			c.Challenge = b64.EncodeToString(make([]byte, 32))
			return a.Assert(c)
		}},
		{name: "no challenge pending", pending: func(Pending) *Pending { return nil },
			answer: func(p Pending) []byte { return a.Assert(good(p)) }},
		{name: "a registration challenge", pending: func(p Pending) *Pending { p.Ceremony = Registration; return &p },
			answer: func(p Pending) []byte { return a.Assert(good(p)) }},
		{name: "expired challenge", now: t0.Add(ChallengeLifetime + time.Second),
			answer: func(p Pending) []byte { return a.Assert(good(p)) }},
		{name: "another user's credential", answer: func(p Pending) []byte { return other.Assert(good(p)) }},
		{name: "another key under this id", answer: func(p Pending) []byte {
			b := *other
			b.CredID = a.CredID
			return b.Assert(good(p))
		}},
		{name: "user handle of another user", answer: func(p Pending) []byte {
			b := *a
			b.UserHandle = []byte("43")
			return b.Assert(good(p))
		}},
		{name: "no user presence", answer: func(p Pending) []byte {
			b := *a
			b.Flags = softkey.FlagUV
			return b.Assert(good(p))
		}},
		{name: "no user verification when required", uv: "required", answer: func(p Pending) []byte {
			b := *a
			b.Flags = softkey.FlagUP
			return b.Assert(good(p))
		}},
		{name: "backup eligibility changed", answer: func(p Pending) []byte {
			b := *a
			b.Flags = softkey.FlagUP | softkey.FlagUV | softkey.FlagBE
			return b.Assert(good(p))
		}},
		{name: "counter going back", clone: true, creds: []Credential{func() Credential { c := mine; c.SignCount = 10; return c }()},
			answer: func(p Pending) []byte { b := *a; b.Counter = 4; return b.Assert(good(p)) }},
		{name: "counter standing still", clone: true, creds: []Credential{func() Credential { c := mine; c.SignCount = 10; return c }()},
			answer: func(p Pending) []byte { b := *a; b.Counter = 10; b.CounterStep = 0; return b.Assert(good(p)) }},
		{name: "signature of other data", answer: func(p Pending) []byte {
			var m map[string]any
			json.Unmarshal(a.Assert(good(p)), &m)
			m["response"].(map[string]any)["signature"] = b64.EncodeToString(a.Sign([]byte("other")))
			b, _ := json.Marshal(m)
			return b
		}},
		{name: "signature not DER", answer: func(p Pending) []byte {
			var m map[string]any
			json.Unmarshal(a.Assert(good(p)), &m)
			m["response"].(map[string]any)["signature"] = b64.EncodeToString([]byte{1, 2, 3})
			b, _ := json.Marshal(m)
			return b
		}},
		{name: "authenticator data truncated", malformed: true, answer: func(p Pending) []byte {
			var m map[string]any
			json.Unmarshal(a.Assert(good(p)), &m)
			m["response"].(map[string]any)["authenticatorData"] = b64.EncodeToString([]byte{1, 2, 3})
			b, _ := json.Marshal(m)
			return b
		}},
		{name: "id not base64url", malformed: true, answer: func(p Pending) []byte {
			return bytes.ReplaceAll(a.Assert(good(p)), []byte(b64.EncodeToString(a.CredID)), []byte("!!!"))
		}},
		{name: "not JSON", malformed: true, answer: func(Pending) []byte { return []byte("\x00\x01") }},
		{name: "empty", malformed: true, answer: func(Pending) []byte { return nil }},
		{name: "oversized", malformed: true, answer: func(Pending) []byte {
			return []byte(`{"id":"` + strings.Repeat("A", MaxResponseBytes) + `"}`)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			uv := tc.uv
			if uv == "" {
				uv = "preferred"
			}
			creds := tc.creds
			if creds == nil {
				creds = []Credential{mine}
			}
			_, p, err := BeginAssertion(testRP, testUser, creds, uv, t0)
			if err != nil {
				t.Fatal(err)
			}
			pend := &p
			if tc.pending != nil {
				pend = tc.pending(p)
			}
			now := tc.now
			if now.IsZero() {
				now = t0
			}
			_, _, err = FinishAssertion(testRP, testUser, pend, creds, tc.answer(p), now)
			r, ok := AsRefusal(err)
			t.Log(err)
			if !ok || r.Malformed != tc.malformed || r.Clone != tc.clone {
				t.Fatalf("got %v (refusal %v %+v), want malformed=%v clone=%v", err, ok, r, tc.malformed, tc.clone)
			}
		})
	}
}

func TestAssertionWithoutCounter(t *testing.T) {
	a := softkey.New(t, -7)
	a.CounterStep = 0
	creds := []Credential{registered(t, a, nil, "preferred")}
	for i := 0; i < 2; i++ {
		_, p, err := BeginAssertion(testRP, testUser, creds, "preferred", t0)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := FinishAssertion(testRP, testUser, &p, creds,
			a.Assert(softkey.Ceremony{Challenge: p.Challenge, Origin: testRP.Origins[0], RPID: testRP.ID}), t0); err != nil {
			t.Fatalf("assertion %d with a zero counter: %v", i, err)
		}
	}
}

func TestAssertionPicksTheCredential(t *testing.T) {
	a, b := softkey.New(t, -7), softkey.New(t, -257)
	first := registered(t, a, nil, "preferred")
	creds := []Credential{first, registered(t, b, []Credential{first}, "preferred")}
	_, p, err := BeginAssertion(testRP, testUser, creds, "discouraged", t0)
	if err != nil {
		t.Fatal(err)
	}
	idx, used, err := FinishAssertion(testRP, testUser, &p, creds,
		b.Assert(softkey.Ceremony{Challenge: p.Challenge, Origin: testRP.Origins[0], RPID: testRP.ID}), t0)
	if err != nil || idx != 1 || !bytes.Equal(used.ID, b.CredID) {
		t.Fatalf("index %d, %v", idx, err)
	}
}

func TestUniqueKey(t *testing.T) {
	short := Credential{ID: []byte{1}}
	long := Credential{ID: bytes.Repeat([]byte{1}, MaxCredentialIDBytes)}
	if len(short.UniqueKey()) != 43 || len(long.UniqueKey()) != 43 || short.UniqueKey() == long.UniqueKey() {
		t.Errorf("keys %q %q", short.UniqueKey(), long.UniqueKey())
	}
	if short.EncodedID() != "AQ" {
		t.Errorf("encoded id %q", short.EncodedID())
	}
}

var b64 = softkey.B64
