package host

import "context"

// maxRequestID caps the request id passed to a plugin and logged.
const maxRequestID = 128

// requestIDKey carries the request id of the hook call in progress.
type requestIDKey struct{}

// withRequestID resolves the request id of a hook call: given (the input's RequestID), else
// the one Config.RequestID reads from ctx. It returns ctx carrying the id, so the call's log
// lines (the host's and the plugin's log capability) name it, and the id for the input.
func (h *Host) withRequestID(ctx context.Context, given string) (context.Context, string) {
	id := given
	if id == "" && h.cfg.RequestID != nil {
		id = h.cfg.RequestID(ctx)
	}
	id = validUTF8(truncate(id, maxRequestID))
	if id == "" {
		return ctx, ""
	}
	return context.WithValue(ctx, requestIDKey{}, id), id
}

// callRequestID is the request id of the hook call ctx belongs to, "" when none.
func callRequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
