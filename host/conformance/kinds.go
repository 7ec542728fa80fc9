package conformance

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/host"
	"github.com/gatehouse/gatehouse/sdk/abi"
)

// password checks password_check with a valid input and hostile ones: each
// must get a verdict (accepted, or refused with declared codes), never a
// failure.
func (k *kit) password(h *host.Host, d *host.Descriptor) {
	pp, err := h.PasswordPolicy(d.ID)
	if err != nil {
		k.add("password_check", Fail, err.Error())
		return
	}
	check := func(in abi.PasswordCheckRequest, p *problems) {
		// The host checks a refusal's reasons (declared codes, messages); a verdict is any
		// answer without an error.
		if _, err := pp.Check(k.ctx, in); err != nil {
			p.addf("password %s: %v", quote(in.Password), err)
		}
	}
	var valid problems
	check(abi.PasswordCheckRequest{Password: "correct horse battery staple 42", Email: "ada@example.com", Field: "newPassword", ServiceName: "Gatehouse"}, &valid)
	k.result("password_check: a valid request gets a verdict", valid)
	var bad problems
	for _, s := range hostile() {
		check(abi.PasswordCheckRequest{Password: s, Email: s + "@example.com", ServiceName: s, Field: "password"}, &bad)
	}
	k.result(fmt.Sprintf("password_check: %d hostile inputs get a verdict", len(hostile())), bad)
}

// mailer delivers a valid message through the doubles, then hostile ones.
func (k *kit) mailer(h *host.Host, d *host.Descriptor) {
	m, err := h.Mailer(d.ID)
	if err != nil {
		k.add("mailer_deliver", Fail, err.Error())
		return
	}
	var valid problems
	if err := m.Deliver(k.ctx, abi.DeliverRequest{MessageID: "conformance-1", From: "Gatehouse <gatehouse@example.com>", To: []string{"ada@example.com"},
		Subject: "Your code", Text: "Your code is 123456.\n", HTML: "<p>Your code is 123456.</p>"}); err != nil {
		valid.addf("%v", err)
	}
	k.result("mailer_deliver: a valid message is delivered (smtp, http and outbox doubles)", valid)
	var bad problems
	mails := []abi.DeliverRequest{
		{MessageID: "conformance-2", From: "Gâtehouse <gatehouse@example.com>", To: []string{"josé@exämple.com"}, Subject: "Réinitialisez 🔑 " + strings.Repeat("é", 300),
			Text: strings.Repeat("line with trailing space \n", 2000), HTML: "<p>" + strings.Repeat("é", 10000) + "</p>"},
		{MessageID: "conformance-3", From: "not an address", To: []string{"also not"}, Subject: "\r\nBcc: x@example.com", Text: "\x00"},
		{MessageID: "conformance-4", From: "gatehouse@example.com", To: []string{"a@example.com", "b@example.com"}, Subject: "", Text: ""},
		{MessageID: "conformance-1", From: "gatehouse@example.com", To: []string{"ada@example.com"}, Subject: "again", Text: "a retry of the same id"},
	}
	for _, in := range mails {
		err := m.Deliver(k.ctx, in)
		var refused *host.Refused
		var pe *host.PluginError
		switch {
		case err == nil, errors.As(err, &refused):
		case errors.As(err, &pe) && pe.Code == host.CodeRetry:
		default:
			bad.addf("message %s: %v", in.MessageID, err)
		}
	}
	k.result(fmt.Sprintf("mailer_deliver: %d odd messages are delivered, refused or retried", len(mails)), bad)
}

// twoFactor checks a method: enroll, challenge, activate and verify with
// wrong codes of odd shapes, the round trip of the state, a corrupt state,
// and the replay-key rules.
func (k *kit) twoFactor(h *host.Host, d *host.Descriptor) {
	m, err := h.TwoFactor(d.ID)
	if err != nil {
		k.add("twofactor", Fail, err.Error())
		return
	}
	info := m.Info()
	challenges := host.Challenges(*d)
	k.add("twofactor: method metadata", Pass, fmt.Sprintf("route /user/2fa/%s, code in %q, setup fields %v, challenges %v", info.Route, info.CodeField, info.SetupFields, challenges))
	var params []string
	for _, f := range info.SetupFields {
		params = append(params, f, "conformance@example.com")
	}
	user := abi.TwoFactorRequest{UserID: "1", Email: "ada@example.com", ServiceName: "Gatehouse", Params: params}
	call := func(hook string, in abi.TwoFactorRequest) (*abi.TwoFactorResult, bool, error) {
		// The site every request of a server carries (ABI v1.2): a WebAuthn method needs it.
		in.Origins, in.RPID, in.RPName, in.PublicURL = []string{"http://localhost:8080"}, "localhost", "Gatehouse", "http://localhost:8080"
		return m.Call(k.ctx, hook, in)
	}

	// enroll, valid
	var enrollP problems
	o, accepted, err := call(abi.HookTwoFactorEnroll, user)
	switch {
	case err != nil:
		enrollP.addf("%v", err)
	case !accepted:
		enrollP.addf("refused: %s %s", o.Reasons[0].Code, o.Reasons[0].Message)
	case o.State == nil:
		enrollP.addf("no state")
	}
	k.result("twofactor_enroll: a valid request is accepted with a state", enrollP)
	if len(enrollP) > 0 {
		k.add("twofactor: the other hooks", Skip, "enroll gave no state to go on with")
		return
	}
	state := o.State
	if o.ReplayKey != "" {
		k.add("twofactor_enroll: no replay key", Warn, "enroll returned a replay key, which the host ignores")
	}

	// enroll, hostile: each field at most 128 bytes, about what the host's
	// API lets through (an email address, an issuer)
	var hostileP problems
	inputs := hostileUpTo(128)
	for _, s := range inputs {
		in := abi.TwoFactorRequest{UserID: s, Email: s, ServiceName: s}
		for _, f := range info.SetupFields {
			in.Params = append(in.Params, f, s)
		}
		if _, _, err := call(abi.HookTwoFactorEnroll, in); err != nil {
			hostileP.addf("user, email and setup fields %s: %v", quote(s), err)
		}
	}
	k.result(fmt.Sprintf("twofactor_enroll: %d hostile inputs are answered", len(inputs)), hostileP)

	// challenge
	if challenges {
		var p problems
		if _, _, err := call(abi.HookTwoFactorChallenge, abi.TwoFactorRequest{UserID: "1", Email: "ada@example.com", State: state}); err != nil {
			p.addf("%v", err)
		}
		k.result("twofactor_challenge: answered with the enrolled state", p)
	}

	// wrong codes; replay keys only with acceptances; state round trip
	codes := []string{"", "0", strings.Repeat("0", int(max(info.CodeLength, 6))), "💥💥💥", strings.Repeat("x", 64), "\x00\x01\x02", "999999999"}
	hooks := []string{abi.HookTwoFactorActivate, abi.HookTwoFactorVerify}
	var wrongP, replayP, roundP problems
	for _, hk := range hooks {
		cur := state
		for _, code := range codes {
			o, accepted, err := call(hk, abi.TwoFactorRequest{UserID: "1", Email: "ada@example.com", State: cur, Code: code})
			if err != nil {
				wrongP.addf("%s, code %s: %v", hk, quote(code), err)
				continue
			}
			if !accepted && o.ReplayKey != "" {
				replayP.addf("%s denied code %s with replay key %q (a denial uses nothing up)", hk, quote(code), o.ReplayKey)
			}
			if o.State != nil {
				cur = o.State // the state of a counted try goes back in next time
			}
		}
		// The state the plugin returned last is one it can read again.
		if _, _, err := call(hk, abi.TwoFactorRequest{UserID: "1", Email: "ada@example.com", State: cur, Code: "1"}); err != nil {
			roundP.addf("%s with the state it returned: %v", hk, err)
		}
	}
	k.result(fmt.Sprintf("twofactor_activate, twofactor_verify: %d wrong codes are answered", len(codes)), wrongP)
	k.result("twofactor: replay keys come only with an acceptance", replayP)
	k.result("twofactor: the state round trip (each returned state is read back)", roundP)

	// corrupt states must not let a code through
	var corruptP problems
	failed := 0
	corrupt := [][]byte{{}, {0xff, 0xff, 0xff}, bytes.Repeat([]byte{0}, 64), state[:len(state)/2]}
	for _, st := range corrupt {
		for _, hk := range hooks {
			_, accepted, err := call(hk, abi.TwoFactorRequest{UserID: "1", Email: "ada@example.com", State: st, Code: "000000"})
			switch {
			case err != nil:
				failed++ // fails closed
			case accepted:
				corruptP.addf("%s accepted code 000000 with a corrupt state % x", hk, st[:min(len(st), 8)])
			}
		}
	}
	k.result("twofactor: a corrupt state never lets a code through", corruptP)
	if failed > 0 && len(corruptP) == 0 {
		k.add("twofactor: a corrupt state is denied", Warn, fmt.Sprintf("%d of %d calls failed (500 PLUGIN_FAILED) instead of a denial with the corrupt code %s", failed, 2*len(corrupt), info.Codes.Corrupt))
	}
}
