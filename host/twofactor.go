package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/sdk/abi"
)

// TwoFactorInfo is a twofactor plugin's method metadata (the descriptor's
// TwoFactorInfo, ABI v1.1) with every default applied, as host/ABI.md
// defines them.
type TwoFactorInfo struct {
	// ID is the plugin's id, such as "twofactor.totp".
	ID string
	// Route is the method's path segment: /user/2fa/{Route}/...
	Route string
	// SummaryKey is the property of GET /user/2fa that shows the method; ""
	// for none.
	SummaryKey string
	// CodeField is the body property holding the code. Default "code".
	CodeField string
	// CodeLength is the exact length of a code; 0 for any.
	CodeLength int
	// SetupFields are the string properties the setup body requires.
	SetupFields []string
	// Challenges is true when the plugin declares twofactor_challenge.
	Challenges bool
	// Weak marks a factor weaker than an authenticator app (email).
	Weak bool
	// CodePrefix is the prefix the message codes derive from.
	CodePrefix string
	// Codes are the method's message codes: the plugin's overrides, the rest
	// derived from CodePrefix.
	Codes TwoFactorCodes
	// ReplayWindow is how long a used replay key is remembered; 0 for the
	// caller's default.
	ReplayWindow time.Duration
}

// TwoFactorCodes are a method's message codes (see abi.TwoFactorCodes).
type TwoFactorCodes = abi.TwoFactorCodes

// TwoFactorCall is the input of a twofactor hook.
type TwoFactorCall struct {
	// Now is the time the method decides by. Default: the host's Clock.
	Now time.Time
	// RequestID goes to the plugin for its logs. Optional: by default the
	// one Config.RequestID reads from the call's context.
	RequestID string
	// UserID, Email and ServiceName (the issuer an authenticator app shows)
	// describe the user.
	UserID      string
	Email       string
	ServiceName string
	// State is what the plugin returned last time; nil at Enroll.
	State []byte
	// Code is what the user typed (Activate, Verify).
	Code string
	// Params are the setup body's fields (Enroll); only the method's
	// SetupFields are passed on.
	Params map[string]string
}

// TwoFactorMessage is an email a method asks the caller to send.
type TwoFactorMessage struct {
	// Template is the mail template; it starts with the method's route and a
	// dash (the host refuses other names).
	Template string
	// To is the recipient.
	To string
	// Vars are the template's variables.
	Vars map[string]string
}

// TwoFactorOutcome is a method's answer to one call.
type TwoFactorOutcome struct {
	// Accepted is true only when the plugin answered status ok: the code is
	// right (Activate, Verify) or the request was carried out (Enroll,
	// Challenge). It is false with every error.
	Accepted bool
	// Reason is the code of the first reason of a denial, the response's
	// message code (such as "TOTP_INVALID"); Message is its sentence.
	Reason  string
	Message string
	// State is the new state; nil leaves it unchanged. A denied Verify or
	// Activate may carry one (a try counted).
	State []byte
	// Secret, URI and Image are shown to the user once (Enroll); Image is a
	// PNG.
	Secret string
	URI    string
	Image  []byte
	// Messages are emails to send (Enroll, Challenge).
	Messages []TwoFactorMessage
	// ReplayKey names what an accepted code used up; the caller refuses it a
	// second time within ReplayWindow.
	ReplayKey string
	// Public is shown to the user in GET /user/2fa (from Activate).
	Public map[string]string
}

// TwoFactorMethod is a loaded twofactor plugin. It is safe for concurrent
// use. Every hook fails closed: with an error (always a *PluginError) the
// outcome is the zero value, never an acceptance.
type TwoFactorMethod struct {
	p    *plugin
	info TwoFactorInfo
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

// Info returns the method's metadata.
func (m *TwoFactorMethod) Info() TwoFactorInfo {
	info := m.info
	info.SetupFields = slices.Clone(info.SetupFields)
	return info
}

// Enroll makes a new secret (setup).
func (m *TwoFactorMethod) Enroll(ctx context.Context, in TwoFactorCall) (TwoFactorOutcome, error) {
	return m.call(ctx, abi.HookTwoFactorEnroll, in)
}

// Activate checks the first code against the pending state (enable).
func (m *TwoFactorMethod) Activate(ctx context.Context, in TwoFactorCall) (TwoFactorOutcome, error) {
	return m.call(ctx, abi.HookTwoFactorActivate, in)
}

// Challenge makes a code and asks for it to be sent. A method whose Info
// says Challenges false fails with PLUGIN_UNAVAILABLE.
func (m *TwoFactorMethod) Challenge(ctx context.Context, in TwoFactorCall) (TwoFactorOutcome, error) {
	return m.call(ctx, abi.HookTwoFactorChallenge, in)
}

// Verify checks a code against the active state (authenticate).
func (m *TwoFactorMethod) Verify(ctx context.Context, in TwoFactorCall) (TwoFactorOutcome, error) {
	return m.call(ctx, abi.HookTwoFactorVerify, in)
}

// Limits on a twofactor plugin's output (host/ABI.md, "Twofactor methods").
const (
	maxTwoFactorState    = 64 << 10
	maxTwoFactorImage    = 256 << 10
	maxTwoFactorURI      = 2048
	maxTwoFactorReplay   = 128
	maxTwoFactorPairs    = 8
	maxTwoFactorMessages = 8
	maxTwoFactorCode     = 64
)

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

func (m *TwoFactorMethod) call(ctx context.Context, hook string, in TwoFactorCall) (TwoFactorOutcome, error) {
	p := m.p
	if !slices.Contains(p.hooks, hook) {
		return TwoFactorOutcome{}, p.fail(hook, CodeUnavailable, fmt.Errorf("%s does not implement %s", p.name(), hook))
	}
	ctx, in.RequestID = p.host.withRequestID(ctx, in.RequestID)
	now := in.Now
	if now.IsZero() {
		now = p.host.cfg.Clock()
	}
	// ABI v1: every string the host sends is valid UTF-8.
	req := abi.TwoFactorRequest{
		Now:         now.UnixNano(),
		RequestID:   validUTF8(in.RequestID),
		UserID:      validUTF8(in.UserID),
		Email:       validUTF8(in.Email),
		ServiceName: validUTF8(in.ServiceName),
		State:       in.State,
		Code:        validUTF8(in.Code),
	}
	if hook == abi.HookTwoFactorEnroll {
		for _, f := range m.info.SetupFields {
			if v, ok := in.Params[f]; ok {
				req.Params = append(req.Params, f, validUTF8(v))
			}
		}
	}
	size := len(req.RequestID) + len(req.UserID) + len(req.Email) + len(req.ServiceName) + len(req.State) + len(req.Code)
	for _, s := range req.Params {
		size += len(s)
	}
	if size > abi.MaxInput/2 {
		return TwoFactorOutcome{}, p.fail(hook, CodeFailed, errors.New("input too large"))
	}
	input := req.Marshal(make([]byte, 0, 64+size+8*len(req.Params)))
	var out TwoFactorOutcome
	err := p.call(ctx, hook, input, func(status abi.Status, raw []byte) error {
		var r abi.TwoFactorResult
		if err := r.Unmarshal(raw); err != nil {
			return fmt.Errorf("%w: %v", ErrBadOutput, err)
		}
		o, err := m.outcome(hook, status, &r)
		out = o
		return err
	})
	if err != nil {
		return TwoFactorOutcome{}, err
	}
	return out, nil
}

// outcome checks a decoded result against the ABI's rules for the hook.
func (m *TwoFactorMethod) outcome(hook string, status abi.Status, r *abi.TwoFactorResult) (TwoFactorOutcome, error) {
	o := TwoFactorOutcome{Accepted: status == abi.StatusOK, State: r.State, Secret: r.Secret, URI: r.URI, Image: r.Image, ReplayKey: r.ReplayKey}
	switch {
	case status == abi.StatusDenied:
		if err := m.p.checkReasons(r.Reasons); err != nil {
			return o, err
		}
		o.Reason, o.Message = r.Reasons[0].Code, r.Reasons[0].Message
	case len(r.Reasons) > 0:
		return o, fmt.Errorf("%w: reasons with status ok", ErrBadOutput)
	}
	if len(r.State) > maxTwoFactorState {
		return o, fmt.Errorf("%w: state over %d bytes", ErrBadOutput, maxTwoFactorState)
	}
	if hook == abi.HookTwoFactorEnroll && o.Accepted && r.State == nil {
		return o, fmt.Errorf("%w: enroll returned no state", ErrBadOutput)
	}
	if len(r.URI) > maxTwoFactorURI || len(r.Secret) > maxTwoFactorURI {
		return o, fmt.Errorf("%w: uri or secret over %d bytes", ErrBadOutput, maxTwoFactorURI)
	}
	if r.Image != nil && (len(r.Image) > maxTwoFactorImage || !bytes.HasPrefix(r.Image, pngMagic)) {
		return o, fmt.Errorf("%w: image is not a PNG of at most %d bytes", ErrBadOutput, maxTwoFactorImage)
	}
	if len(r.ReplayKey) > maxTwoFactorReplay {
		return o, fmt.Errorf("%w: replay key over %d bytes", ErrBadOutput, maxTwoFactorReplay)
	}
	var err error
	if o.Public, err = pairMap(r.Public, "public"); err != nil {
		return o, err
	}
	if len(r.Messages) > 0 && hook != abi.HookTwoFactorEnroll && hook != abi.HookTwoFactorChallenge {
		return o, fmt.Errorf("%w: messages from %s", ErrBadOutput, hook)
	}
	if len(r.Messages) > maxTwoFactorMessages {
		return o, fmt.Errorf("%w: more than %d messages", ErrBadOutput, maxTwoFactorMessages)
	}
	for _, msg := range r.Messages {
		if !strings.HasPrefix(msg.Template, m.info.Route+"-") || !templatePattern.MatchString(msg.Template) {
			return o, fmt.Errorf("%w: template %q is not named %s-... of [a-z0-9_-], at most 64 characters", ErrBadOutput, truncate(msg.Template, 64), m.info.Route)
		}
		if msg.To == "" || len(msg.To) > 320 {
			return o, fmt.Errorf("%w: message without a recipient", ErrBadOutput)
		}
		vars, err := pairMap(msg.Vars, "vars")
		if err != nil {
			return o, err
		}
		o.Messages = append(o.Messages, TwoFactorMessage{Template: msg.Template, To: msg.To, Vars: vars})
	}
	return o, nil
}

// pairMap turns name, value, ... into a map.
func pairMap(kv []string, what string) (map[string]string, error) {
	if len(kv) == 0 {
		return nil, nil
	}
	if len(kv)%2 != 0 || len(kv)/2 > maxTwoFactorPairs {
		return nil, fmt.Errorf("%w: %s must be at most %d name/value pairs", ErrBadOutput, what, maxTwoFactorPairs)
	}
	m := make(map[string]string, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		if kv[i] == "" || len(kv[i]) > 64 || len(kv[i+1]) > maxTextField {
			return nil, fmt.Errorf("%w: %s: empty or oversized name or value", ErrBadOutput, what)
		}
		m[kv[i]] = kv[i+1]
	}
	return m, nil
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
// and applies the defaults of host/ABI.md. Load calls it, so a plugin with bad
// metadata does not load; a descriptor of another kind must carry none.
func ResolveTwoFactorInfo(d Descriptor) (TwoFactorInfo, error) {
	if d.Kind != abi.KindTwoFactor {
		if d.TwoFactor != nil {
			return TwoFactorInfo{}, fmt.Errorf("descriptor: twofactor metadata on a %s plugin", d.Kind)
		}
		return TwoFactorInfo{}, nil
	}
	var t abi.TwoFactorInfo
	if d.TwoFactor != nil {
		t = *d.TwoFactor
	}
	info := TwoFactorInfo{
		ID:          d.ID,
		Route:       t.Route,
		SummaryKey:  t.SummaryKey,
		CodeField:   t.CodeField,
		CodeLength:  int(t.CodeLength),
		SetupFields: slices.Clone(t.SetupFields),
		Challenges:  slices.Contains(d.Hooks, abi.HookTwoFactorChallenge),
		Weak:        t.Weak,
		CodePrefix:  t.CodePrefix,
		// Capped at a day: no code is valid that long.
		ReplayWindow: time.Duration(min(t.ReplayWindowSeconds, 86400)) * time.Second,
	}
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
	if len(info.SetupFields) > maxTwoFactorPairs {
		return info, fmt.Errorf("descriptor: more than %d twofactor setup fields", maxTwoFactorPairs)
	}
	for i, f := range info.SetupFields {
		if !fieldPattern.MatchString(f) || f == info.CodeField || slices.Contains(info.SetupFields[:i], f) {
			return info, fmt.Errorf("descriptor: twofactor setup field %q is not a plain property name, repeats, or is the code field", f)
		}
	}
	if info.CodePrefix == "" {
		info.CodePrefix = strings.ToUpper(strings.ReplaceAll(info.Route, "-", "_"))
	}
	if !prefixPattern.MatchString(info.CodePrefix) {
		return info, fmt.Errorf("descriptor: twofactor code prefix %q is not UPPER_SNAKE_CASE of at most 32 characters", info.CodePrefix)
	}
	p := info.CodePrefix
	info.Codes = TwoFactorCodes{
		Invalid:         p + "_INVALID",
		Uninitialized:   p + "_UNINITIALIZED",
		Inactive:        p + "_UNINITIALIZED",
		AlreadyInactive: p + "_ALREADY_INACTIVE",
		TooMany:         "TOO_MANY_" + p + "_CHECKS",
		TooManySends:    "TOO_MANY_" + p + "_SENDS",
		Corrupt:         p + "_CORRUPT",
	}
	for _, pair := range []struct{ dst, override *string }{
		{&info.Codes.Invalid, &t.Codes.Invalid},
		{&info.Codes.Uninitialized, &t.Codes.Uninitialized},
		{&info.Codes.Inactive, &t.Codes.Inactive},
		{&info.Codes.AlreadyInactive, &t.Codes.AlreadyInactive},
		{&info.Codes.TooMany, &t.Codes.TooMany},
		{&info.Codes.TooManySends, &t.Codes.TooManySends},
		{&info.Codes.Corrupt, &t.Codes.Corrupt},
	} {
		if *pair.override == "" {
			continue
		}
		if len(*pair.override) > maxCodeLen || !codePattern.MatchString(*pair.override) {
			return info, fmt.Errorf("descriptor: twofactor message code %q is not UPPER_SNAKE_CASE", *pair.override)
		}
		*pair.dst = *pair.override
	}
	return info, nil
}
