package sdktest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host"
	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/internal/guest"
)

// MailerMode is one way to call a mailer plugin: "native" through the SDK's
// encoding in the test binary, or "wasm" as the built .wasm in the real
// host. Both answer as host.Mailer does, so one test body runs in both.
type MailerMode struct {
	// Name is "native" or "wasm".
	Name string
	// Deliver hands one message to the plugin: nil when delivered, a
	// *host.Refused when refused for good, a *host.PluginError otherwise
	// (code PLUGIN_RETRY for a temporary failure).
	Deliver func(ctx context.Context, m abi.DeliverRequest) error
}

// MailerModes returns the modes a mailer plugin can be tested in, both
// delivering through a test host made with cfg (NewHost): "wasm" loads the
// .wasm at path into it (pass "" to skip), and "native", when the test
// binary registered a mailer (the plugin's own package test), sends the
// plugin's transport calls (sdk/smtp, sdk/outbox, sdk/httpconn) to the same
// host's capabilities, so both reach the same relay, folder or connections.
// cfg.Grants must grant the plugin its capabilities, as an operator would.
//
//	cfg := host.Config{Grants: map[string][]string{"mailer.x": {"http"}}, HTTPConnections: ...}
//	for _, m := range sdktest.MailerModes(t, wasm, cfg) {
//		t.Run(m.Name, func(t *testing.T) {
//			err := m.Deliver(ctx, abi.DeliverRequest{MessageID: "m1", From: "a@example.com", To: []string{"b@example.com"}, Subject: "s", Text: "t"})
//			...
//		})
//	}
func MailerModes(t testing.TB, path string, cfg host.Config) []MailerMode {
	t.Helper()
	var modes []MailerMode
	if reg := guest.Registered(); reg != nil && reg.Desc.Kind == abi.KindMailer {
		h := NewHost(t, cfg)
		id := reg.Desc.ID
		prev := guest.NativeTransport
		guest.NativeTransport = func(capability string, req []byte) []byte {
			reply, err := h.CallTransport(context.Background(), id, capability, req)
			if err != nil {
				t.Errorf("sdktest: native %s call: %v", capability, err)
				r := abi.Reply{Outcome: abi.OutcomeTemporary, Error: err.Error()}
				if capability == abi.CapHTTP {
					return (&abi.HTTPResponse{Outcome: r.Outcome, Error: r.Error}).Marshal(nil)
				}
				return r.Marshal(nil)
			}
			return reply
		}
		t.Cleanup(func() { guest.NativeTransport = prev })
		modes = append(modes, MailerMode{Name: "native", Deliver: func(_ context.Context, m abi.DeliverRequest) error {
			return nativeDeliver(id, m)
		}})
	}
	if path != "" {
		h, d := Load(t, path, cfg)
		mailer, err := h.Mailer(d.ID)
		if err != nil {
			t.Fatal(err)
		}
		modes = append(modes, MailerMode{Name: "wasm", Deliver: mailer.Deliver})
	}
	return modes
}

func nativeDeliver(id string, req abi.DeliverRequest) error {
	if req.Now == 0 {
		req.Now = time.Now().UnixNano()
	}
	status, out := guest.Dispatch(abi.HookMailerDeliver, req.Marshal(nil), nil)
	fail := func(code string, err error) error {
		return &host.PluginError{Plugin: id, Hook: abi.HookMailerDeliver, Code: code, Err: err}
	}
	switch status {
	case abi.StatusOK:
		return nil
	case abi.StatusDenied:
		var r abi.Result
		if err := r.Unmarshal(out); err != nil || len(r.Reasons) == 0 {
			return fail(host.CodeBadOutput, errors.New("denied without a readable reason"))
		}
		refused := &host.Refused{Plugin: id}
		for _, reason := range r.Reasons {
			refused.Codes = append(refused.Codes, reason.Code)
			refused.Reasons = append(refused.Reasons, reason.Message)
		}
		return refused
	case abi.StatusRetry:
		return fail(host.CodeRetry, errors.New("temporary failure"))
	}
	return fail(host.CodeFailed, fmt.Errorf("status %v", status))
}
