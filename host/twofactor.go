package host

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/sdk/abi"
)

// TwoFactorMethod is a loaded twofactor plugin. It is safe for concurrent
// use. Every hook fails closed: with an error (always a *PluginError) there is
// no result, never an acceptance.
type TwoFactorMethod struct {
	p    *plugin
	info abi.TwoFactorInfo
}

// TwoFactor returns the loaded twofactor plugin with the id, such as
// "twofactor.totp". The error is a *PluginError with code
// PLUGIN_UNAVAILABLE when there is none.
func (h *Host) TwoFactor(id string) (*TwoFactorMethod, error) {
	p, err := h.get(id, abi.KindTwoFactor)
	if err != nil {
		return nil, err
	}
	info, err := ResolveTwoFactorInfo(*p.desc)
	if err != nil { // checked at load; cannot happen
		return nil, p.fail("", CodeUnavailable, err)
	}
	return &TwoFactorMethod{p: p, info: info}, nil
}

// Descriptor returns the plugin's descriptor.
func (m *TwoFactorMethod) Descriptor() Descriptor { return *m.p.desc }

// Info returns the method's metadata with every default applied
// (ResolveTwoFactorInfo).
func (m *TwoFactorMethod) Info() abi.TwoFactorInfo { return cloneTwoFactorInfo(m.info) }

// Limits on a twofactor plugin's output (host/ABI.md, "Twofactor methods").
const (
	maxTwoFactorState      = 64 << 10
	maxTwoFactorImage      = 256 << 10
	maxTwoFactorURI        = 2048
	maxTwoFactorReplay     = 128
	maxTwoFactorPairs      = 8
	maxTwoFactorMessages   = 8
	maxTwoFactorCode       = 64
	maxTwoFactorClientData = 64 << 10
	maxTwoFactorSummary    = 8 << 10
	maxTwoFactorUniqueKeys = 32
	maxTwoFactorUniqueKey  = 128
)

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// Call runs one twofactor hook (abi.HookTwoFactorEnroll, ...Activate,
// ...Challenge or ...Verify) with req. A zero req.Now is the host's Clock;
// an empty req.RequestID the one Config.RequestID reads from ctx. Params
// reach the plugin at enroll only, and only the method's declared setup
// fields. The result is checked against the ABI's rules for the hook
// (twofactorOutput); accepted is true only when the plugin answered status
// ok, and a denial's result carries at least one declared reason.
func (m *TwoFactorMethod) Call(ctx context.Context, hook string, req abi.TwoFactorRequest) (res *abi.TwoFactorResult, accepted bool, err error) {
	if req.Now == 0 {
		req.Now = m.p.host.cfg.Clock().UnixNano()
	}
	ctx, req.RequestID = m.p.host.withRequestID(ctx, req.RequestID)
	req.Params = m.declaredParams(hook, req.Params)
	res, status, err := invoke[abi.TwoFactorResult](ctx, m.p, hook, &req, func(status abi.Status, r *abi.TwoFactorResult) error {
		return m.checkOutput(hook, status, r)
	})
	// On error status is the zero Status, which is StatusOK: never an acceptance.
	return res, err == nil && status == abi.StatusOK, err
}

// declaredParams keeps the setup-body pairs of the method's declared setup
// fields, at enroll; no hook else gets any.
func (m *TwoFactorMethod) declaredParams(hook string, params []string) []string {
	if hook != abi.HookTwoFactorEnroll || len(params) == 0 {
		return nil
	}
	var kept []string
	for i := 0; i+1 < len(params); i += 2 {
		if slices.Contains(m.info.SetupFields, params[i]) || slices.Contains(m.info.OptionalSetupFields, params[i]) {
			kept = append(kept, params[i], params[i+1])
		}
	}
	return kept
}

// checkOutput checks a decoded result against the ABI's rules for the hook.
func (m *TwoFactorMethod) checkOutput(hook string, status abi.Status, r *abi.TwoFactorResult) error {
	accepted := status == abi.StatusOK
	switch {
	case status == abi.StatusDenied:
		if err := m.p.checkReasons(r.Reasons); err != nil {
			return err
		}
	case len(r.Reasons) > 0:
		return fmt.Errorf("%w: reasons with status ok", ErrBadOutput)
	}
	if len(r.State) > maxTwoFactorState {
		return fmt.Errorf("%w: state over %d bytes", ErrBadOutput, maxTwoFactorState)
	}
	if hook == abi.HookTwoFactorEnroll && accepted && r.State == nil {
		return fmt.Errorf("%w: enroll returned no state", ErrBadOutput)
	}
	if len(r.URI) > maxTwoFactorURI || len(r.Secret) > maxTwoFactorURI {
		return fmt.Errorf("%w: uri or secret over %d bytes", ErrBadOutput, maxTwoFactorURI)
	}
	if r.Image != nil && (len(r.Image) > maxTwoFactorImage || !bytes.HasPrefix(r.Image, pngMagic)) {
		return fmt.Errorf("%w: image is not a PNG of at most %d bytes", ErrBadOutput, maxTwoFactorImage)
	}
	if len(r.ReplayKey) > maxTwoFactorReplay {
		return fmt.Errorf("%w: replay key over %d bytes", ErrBadOutput, maxTwoFactorReplay)
	}
	if err := checkPairs(r.Public, "public"); err != nil {
		return err
	}
	if len(r.Messages) > 0 && hook != abi.HookTwoFactorEnroll && hook != abi.HookTwoFactorChallenge {
		return fmt.Errorf("%w: messages from %s", ErrBadOutput, hook)
	}
	if len(r.Messages) > maxTwoFactorMessages {
		return fmt.Errorf("%w: more than %d messages", ErrBadOutput, maxTwoFactorMessages)
	}
	for _, msg := range r.Messages {
		if !strings.HasPrefix(msg.Template, m.info.Route+"-") || !templatePattern.MatchString(msg.Template) {
			return fmt.Errorf("%w: template %q is not named %s-... of [a-z0-9_-], at most 64 characters", ErrBadOutput, truncate(msg.Template, 64), m.info.Route)
		}
		if msg.To == "" || len(msg.To) > 320 {
			return fmt.Errorf("%w: message without a recipient", ErrBadOutput)
		}
		if err := checkPairs(msg.Vars, "vars"); err != nil {
			return err
		}
	}
	// ABI v1.2.
	if r.ClientData != nil {
		if hook != abi.HookTwoFactorEnroll && hook != abi.HookTwoFactorChallenge {
			return fmt.Errorf("%w: client data from %s", ErrBadOutput, hook)
		}
		if err := checkJSONObject(r.ClientData, maxTwoFactorClientData, "client data", func(k string) bool { return slices.Contains(m.info.ClientDataFields, k) }); err != nil {
			return err
		}
	}
	if r.Summary != nil {
		if hook != abi.HookTwoFactorActivate && hook != abi.HookTwoFactorVerify {
			return fmt.Errorf("%w: summary from %s", ErrBadOutput, hook)
		}
		if err := checkJSONObject(r.Summary, maxTwoFactorSummary, "summary", func(k string) bool { return k != "completedAt" }); err != nil {
			return err
		}
	}
	if len(r.UniqueKeys) > 0 && (hook != abi.HookTwoFactorActivate || !accepted) {
		return fmt.Errorf("%w: unique keys from %s", ErrBadOutput, hook)
	}
	if len(r.UniqueKeys) > maxTwoFactorUniqueKeys {
		return fmt.Errorf("%w: more than %d unique keys", ErrBadOutput, maxTwoFactorUniqueKeys)
	}
	for _, k := range r.UniqueKeys {
		if k == "" || len(k) > maxTwoFactorUniqueKey {
			return fmt.Errorf("%w: a unique key is empty or over %d bytes", ErrBadOutput, maxTwoFactorUniqueKey)
		}
	}
	return nil
}

// checkJSONObject checks that b is one JSON object of at most limit bytes
// whose every property name allowed accepts.
func checkJSONObject(b []byte, limit int, what string, allowed func(string) bool) error {
	if len(b) > limit {
		return fmt.Errorf("%w: %s over %d bytes", ErrBadOutput, what, limit)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil || obj == nil {
		return fmt.Errorf("%w: %s is not a JSON object", ErrBadOutput, what)
	}
	for k := range obj {
		if !allowed(k) {
			return fmt.Errorf("%w: %s property %q is not declared or is reserved", ErrBadOutput, what, truncate(k, 64))
		}
	}
	return nil
}

// checkPairs checks name, value, ... pairs: an even count of at most
// maxTwoFactorPairs pairs, names of 1 to 64 bytes, values of at most
// maxTextField.
func checkPairs(kv []string, what string) error {
	if len(kv)%2 != 0 || len(kv)/2 > maxTwoFactorPairs {
		return fmt.Errorf("%w: %s must be at most %d name/value pairs", ErrBadOutput, what, maxTwoFactorPairs)
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i] == "" || len(kv[i]) > 64 || len(kv[i+1]) > maxTextField {
			return fmt.Errorf("%w: %s: empty or oversized name or value", ErrBadOutput, what)
		}
	}
	return nil
}

func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

var (
	routePattern  = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)
	fieldPattern  = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]{0,63}$`)
	prefixPattern = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,31}$`)
	// templatePattern is a message's template name: a plain file name, never a path.
	templatePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
)

// reservedRoutes are the path segments under /user/2fa the core serves itself.
var reservedRoutes = []string{"recovery-code"}

// ResolveTwoFactorInfo checks a twofactor plugin descriptor's method metadata
// and returns it with the defaults of host/ABI.md applied: Route, CodeField
// and CodePrefix filled in, every code of Codes set (abi.DeriveCodes, then the
// plugin's overrides) and ReplayWindowSeconds capped at a day. Load calls it,
// so a plugin with bad metadata does not load; a descriptor of another kind
// must carry none.
func ResolveTwoFactorInfo(d Descriptor) (abi.TwoFactorInfo, error) {
	if d.Kind != abi.KindTwoFactor {
		if d.TwoFactor != nil {
			return abi.TwoFactorInfo{}, fmt.Errorf("descriptor: twofactor metadata on a %s plugin", d.Kind)
		}
		return abi.TwoFactorInfo{}, nil
	}
	var info abi.TwoFactorInfo
	if d.TwoFactor != nil {
		info = cloneTwoFactorInfo(*d.TwoFactor)
	}
	// Capped at a day: no code is valid that long.
	info.ReplayWindowSeconds = min(info.ReplayWindowSeconds, 86400)
	if info.Route == "" {
		info.Route = strings.TrimPrefix(d.ID, string(abi.KindTwoFactor)+".")
	}
	if !routePattern.MatchString(info.Route) || slices.Contains(reservedRoutes, info.Route) {
		return info, fmt.Errorf("descriptor: twofactor route %q is reserved or not [a-z][a-z0-9_-]* of at most 32 characters", info.Route)
	}
	if info.SummaryKey != "" && !fieldPattern.MatchString(info.SummaryKey) {
		return info, fmt.Errorf("descriptor: twofactor summary key %q is not a plain property name", info.SummaryKey)
	}
	if info.CodeField == "" {
		info.CodeField = "code"
	}
	if !fieldPattern.MatchString(info.CodeField) {
		return info, fmt.Errorf("descriptor: twofactor code field %q is not a plain property name", info.CodeField)
	}
	if info.CodeLength > maxTwoFactorCode {
		return info, fmt.Errorf("descriptor: twofactor code length %d is over %d", info.CodeLength, maxTwoFactorCode)
	}
	if len(info.SetupFields)+len(info.OptionalSetupFields) > maxTwoFactorPairs {
		return info, fmt.Errorf("descriptor: more than %d twofactor setup fields", maxTwoFactorPairs)
	}
	setup := slices.Concat(info.SetupFields, info.OptionalSetupFields)
	for i, f := range setup {
		if !fieldPattern.MatchString(f) || f == info.CodeField || slices.Contains(setup[:i], f) {
			return info, fmt.Errorf("descriptor: twofactor setup field %q is not a plain property name, repeats, or is the code field", f)
		}
	}
	for _, f := range info.JSONFields {
		if f != info.CodeField && !slices.Contains(setup, f) {
			return info, fmt.Errorf("descriptor: twofactor JSON field %q is neither the code field nor a setup field", f)
		}
	}
	if info.CodeLength > 0 && slices.Contains(info.JSONFields, info.CodeField) {
		return info, fmt.Errorf("descriptor: twofactor code field %q is a JSON object and cannot have a code length", info.CodeField)
	}
	if len(info.ClientDataFields) > maxTwoFactorPairs {
		return info, fmt.Errorf("descriptor: more than %d twofactor client data fields", maxTwoFactorPairs)
	}
	for _, f := range info.ClientDataFields {
		// Not the setup answer's own properties, so a method cannot replace the QR code it
		// did not send.
		if !fieldPattern.MatchString(f) || slices.Contains([]string{"url", "qr", "secret"}, f) {
			return info, fmt.Errorf("descriptor: twofactor client data field %q is not a plain property name or is reserved (url, qr, secret)", f)
		}
	}
	if info.CodePrefix == "" {
		info.CodePrefix = strings.ToUpper(strings.ReplaceAll(info.Route, "-", "_"))
	}
	if !prefixPattern.MatchString(info.CodePrefix) {
		return info, fmt.Errorf("descriptor: twofactor code prefix %q is not UPPER_SNAKE_CASE of at most 32 characters", info.CodePrefix)
	}
	overrides := info.Codes
	info.Codes = abi.DeriveCodes(info.CodePrefix)
	for i, override := range overrides.Fields() {
		if *override == "" {
			continue
		}
		if len(*override) > maxCodeLen || !codePattern.MatchString(*override) {
			return info, fmt.Errorf("descriptor: twofactor message code %q is not UPPER_SNAKE_CASE", *override)
		}
		*info.Codes.Fields()[i] = *override
	}
	return info, nil
}

// cloneTwoFactorInfo is a deep copy of info.
func cloneTwoFactorInfo(info abi.TwoFactorInfo) abi.TwoFactorInfo {
	info.SetupFields = slices.Clone(info.SetupFields)
	info.OptionalSetupFields = slices.Clone(info.OptionalSetupFields)
	info.JSONFields = slices.Clone(info.JSONFields)
	info.ClientDataFields = slices.Clone(info.ClientDataFields)
	return info
}

// Challenges reports whether a twofactor descriptor declares
// twofactor_challenge: the method sends codes or hands out challenges.
func Challenges(d Descriptor) bool { return slices.Contains(d.Hooks, abi.HookTwoFactorChallenge) }
