package host

import (
	"context"
	"fmt"
	"slices"

	"github.com/gatehouse/gatehouse/sdk/abi"
)

// wireRequest is a hook's input message (sdk/abi).
type wireRequest interface{ Marshal([]byte) []byte }

// wireResult is a hook's output message (sdk/abi), as a pointer to R.
type wireResult[R any] interface {
	*R
	Unmarshal([]byte) error
}

// invoke is the one call path of every hook: it encodes req, runs hook (the
// pool, deadline, circuit breaker and fault handling of plugin.call), decodes
// the output as an R and has check apply the kind's rules to it. A status
// other than ok or denied, a trap, a deadline, undecodable output or a check's
// error is a *PluginError; then there is no result.
func invoke[R any, PR wireResult[R]](ctx context.Context, p *plugin, hook string, req wireRequest, check func(abi.Status, PR) error) (PR, abi.Status, error) {
	if !slices.Contains(p.hooks, hook) {
		return nil, 0, p.fail(hook, CodeUnavailable, fmt.Errorf("%s does not implement %s", p.name(), hook))
	}
	input := req.Marshal(nil)
	if len(input) > abi.MaxInput {
		return nil, 0, p.fail(hook, CodeFailed, fmt.Errorf("input of %d bytes is over the %d-byte limit", len(input), abi.MaxInput))
	}
	out := PR(new(R))
	var status abi.Status
	err := p.call(ctx, hook, input, func(st abi.Status, raw []byte) error {
		if err := out.Unmarshal(raw); err != nil {
			return fmt.Errorf("%w: %v", ErrBadOutput, err)
		}
		status = st
		return check(st, out)
	})
	if err != nil {
		return nil, 0, err
	}
	return out, status, nil
}
