package host

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/sdk/abi"
)

// PasswordCheck is the input of a password policy check.
type PasswordCheck struct {
	// Password is the candidate.
	Password string
	// Email is the account's email, "" when unknown.
	Email string
	// Field is the JSON field being checked, such as "newPassword"; it
	// appears in length messages ("body/newPassword must NOT have ...").
	// Default "password".
	Field string
	// ServiceName is the service's display name (a context word).
	ServiceName string
	// RequestID goes to the plugin for its logs. Optional: by default the
	// one Config.RequestID reads from the call's context.
	RequestID string
}

// PasswordVerdict is a policy's answer.
type PasswordVerdict struct {
	// Accepted is true only when the policy accepted the password.
	Accepted bool
	// Reasons are the sentences the user sees, most important first; empty
	// when accepted.
	Reasons []string
	// Codes are the stable codes of Reasons, one for one.
	Codes []string
}

// PasswordPolicy is a loaded password-policy plugin. It is safe for
// concurrent use.
type PasswordPolicy struct {
	p *plugin
}

// PasswordPolicy returns the loaded password policy with the id, such as
// "password.default". The error is a *PluginError with code
// PLUGIN_UNAVAILABLE when there is none.
func (h *Host) PasswordPolicy(id string) (*PasswordPolicy, error) {
	p, err := h.get(id, abi.KindPassword)
	if err != nil {
		return nil, err
	}
	return &PasswordPolicy{p: p}, nil
}

// ID returns the policy's plugin id.
func (pp *PasswordPolicy) ID() string { return pp.p.desc.ID }

// Check asks the policy about a password. On error (always a *PluginError)
// the password must be treated as refused.
func (pp *PasswordPolicy) Check(ctx context.Context, in PasswordCheck) (PasswordVerdict, error) {
	if in.Field == "" {
		in.Field = "password"
	}
	ctx, in.RequestID = pp.p.host.withRequestID(ctx, in.RequestID)
	// ABI v1: every string the host sends is valid UTF-8.
	for _, s := range []*string{&in.Password, &in.Email, &in.Field, &in.ServiceName, &in.RequestID} {
		if !utf8.ValidString(*s) {
			*s = strings.ToValidUTF8(*s, "\uFFFD")
		}
	}
	req := abi.PasswordCheckRequest{
		Now:         pp.p.host.cfg.Clock().UnixNano(),
		RequestID:   in.RequestID,
		Password:    in.Password,
		Email:       in.Email,
		Field:       in.Field,
		ServiceName: in.ServiceName,
	}
	if len(in.Password)+len(in.Email)+len(in.ServiceName)+len(in.Field) > abi.MaxInput/2 {
		return PasswordVerdict{}, pp.p.fail(abi.HookPasswordCheck, CodeFailed, errors.New("input too large"))
	}
	buf := make([]byte, 0, 64+len(in.Password)+len(in.Email)+len(in.Field)+len(in.ServiceName)+len(in.RequestID))
	input := req.Marshal(buf)
	var v PasswordVerdict
	err := pp.p.call(ctx, abi.HookPasswordCheck, input, func(status abi.Status, out []byte) error {
		if status == abi.StatusOK {
			v.Accepted = true
			return nil
		}
		reasons, err := pp.p.denial(out)
		if err != nil {
			return err
		}
		for _, r := range reasons {
			v.Reasons = append(v.Reasons, r.Message)
			v.Codes = append(v.Codes, r.Code)
		}
		return nil
	})
	if err != nil {
		return PasswordVerdict{}, err
	}
	return v, nil
}

// denial decodes and checks the Result of a denied call: at least one
// reason, each with a declared code and a message.
func (p *plugin) denial(out []byte) ([]abi.Reason, error) {
	var r abi.Result
	if err := r.Unmarshal(out); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadOutput, err)
	}
	return r.Reasons, p.checkReasons(r.Reasons)
}

func (p *plugin) checkReasons(rs []abi.Reason) error {
	if len(rs) == 0 {
		return fmt.Errorf("%w: denied without a reason", ErrBadOutput)
	}
	if len(rs) > 32 {
		return fmt.Errorf("%w: more than 32 reasons", ErrBadOutput)
	}
	for _, r := range rs {
		if !p.codes[r.Code] {
			return fmt.Errorf("%w: reason code %q is not declared in the descriptor", ErrBadOutput, truncate(r.Code, 64))
		}
		if r.Message == "" || len(r.Message) > maxTextField {
			return fmt.Errorf("%w: reason %s has an empty or oversized message", ErrBadOutput, r.Code)
		}
	}
	return nil
}

// PasswordPolicies is an ordered chain of policies; all must accept.
type PasswordPolicies []*PasswordPolicy

// PasswordPolicies returns the chain of the policies with the ids, in order.
func (h *Host) PasswordPolicies(ids ...string) (PasswordPolicies, error) {
	chain := make(PasswordPolicies, 0, len(ids))
	for _, id := range ids {
		pp, err := h.PasswordPolicy(id)
		if err != nil {
			return nil, err
		}
		chain = append(chain, pp)
	}
	return chain, nil
}

// Check runs the policies in order and returns the first refusal (or
// error), or an acceptance when every policy accepts. An empty chain
// accepts nothing: it returns a PLUGIN_UNAVAILABLE error.
func (c PasswordPolicies) Check(ctx context.Context, in PasswordCheck) (PasswordVerdict, error) {
	if len(c) == 0 {
		return PasswordVerdict{}, &PluginError{Plugin: "", Hook: abi.HookPasswordCheck, Code: CodeUnavailable, Err: errors.New("no password policy configured")}
	}
	for _, pp := range c {
		v, err := pp.Check(ctx, in)
		if err != nil || !v.Accepted {
			return v, err
		}
	}
	return PasswordVerdict{Accepted: true}, nil
}
