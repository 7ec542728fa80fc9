// Package reqctx carries what the HTTP layer knows about the request being served (its id, the
// client's IP address, its user agent) to the use cases, in the request's context.Context. The
// domain reads it for audit records and per-client limits; it never decides authorisation.
//
// core/api attaches it to every request: a use case called with the request's context gets it
// with From. Code that runs outside a request (admin commands, tests) may attach one with With.
package reqctx

import (
	"context"
	"net/netip"

	"github.com/hashicorp/go-hclog"
)

// Info describes a request's origin.
type Info struct {
	// RequestID names the request in the log (and the X-Request-Id header of a 5xx answer).
	RequestID string
	// ClientIP is the client's address: the TCP peer, or the address the trusted proxies report
	// in X-Forwarded-For (GATEHOUSE_TRUSTED_PROXIES). Zero when unknown.
	ClientIP netip.Addr
	// UserAgent is the User-Agent header as sent (client-controlled: log it, never trust it).
	UserAgent string
	// Origin is the Origin header as sent ("" when absent): client-controlled, so only a
	// value found among the configured origins means anything.
	Origin string
	// Language is the language the request's mail is written in: the query's `language`, else
	// the first two-letter language of Accept-Language, else "" (the default).
	Language string
	// MailOrigin is the query's `origin` (selects the mail branding), "" when none was sent.
	MailOrigin string
}

// Source computes a request's Info on demand (core/api's request), so a request whose use case
// never asks pays nothing.
type Source interface {
	RequestInfo() Info
}

type key struct{}

// With returns a context carrying info.
func With(parent context.Context, info Info) context.Context {
	return context.WithValue(parent, key{}, info)
}

// KeyValue returns the key and value under which src is stored in a context that keeps values
// by key itself (fasthttp's RequestCtx.SetUserValue, whose Value method reads them back).
func KeyValue(src Source) (k, v any) { return key{}, src }

// From returns the Info of the request ctx belongs to, and false outside a request.
func From(ctx context.Context) (Info, bool) {
	if ctx == nil {
		return Info{}, false
	}
	switch v := ctx.Value(key{}).(type) {
	case Info:
		return v, true
	case Source:
		return v.RequestInfo(), true
	}
	return Info{}, false
}

// ID returns the id of the request ctx belongs to, "" outside a request.
func ID(ctx context.Context) string {
	info, _ := From(ctx)
	return info.RequestID
}

// Logger returns log with the request_id of the request ctx belongs to, so a use case's log
// lines name the request; log itself outside a request.
func Logger(ctx context.Context, log hclog.Logger) hclog.Logger {
	if id := ID(ctx); id != "" {
		return log.With("request_id", id)
	}
	return log
}
