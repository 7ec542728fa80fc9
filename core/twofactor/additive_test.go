package twofactor

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/account"
	"github.com/gatehouse/gatehouse/core/auth"
	"github.com/gatehouse/gatehouse/core/failure"
	"github.com/gatehouse/gatehouse/core/session"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/core/token"
)

// keyring is an additive method in the shape of passkeys (ABI v1.2): its state is the list of
// the user's key ids, a code is a JSON object {"id": ...}, setup and challenge hand the client a
// JSON object, and the ids must be unique across users.
type keyring struct {
	// seen records the requests' ActiveState by hook, so a test can check what the core passed.
	seen map[string][]byte
}

type keyringState struct {
	Keys    []string `json:"keys"`
	Pending string   `json:"pending,omitempty"`
}

func (k *keyring) Info() Info {
	return Info{ID: "keyring", SummaryKey: "keyring", CodeField: "credential", JSONFields: []string{"credential"},
		OptionalSetupFields: []string{"name"}, ClientDataFields: []string{"publicKey"}, Additive: true, Challenges: true,
		Codes: DefaultCodes("KEYRING")}
}

func decodeKeyring(b []byte) keyringState {
	var st keyringState
	_ = json.Unmarshal(b, &st)
	return st
}

func (k *keyring) Enroll(_ context.Context, req Request) (Result, error) {
	k.seen["enroll"] = req.ActiveState
	st := decodeKeyring(req.ActiveState)
	st.Pending = "new"
	state, _ := json.Marshal(st)
	return Result{State: state, ClientData: []byte(`{"publicKey":{"challenge":"c1","exclude":` + mustJSON(st.Keys) + `}}`)}, nil
}

func (k *keyring) Activate(_ context.Context, req Request) (Result, error) {
	k.seen["activate"] = req.ActiveState
	var cred struct{ ID string }
	if err := json.Unmarshal([]byte(req.Code), &cred); err != nil || cred.ID == "" {
		return Result{Denied: true, Reason: ReasonBadRequest, Message: "credential is not a key"}, nil
	}
	st := decodeKeyring(req.ActiveState)
	st.Keys = append(st.Keys, cred.ID)
	state, _ := json.Marshal(st)
	return Result{State: state, UniqueKeys: st.Keys, Summary: []byte(`{"credentials":` + mustJSON(st.Keys) + `}`)}, nil
}

func (k *keyring) Challenge(_ context.Context, req Request) (Result, error) {
	return Result{ClientData: []byte(`{"publicKey":{"challenge":"c2"}}`)}, nil
}

func (k *keyring) Verify(_ context.Context, req Request) (Result, error) {
	var cred struct{ ID string }
	if err := json.Unmarshal([]byte(req.Code), &cred); err != nil || cred.ID == "" {
		return Result{Denied: true, Reason: ReasonBadRequest, Message: "credential is not a key"}, nil
	}
	if !slices.Contains(decodeKeyring(req.State).Keys, cred.ID) {
		return Result{Denied: true, Reason: "KEYRING_INVALID"}, nil
	}
	return Result{Summary: []byte(`{"credentials":` + mustJSON(decodeKeyring(req.State).Keys) + `,"lastUsed":"` + cred.ID + `"}`)}, nil
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func withType(p auth.Principal, typ token.Type) auth.Principal {
	p.Claims.Type = typ
	return p
}

func wantStatus(t *testing.T, err error, status int, message string) {
	t.Helper()
	fe, ok := failure.As(err)
	if !ok || fe.Status != status || (message != "" && fe.Code != message) {
		t.Fatalf("got %v, want %d %s", err, status, message)
	}
}

func TestAdditiveMethod(t *testing.T) {
	f := newFixture(t)
	ring := &keyring{seen: map[string][]byte{}}
	if err := f.svc.Register(ring); err != nil {
		t.Fatal(err)
	}
	f.svc.WatchChanges()
	ctx := context.Background()
	sudo := withType(f.user, token.Sudo)

	// Setup hands the client the method's data as the answer's body.
	res, err := f.svc.Setup(ctx, f.user, "keyring", map[string]string{"name": "phone"}, MailContext{})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(res)
	if string(body) != `{"publicKey":{"challenge":"c1","exclude":null}}` {
		t.Fatalf("setup answer %s", body)
	}
	if ring.seen["enroll"] != nil {
		t.Fatalf("enroll got an active state before the method was active: %s", ring.seen["enroll"])
	}

	// A malformed credential is a 400 with the method's sentence, and no counted guess.
	_, err = f.svc.Enable(ctx, f.user, "keyring", `{"nope":1}`)
	wantStatus(t, err, 400, "credential is not a key")
	if wait, _ := f.svc.NextGuess(ctx, f.user, "keyring"); wait != 0 {
		t.Fatalf("a malformed credential was counted: wait %v", wait)
	}

	codes, err := f.svc.Enable(ctx, f.user, "keyring", `{"id":"k1"}`)
	if err != nil || len(codes) != 10 {
		t.Fatalf("first enable: %v, %d recovery codes", err, len(codes))
	}

	// A second key needs a sudo token, and the method sees the active state at both steps.
	if _, err := f.svc.Setup(ctx, sudo, "keyring", nil, MailContext{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ring.seen["enroll"]), `"k1"`) {
		t.Fatalf("enroll of a second key got active state %s", ring.seen["enroll"])
	}
	_, err = f.svc.Enable(ctx, f.user, "keyring", `{"id":"k2"}`)
	wantStatus(t, err, 401, failure.CodeSudoTokenRequired)
	codes, err = f.svc.Enable(ctx, sudo, "keyring", `{"id":"k2"}`)
	if err != nil || len(codes) != 0 {
		t.Fatalf("second enable: %v, codes %v", err, codes)
	}
	if !strings.Contains(string(ring.seen["activate"]), `"k1"`) {
		t.Fatalf("activate of a second key got active state %s", ring.seen["activate"])
	}

	// GET /user/2fa shows the method's summary beside completedAt.
	st, err := f.svc.Status(f.user)
	if err != nil {
		t.Fatal(err)
	}
	var status map[string]json.RawMessage
	_ = json.Unmarshal(st, &status)
	if !strings.Contains(string(status["keyring"]), `"credentials":["k1","k2"]`) || !strings.Contains(string(status["keyring"]), `"completedAt"`) {
		t.Fatalf("status %s", st)
	}

	// Challenge answers with the method's data; a verify updates the summary.
	data, err := f.svc.Challenge(ctx, f.user, "keyring", MailContext{})
	if err != nil || string(data) != `{"publicKey":{"challenge":"c2"}}` {
		t.Fatalf("challenge: %s, %v", data, err)
	}
	if _, err := f.svc.Authenticate(ctx, f.user, "keyring", `{"id":"k2"}`); err != nil {
		t.Fatal(err)
	}
	st, _ = f.svc.Status(f.user)
	if !strings.Contains(string(st), `"lastUsed":"k2"`) {
		t.Fatalf("status after verify %s", st)
	}
	_, err = f.svc.Authenticate(ctx, f.user, "keyring", `{"id":"k9"}`)
	wantStatus(t, err, 401, "KEYRING_INVALID")

	// Another user cannot activate a key id this user holds, until this user deletes the method.
	other := f.secondUser(t, 8, "v@example.com")
	if _, err := f.svc.Setup(ctx, other, "keyring", nil, MailContext{}); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Enable(ctx, other, "keyring", `{"id":"k1"}`)
	wantStatus(t, err, 401, "KEYRING_INVALID")
	if err := f.svc.Delete(ctx, sudo, "keyring"); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(time.Hour) // past the wrong guess's wait
	if _, err := f.svc.Enable(ctx, other, "keyring", `{"id":"k1"}`); err != nil {
		t.Fatalf("the freed key id: %v", err)
	}
}

// secondUser makes another account with a session and returns its principal.
func (f *fixture) secondUser(t *testing.T, id uint64, email string) auth.Principal {
	t.Helper()
	sid := "s" + email
	if err := f.svc.Store.Update(func(txn store.Txn) error {
		if err := account.Create(txn, account.Account{ID: id, Email: email}); err != nil {
			return err
		}
		return session.Put(txn, session.Session{ID: sid, UserID: id, ExpiresAt: f.now.Add(time.Hour)}, f.now)
	}); err != nil {
		t.Fatal(err)
	}
	return auth.Principal{UserID: id, Claims: token.Claims{Type: token.Access, SessionID: sid}}
}

func TestSetupResultJSON(t *testing.T) {
	tests := []struct {
		name string
		in   SetupResult
		want string
	}{
		{"otpauth only", SetupResult{URL: "otpauth://x", QR: "data:q", Secret: "S"}, `{"url":"otpauth://x","qr":"data:q","secret":"S"}`},
		{"client data only", SetupResult{ClientData: []byte(`{"publicKey":{"a":1}}`)}, `{"publicKey":{"a":1}}`},
		{"both, spaced", SetupResult{URL: "u", ClientData: []byte(" { \"publicKey\" : 1 } ")}, `{"url":"u","publicKey":1}`},
		{"empty client data", SetupResult{URL: "u", ClientData: []byte(`{ }`)}, `{"url":"u"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.in)
			if err != nil || string(b) != tt.want {
				t.Fatalf("got %s, %v; want %s", b, err, tt.want)
			}
		})
	}
}

// Deleting a user's 2FA state (an account's deletion, an operator's reset) frees the unique
// keys its methods held.
func TestDeleteUserFreesUniqueKeys(t *testing.T) {
	f := newFixture(t)
	if err := f.svc.Register(&keyring{seen: map[string][]byte{}}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := f.svc.Setup(ctx, f.user, "keyring", nil, MailContext{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Enable(ctx, f.user, "keyring", `{"id":"k1"}`); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Store.Update(func(txn store.Txn) error { return f.svc.DeleteUser(txn, f.user.UserID) }); err != nil {
		t.Fatal(err)
	}
	other := f.secondUser(t, 8, "v@example.com")
	if _, err := f.svc.Setup(ctx, other, "keyring", nil, MailContext{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Enable(ctx, other, "keyring", `{"id":"k1"}`); err != nil {
		t.Fatalf("the deleted user's key id: %v", err)
	}
	if err := f.svc.Store.View(func(txn store.Txn) error {
		n := 0
		err := txn.Scan(store.Key("mfaunique"), func(_, v []byte) bool {
			if string(v) != "8" {
				t.Errorf("an index entry of user %s survived", v)
			}
			n++
			return true
		})
		if n != 1 {
			t.Errorf("%d index entries, want the other user's one", n)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}
