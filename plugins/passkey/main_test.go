package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host"
	"github.com/gatehouse/gatehouse/plugins/passkey/passkey"
	"github.com/gatehouse/gatehouse/plugins/passkey/softkey"
	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

const origin = "http://localhost:8080"

// site is what the host puts in every request.
func site(r abi.TwoFactorRequest) abi.TwoFactorRequest {
	r.UserID, r.Email, r.ServiceName = "7", "jane@example.com", "Acme"
	r.Origins, r.RPID, r.RPName, r.PublicURL = []string{origin}, "localhost", "Acme", origin
	if r.Now == 0 {
		r.Now = time.Now().UnixNano()
	}
	return r
}

func publicKey(t testing.TB, clientData []byte) (challenge string, o map[string]any) {
	t.Helper()
	var cd struct {
		PublicKey map[string]any `json:"publicKey"`
	}
	if err := json.Unmarshal(clientData, &cd); err != nil || cd.PublicKey == nil {
		t.Fatalf("client data %s: %v", clientData, err)
	}
	return cd.PublicKey["challenge"].(string), cd.PublicKey
}

// grants are what the server grants twofactor.passkey (the AssemblyScript
// build verifies signatures with the host's crypto; the Go reference declares
// it too and checks with go-webauthn inside the module).
var grants = map[string][]string{"twofactor.passkey": {abi.CapCrypto}}

// wasmMode loads a .wasm through the shared compilation cache (sdktest.Load):
// the 10 MB Go module compiles in seconds, in minutes under -race.
func wasmMode(t testing.TB, name, wasm string) sdktest.TwoFactorMode {
	h, d := sdktest.Load(t, wasm, host.Config{Grants: grants})
	m, err := h.TwoFactor(d.ID)
	if err != nil {
		t.Fatal(err)
	}
	return sdktest.TwoFactorMode{Name: name, Info: m.Info(),
		Call: func(hook string, in abi.TwoFactorRequest) (*abi.TwoFactorResult, bool, error) {
			return m.Call(context.Background(), hook, in)
		}}
}

// modes are the Go plugin natively and as its .wasm in the host.
func modes(t testing.TB, wasm string) []sdktest.TwoFactorMode {
	return append(sdktest.TwoFactorModes(t, ""), wasmMode(t, "wasm", wasm))
}

// The plugin natively and as the built .wasm in the real host: the ABI
// conformance kit, then registration and assertion through the hooks.
func TestPasskey(t *testing.T) {
	wasm := sdktest.Build(t, ".")
	sdktest.Conformance(t, wasm)
	for _, m := range modes(t, wasm) {
		t.Run(m.Name, func(t *testing.T) {
			info := m.Info
			if info.Route != "passkey" || info.SummaryKey != "passkey" || info.CodeField != "credential" || !info.Additive ||
				strings.Join(info.JSONFields, ",") != "credential" || strings.Join(info.ClientDataFields, ",") != "publicKey" ||
				strings.Join(info.OptionalSetupFields, ",") != "name" || len(info.SetupFields) != 0 || info.Codes.Invalid != "PASSKEY_INVALID" ||
				info.Codes.TooMany != "TOO_MANY_PASSKEY_CHECKS" {
				t.Fatalf("metadata %+v", info)
			}
			a := softkey.New(t, -7)
			enroll, ok, err := m.Call(abi.HookTwoFactorEnroll, site(abi.TwoFactorRequest{Params: []string{"name", "Phone"}}))
			if err != nil || !ok {
				t.Fatalf("enroll: %+v %v", enroll, err)
			}
			challenge, _ := publicKey(t, enroll.ClientData)
			answer := a.Register(softkey.Ceremony{Challenge: challenge, Origin: origin, RPID: "localhost"}, softkey.Registration{})
			act, ok, err := m.Call(abi.HookTwoFactorActivate, site(abi.TwoFactorRequest{State: enroll.State, Code: string(answer)}))
			if err != nil || !ok || len(act.UniqueKeys) != 1 || !strings.Contains(string(act.Summary), `"name":"Phone"`) {
				t.Fatalf("activate: %+v %v", act, err)
			}
			again, ok, err := m.Call(abi.HookTwoFactorActivate, site(abi.TwoFactorRequest{State: act.State, Code: string(answer)}))
			if err != nil || ok || again.Reasons[0].Code != passkey.CodeInvalid {
				t.Fatalf("activate against the active state: %+v %v", again, err)
			}

			active := act.State
			for i := 0; i < 3; i++ {
				ch, ok, err := m.Call(abi.HookTwoFactorChallenge, site(abi.TwoFactorRequest{State: active}))
				if err != nil || !ok {
					t.Fatalf("challenge: %+v %v", ch, err)
				}
				challenge, _ := publicKey(t, ch.ClientData)
				assertion := a.Assert(softkey.Ceremony{Challenge: challenge, Origin: origin, RPID: "localhost"})
				v, ok, err := m.Call(abi.HookTwoFactorVerify, site(abi.TwoFactorRequest{State: ch.State, Code: string(assertion)}))
				if err != nil || !ok || !strings.Contains(string(v.Summary), `"lastUsedAt":"`) {
					t.Fatalf("verify %d: %+v %v", i, v, err)
				}
				replay, ok, err := m.Call(abi.HookTwoFactorVerify, site(abi.TwoFactorRequest{State: v.State, Code: string(assertion)}))
				if err != nil || ok || replay.Reasons[0].Code != passkey.CodeInvalid || replay.State == nil {
					t.Fatalf("replayed verify %d: %+v %v", i, replay, err)
				}
				bad, ok, err := m.Call(abi.HookTwoFactorVerify, site(abi.TwoFactorRequest{State: v.State, Code: "{garbage"}))
				if err != nil || ok || bad.Reasons[0].Code != passkey.CodeBadRequest {
					t.Fatalf("garbage verify %d: %+v %v", i, bad, err)
				}
				active = replay.State
			}
		})
	}
}

// BenchmarkVerify is the authenticate hook (an ES256 assertion) of the Go
// plugin natively and through the host, and of the AssemblyScript build the
// server embeds (as/passkey.wasm) through the host; each iteration gets its
// challenge and answer outside the timer.
func BenchmarkVerify(b *testing.B) {
	wasm := sdktest.Build(b, ".")
	for _, m := range append(modes(b, wasm), wasmMode(b, "assemblyscript", "as/passkey.wasm")) {
		b.Run(m.Name, func(b *testing.B) {
			a := softkey.New(b, -7)
			enroll, _, err := m.Call(abi.HookTwoFactorEnroll, site(abi.TwoFactorRequest{}))
			if err != nil {
				b.Fatal(err)
			}
			challenge, _ := publicKey(b, enroll.ClientData)
			act, ok, err := m.Call(abi.HookTwoFactorActivate, site(abi.TwoFactorRequest{State: enroll.State,
				Code: string(a.Register(softkey.Ceremony{Challenge: challenge, Origin: origin, RPID: "localhost"}, softkey.Registration{}))}))
			if err != nil || !ok {
				b.Fatalf("activate: %+v %v", act, err)
			}
			active := act.State
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				ch, _, err := m.Call(abi.HookTwoFactorChallenge, site(abi.TwoFactorRequest{State: active}))
				if err != nil {
					b.Fatal(err)
				}
				challenge, _ := publicKey(b, ch.ClientData)
				req := site(abi.TwoFactorRequest{State: ch.State, Code: string(a.Assert(softkey.Ceremony{Challenge: challenge, Origin: origin, RPID: "localhost"}))})
				b.StartTimer()
				v, ok, err := m.Call(abi.HookTwoFactorVerify, req)
				if err != nil || !ok {
					b.Fatalf("verify: %+v %v", v, err)
				}
				active = v.State
			}
		})
	}
}
