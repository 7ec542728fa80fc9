package server

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/gatehouse/gatehouse/core/twofactor"
	"github.com/gatehouse/gatehouse/host"
)

// pluginMethod is a twofactor plugin as a twofactor.Method. A plugin fault comes back as the
// host's *PluginError (the API answers 500 with its code) and never as an acceptance.
type pluginMethod struct {
	m    *host.TwoFactorMethod
	info twofactor.Info
}

var _ twofactor.Method = pluginMethod{}

func newPluginMethod(m *host.TwoFactorMethod) pluginMethod {
	hi := m.Info()
	return pluginMethod{m: m, info: twofactor.Info{
		ID:           hi.Route,
		SummaryKey:   hi.SummaryKey,
		CodeField:    hi.CodeField,
		CodeLength:   hi.CodeLength,
		SetupFields:  hi.SetupFields,
		Challenges:   hi.Challenges,
		Weak:         hi.Weak,
		ReplayWindow: hi.ReplayWindow,
		Codes:        twofactor.Codes(hi.Codes),
	}}
}

// Info implements twofactor.Method.
func (p pluginMethod) Info() twofactor.Info { return p.info }

// Enroll implements twofactor.Method.
func (p pluginMethod) Enroll(ctx context.Context, req twofactor.Request) (twofactor.Result, error) {
	return p.run(ctx, p.m.Enroll, req)
}

// Activate implements twofactor.Method.
func (p pluginMethod) Activate(ctx context.Context, req twofactor.Request) (twofactor.Result, error) {
	return p.run(ctx, p.m.Activate, req)
}

// Challenge implements twofactor.Method.
func (p pluginMethod) Challenge(ctx context.Context, req twofactor.Request) (twofactor.Result, error) {
	return p.run(ctx, p.m.Challenge, req)
}

// Verify implements twofactor.Method.
func (p pluginMethod) Verify(ctx context.Context, req twofactor.Request) (twofactor.Result, error) {
	return p.run(ctx, p.m.Verify, req)
}

func (p pluginMethod) run(ctx context.Context, hook func(context.Context, host.TwoFactorCall) (host.TwoFactorOutcome, error), req twofactor.Request) (twofactor.Result, error) {
	out, err := hook(ctx, host.TwoFactorCall{
		Now:         req.Now,
		RequestID:   req.RequestID,
		UserID:      strconv.FormatUint(req.UserID, 10),
		Email:       req.Email,
		ServiceName: req.ServiceName,
		State:       req.State,
		Code:        req.Code,
		Params:      req.Params,
	})
	if err != nil {
		return twofactor.Result{}, err
	}
	res := twofactor.Result{
		Denied:    !out.Accepted,
		State:     out.State,
		URI:       out.URI,
		Image:     out.Image,
		ReplayKey: out.ReplayKey,
		Public:    out.Public,
	}
	if res.Denied {
		res.Reason, res.ReplayKey = out.Reason, ""
	}
	for _, msg := range out.Messages {
		res.Messages = append(res.Messages, twofactor.Message{Template: msg.Template, To: msg.To, Vars: msg.Vars})
	}
	return res, nil
}

// reservedSummaryKeys are the properties of GET /user/2fa the core writes itself.
var reservedSummaryKeys = []string{"enabled", "methods", "recoveryCodes"}

// registerTwoFactorPlugins registers one 2FA method per loaded twofactor plugin, in load order
// (the embedded first-party ones first). A method whose route or summary key another one
// already has, or that the core reserves, is not served: that is logged, and the server runs
// without it.
func (s *Server) registerTwoFactorPlugins() {
	summaryKeys := map[string]string{}
	for _, st := range s.plugins.Status() {
		if !st.Loaded || st.Kind != "twofactor" {
			continue
		}
		hm, err := s.plugins.TwoFactor(st.ID)
		if err != nil {
			s.log.Error("2FA method not served", "plugin", st.ID, "error", err)
			continue
		}
		m := newPluginMethod(hm)
		key := m.info.SummaryKey
		if key != "" && (slices.Contains(reservedSummaryKeys, key) || summaryKeys[key] != "") {
			s.log.Error("2FA method not served", "plugin", st.ID, "error", fmt.Sprintf("summary key %q is reserved or taken by %s", key, summaryKeys[key]))
			continue
		}
		if err := s.twoFactor.Register(m); err != nil {
			s.log.Error("2FA method not served", "plugin", st.ID, "error", err)
			continue
		}
		if key != "" {
			summaryKeys[key] = st.ID
		}
		s.log.Debug("2FA method served", "plugin", st.ID, "route", "/user/2fa/"+m.info.ID)
	}
}
