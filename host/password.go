package host

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/sdk/abi"
)

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

// Check asks the policy about a password: nil reasons accept it; a refusal
// has at least one, each with a code the policy declares. req.Field
// defaults to "password", req.Now to the host's Clock and req.RequestID to
// the one Config.RequestID reads from ctx. On error (always a *PluginError)
// the password must be treated as refused.
func (pp *PasswordPolicy) Check(ctx context.Context, req abi.PasswordCheckRequest) ([]abi.Reason, error) {
	if req.Field == "" {
		req.Field = "password"
	}
	if req.Now == 0 {
		req.Now = pp.p.host.cfg.Clock().UnixNano()
	}
	ctx, req.RequestID = pp.p.host.withRequestID(ctx, req.RequestID)
	res, status, err := invoke[abi.Result](ctx, pp.p, abi.HookPasswordCheck, &req, pp.p.checkResult)
	if err != nil || status == abi.StatusOK {
		return nil, err
	}
	return res.Reasons, nil
}

// checkResult checks the Result of a password check or a delivery: none
// when accepted; when denied at least one reason, each with a declared code
// and a message.
func (p *plugin) checkResult(status abi.Status, r *abi.Result) error {
	if status == abi.StatusOK {
		if len(r.Reasons) > 0 {
			return fmt.Errorf("%w: reasons with status ok", ErrBadOutput)
		}
		return nil
	}
	return p.checkReasons(r.Reasons)
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

// Check runs the policies in order and returns the first refusal's reasons
// (or error), or nil reasons when every policy accepts. An empty chain
// accepts nothing: it returns a PLUGIN_UNAVAILABLE error.
func (c PasswordPolicies) Check(ctx context.Context, req abi.PasswordCheckRequest) ([]abi.Reason, error) {
	if len(c) == 0 {
		return nil, &PluginError{Plugin: "", Hook: abi.HookPasswordCheck, Code: CodeUnavailable, Err: errors.New("no password policy configured")}
	}
	for _, pp := range c {
		reasons, err := pp.Check(ctx, req)
		if err != nil || reasons != nil {
			return reasons, err
		}
	}
	return nil, nil
}
