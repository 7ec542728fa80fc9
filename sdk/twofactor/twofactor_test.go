package twofactor

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/internal/guest"
)

// method is a toy second factor: the code is the state.
type method struct{ challenge bool }

func (method) Enroll(req *Request) (*Result, error) {
	return &Result{State: []byte("123456"), Secret: "S", URI: "otpauth://totp/x", Public: map[string]string{"label": req.Params["label"]}}, nil
}
func (m method) Activate(req *Request) (*Result, error) { return m.Verify(req) }
func (method) Verify(req *Request) (*Result, error) {
	switch {
	case req.Code == "boom":
		return nil, errors.New("boom")
	case req.Code != string(req.State):
		return &Result{Reasons: []sdk.Reason{{Code: "OTP_INVALID", Message: "wrong code"}}, State: []byte("tries=1")}, nil
	}
	return &Result{ReplayKey: "k-" + req.Code}, nil
}

type challenger struct{ method }

func (challenger) Challenge(req *Request) (*Result, error) {
	return &Result{State: []byte("654321"), Messages: []Message{{Template: "toy-challenge", To: req.Email, Vars: map[string]string{"Code": "654321", "A": "1"}}}}, nil
}

func call(t *testing.T, hook string, req abi.TwoFactorRequest) (abi.Status, abi.TwoFactorResult) {
	t.Helper()
	status, out := guest.Dispatch(hook, req.Marshal(nil), nil)
	var r abi.TwoFactorResult
	if err := r.Unmarshal(out); err != nil {
		t.Fatal(err)
	}
	return status, r
}

func TestMethod(t *testing.T) {
	for _, withChallenge := range []bool{false, true} {
		guest.Reset()
		var m Method = method{}
		if withChallenge {
			m = challenger{}
		}
		Register(sdk.Info{ID: "twofactor.toy", Name: "toy", Version: "1", Codes: []string{"OTP_INVALID"}},
			MethodInfo{CodeField: "otp", CodeLength: 6, SetupFields: []string{"label"}, CodePrefix: "TOY", Codes: Codes{Invalid: "OTP_INVALID"}, ReplayWindow: 90 * time.Second}, m)
		d := guest.Registered().Desc
		if d.Kind != abi.KindTwoFactor || len(d.Hooks) != map[bool]int{false: 3, true: 4}[withChallenge] {
			t.Fatalf("descriptor %+v", d)
		}
		want := abi.TwoFactorInfo{CodeField: "otp", CodeLength: 6, SetupFields: []string{"label"}, CodePrefix: "TOY",
			Codes: abi.TwoFactorCodes{Invalid: "OTP_INVALID"}, ReplayWindowSeconds: 90}
		if d.TwoFactor == nil || !reflect.DeepEqual(*d.TwoFactor, want) {
			t.Fatalf("method metadata %+v, want %+v", d.TwoFactor, want)
		}
		tests := []struct {
			name   string
			hook   string
			req    abi.TwoFactorRequest
			status abi.Status
			state  string
		}{
			{"enroll", abi.HookTwoFactorEnroll, abi.TwoFactorRequest{UserID: "1", Params: []string{"label", "phone"}}, abi.StatusOK, "123456"},
			{"verify ok", abi.HookTwoFactorVerify, abi.TwoFactorRequest{State: []byte("123456"), Code: "123456"}, abi.StatusOK, ""},
			{"verify wrong, state still returned", abi.HookTwoFactorVerify, abi.TwoFactorRequest{State: []byte("123456"), Code: "000000"}, abi.StatusDenied, "tries=1"},
			{"error fails", abi.HookTwoFactorActivate, abi.TwoFactorRequest{Code: "boom"}, abi.StatusFailed, ""},
		}
		if withChallenge {
			tests = append(tests, struct {
				name   string
				hook   string
				req    abi.TwoFactorRequest
				status abi.Status
				state  string
			}{"challenge", abi.HookTwoFactorChallenge, abi.TwoFactorRequest{}, abi.StatusOK, "654321"})
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				status, r := call(t, tt.hook, tt.req)
				if status != tt.status || string(r.State) != tt.state {
					t.Fatalf("status %v state %q, want %v %q", status, r.State, tt.status, tt.state)
				}
			})
		}
		if status, _ := guest.Dispatch(abi.HookTwoFactorVerify, []byte{0xff}, nil); status != abi.StatusBadInput {
			t.Fatalf("garbage input: %v", status)
		}
		// The new v1.1 fields cross the boundary.
		if _, r := call(t, abi.HookTwoFactorEnroll, abi.TwoFactorRequest{Params: []string{"label", "phone"}}); !slices.Equal(r.Public, []string{"label", "phone"}) {
			t.Fatalf("params to public: %q", r.Public)
		}
		if _, r := call(t, abi.HookTwoFactorVerify, abi.TwoFactorRequest{State: []byte("123456"), Code: "123456"}); r.ReplayKey != "k-123456" {
			t.Fatalf("replay key %q", r.ReplayKey)
		}
		if withChallenge {
			_, r := call(t, abi.HookTwoFactorChallenge, abi.TwoFactorRequest{Email: "u@example.com"})
			want := []abi.Message{{Template: "toy-challenge", To: "u@example.com", Vars: []string{"A", "1", "Code", "654321"}}}
			if !reflect.DeepEqual(r.Messages, want) {
				t.Fatalf("messages %+v, want %+v", r.Messages, want)
			}
		}
	}
	guest.Reset()
}
