package passkey

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// recording is testdata/chromium-*.json: ceremonies of Chromium's virtual
// authenticators, recorded by testdata/record.mjs.
type recording struct {
	Origin     string `json:"origin"`
	Browser    string `json:"browser"`
	Ceremonies []struct {
		Transport    string          `json:"transport"`
		Alg          int             `json:"alg"`
		Creation     map[string]any  `json:"creation"`
		Registration json.RawMessage `json:"registration"`
		Request      map[string]any  `json:"request"`
		Assertion    json.RawMessage `json:"assertion"`
	} `json:"ceremonies"`
}

// Recorded ceremonies of a real browser (Chromium 156, CTAP2 virtual
// authenticators: ES256 on a platform authenticator with a resident key,
// EdDSA and RS256 on USB keys) verify, and the same answers spoiled do not.
func TestRecordedChromiumCeremonies(t *testing.T) {
	raw, err := os.ReadFile("testdata/chromium-156.json")
	if err != nil {
		t.Fatal(err)
	}
	var rec recording
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	rp := RelyingParty{ID: "localhost", Name: "Gatehouse", Origins: []string{rec.Origin}}
	user := User{ID: "42", Name: "ada@example.com"}
	if len(rec.Ceremonies) != 3 {
		t.Fatalf("%d ceremonies", len(rec.Ceremonies))
	}
	for _, c := range rec.Ceremonies {
		t.Run(c.Transport+"/"+map[int]string{-7: "ES256", -8: "EdDSA", -257: "RS256"}[c.Alg], func(t *testing.T) {
			reg := Pending{Ceremony: Registration, Challenge: c.Creation["challenge"].(string), UserID: user.ID, RPID: rp.ID,
				Expires: t0.Add(ChallengeLifetime), UserVerification: "preferred"}
			cred, err := FinishRegistration(rp, user, &reg, nil, c.Registration, t0)
			if err != nil {
				t.Fatalf("registration: %v", err)
			}
			if cred.Attestation != "none" || len(cred.Transports) == 0 || cred.Transports[0] != c.Transport {
				t.Errorf("credential %+v", cred)
			}
			id, _ := base64.RawURLEncoding.DecodeString(c.Request["allowCredentials"].([]any)[0].(map[string]any)["id"].(string))
			asr := Pending{Ceremony: Assertion, Challenge: c.Request["challenge"].(string), UserID: user.ID, RPID: rp.ID,
				Expires: t0.Add(ChallengeLifetime), UserVerification: "preferred", Allowed: [][]byte{id}}
			if _, used, err := FinishAssertion(rp, user, &asr, []Credential{cred}, c.Assertion, t0); err != nil {
				t.Fatalf("assertion: %v", err)
			} else if used.SignCount <= cred.SignCount && used.SignCount != 0 {
				t.Errorf("counter %d after %d", used.SignCount, cred.SignCount)
			}

			// Spoiled: another origin accepted, another challenge pending, a changed signature.
			other := rp
			other.Origins = []string{"http://localhost:1"}
			if _, err := FinishRegistration(other, user, &reg, nil, c.Registration, t0); !isInvalid(err) {
				t.Errorf("registration from an origin not accepted: %v", err)
			}
			wrong := asr
			wrong.Challenge = strings.Repeat("A", 43)
			if _, _, err := FinishAssertion(rp, user, &wrong, []Credential{cred}, c.Assertion, t0); !isInvalid(err) {
				t.Errorf("assertion of another challenge: %v", err)
			}
			var a map[string]any
			json.Unmarshal(c.Assertion, &a)
			resp := a["response"].(map[string]any)
			sig, _ := base64.RawURLEncoding.DecodeString(resp["signature"].(string))
			sig[len(sig)/2] ^= 0x01
			resp["signature"] = base64.RawURLEncoding.EncodeToString(sig)
			spoiled, _ := json.Marshal(a)
			if _, _, err := FinishAssertion(rp, user, &asr, []Credential{cred}, spoiled, t0); !isInvalid(err) {
				t.Errorf("assertion with a changed signature: %v", err)
			}
		})
	}
}

func isInvalid(err error) bool {
	r, ok := AsRefusal(err)
	return ok && !r.Malformed
}
