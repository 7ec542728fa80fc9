package server

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/core/twofactor"
	"github.com/gatehouse/gatehouse/host"
	"github.com/gatehouse/gatehouse/sdk/abi"
)

// pluginMethod is a twofactor plugin as a twofactor.Method. A plugin fault comes back as the
// host's *PluginError (the API answers 500 with its code, 503 for PLUGIN_UNAVAILABLE) and never
// as an acceptance.
type pluginMethod struct {
	m    *host.TwoFactorMethod
	info twofactor.Info
}

var _ twofactor.Method = pluginMethod{}

func newPluginMethod(m *host.TwoFactorMethod) pluginMethod {
	return pluginMethod{m: m, info: methodInfo(m.Info(), host.Challenges(m.Descriptor()))}
}

// methodInfo is the domain's description of a twofactor plugin's method (its resolved
// descriptor metadata).
func methodInfo(hi abi.TwoFactorInfo, challenges bool) twofactor.Info {
	return twofactor.Info{
		ID:                  hi.Route,
		SummaryKey:          hi.SummaryKey,
		CodeField:           hi.CodeField,
		CodeLength:          int(hi.CodeLength),
		SetupFields:         hi.SetupFields,
		OptionalSetupFields: hi.OptionalSetupFields,
		JSONFields:          hi.JSONFields,
		ClientDataFields:    hi.ClientDataFields,
		Additive:            hi.Additive,
		Challenges:          challenges,
		Weak:                hi.Weak,
		ReplayWindow:        time.Duration(hi.ReplayWindowSeconds) * time.Second,
		Codes:               twofactor.Codes(hi.Codes),
	}
}

// unavailableMethod stands for a twofactor plugin that described itself and then failed to load:
// its routes exist and every hook fails with 503 PLUGIN_UNAVAILABLE, so a user who had enabled
// the method is told why (instead of 404), and what needs no plugin (GET /user/2fa, next-guess,
// DELETE) still works.
type unavailableMethod struct {
	id    string
	info  twofactor.Info
	cause string
}

var _ twofactor.Method = unavailableMethod{}

// Info implements twofactor.Method.
func (u unavailableMethod) Info() twofactor.Info { return u.info }

func (u unavailableMethod) fail(hook string) (twofactor.Result, error) {
	return twofactor.Result{}, &host.PluginError{Plugin: u.id, Hook: hook, Code: host.CodeUnavailable,
		Err: fmt.Errorf("%w: it failed to load: %s", host.ErrNotLoaded, u.cause)}
}

// Enroll implements twofactor.Method.
func (u unavailableMethod) Enroll(context.Context, twofactor.Request) (twofactor.Result, error) {
	return u.fail("twofactor_enroll")
}

// Activate implements twofactor.Method.
func (u unavailableMethod) Activate(context.Context, twofactor.Request) (twofactor.Result, error) {
	return u.fail("twofactor_activate")
}

// Challenge implements twofactor.Method.
func (u unavailableMethod) Challenge(context.Context, twofactor.Request) (twofactor.Result, error) {
	return u.fail("twofactor_challenge")
}

// Verify implements twofactor.Method.
func (u unavailableMethod) Verify(context.Context, twofactor.Request) (twofactor.Result, error) {
	return u.fail("twofactor_verify")
}

// Info implements twofactor.Method.
func (p pluginMethod) Info() twofactor.Info { return p.info }

// Enroll implements twofactor.Method.
func (p pluginMethod) Enroll(ctx context.Context, req twofactor.Request) (twofactor.Result, error) {
	return p.run(ctx, abi.HookTwoFactorEnroll, req)
}

// Activate implements twofactor.Method.
func (p pluginMethod) Activate(ctx context.Context, req twofactor.Request) (twofactor.Result, error) {
	return p.run(ctx, abi.HookTwoFactorActivate, req)
}

// Challenge implements twofactor.Method.
func (p pluginMethod) Challenge(ctx context.Context, req twofactor.Request) (twofactor.Result, error) {
	return p.run(ctx, abi.HookTwoFactorChallenge, req)
}

// Verify implements twofactor.Method.
func (p pluginMethod) Verify(ctx context.Context, req twofactor.Request) (twofactor.Result, error) {
	return p.run(ctx, abi.HookTwoFactorVerify, req)
}

// run maps a domain request to the ABI's, calls the hook, and maps its checked result back:
// the one place where the two meet.
func (p pluginMethod) run(ctx context.Context, hook string, req twofactor.Request) (twofactor.Result, error) {
	in := abi.TwoFactorRequest{
		RequestID:   req.RequestID,
		UserID:      strconv.FormatUint(req.UserID, 10),
		Email:       req.Email,
		ServiceName: req.ServiceName,
		State:       req.State,
		Code:        req.Code,
		Params:      pairs(req.Params),
		Origin:      req.Origin,
		Origins:     req.Origins,
		RPID:        req.RPID,
		RPName:      req.RPName,
		PublicURL:   req.PublicURL,
		ActiveState: req.ActiveState,
	}
	if !req.Now.IsZero() {
		in.Now = req.Now.UnixNano()
	}
	out, accepted, err := p.m.Call(ctx, hook, in)
	if err != nil {
		return twofactor.Result{}, err
	}
	res := twofactor.Result{
		Denied:     !accepted,
		State:      out.State,
		Secret:     out.Secret,
		URI:        out.URI,
		Image:      out.Image,
		ReplayKey:  out.ReplayKey,
		Public:     pairMap(out.Public),
		ClientData: out.ClientData,
		Summary:    out.Summary,
		UniqueKeys: out.UniqueKeys,
	}
	if res.Denied {
		res.Reason, res.Message, res.ReplayKey, res.UniqueKeys = out.Reasons[0].Code, out.Reasons[0].Message, "", nil
	}
	for _, msg := range out.Messages {
		res.Messages = append(res.Messages, twofactor.Message{Template: msg.Template, To: msg.To, Vars: pairMap(msg.Vars)})
	}
	return res, nil
}

// pairs is a map as ABI pairs (name, value, ...), in name order.
func pairs(m map[string]string) []string {
	if len(m) == 0 {
		return nil
	}
	out := make([]string, 0, 2*len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, k, m[k])
	}
	return out
}

// pairMap is ABI pairs (checked by the host: even, names unique enough) as a map; nil for none.
func pairMap(kv []string) map[string]string {
	if len(kv) == 0 {
		return nil
	}
	m := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
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
	// A method whose plugin described itself but failed to load keeps its routes, answering
	// 503 PLUGIN_UNAVAILABLE.
	causes := map[string]string{}
	for _, st := range s.plugins.Status() {
		if !st.Loaded && st.ID != "" && causes[st.ID] == "" {
			causes[st.ID] = st.Error
		}
	}
	for _, d := range s.plugins.UnloadedDescriptors("twofactor") {
		hi, err := host.ResolveTwoFactorInfo(d)
		if err != nil {
			continue // a bad descriptor: no route to serve
		}
		u := unavailableMethod{id: d.ID, info: methodInfo(hi, host.Challenges(d)), cause: causes[d.ID]}
		key := u.info.SummaryKey
		if key != "" && (slices.Contains(reservedSummaryKeys, key) || summaryKeys[key] != "") {
			u.info.SummaryKey = ""
		}
		if err := s.twoFactor.Register(u); err != nil {
			continue // the route is another method's
		}
		if u.info.SummaryKey != "" {
			summaryKeys[u.info.SummaryKey] = d.ID
		}
		s.log.Warn("2FA method not loaded: its routes answer 503 PLUGIN_UNAVAILABLE", "plugin", d.ID, "route", "/user/2fa/"+u.info.ID, "error", u.cause)
	}
}
