package api

import (
	"sort"
	"strings"

	"github.com/valyala/fasthttp"
)

// CORS lets browser applications on the allowed origins call the API with credentials (the
// id_token cookie or an Authorization header). Requests from other origins get no CORS headers,
// so browsers keep them from reading the answers.
type CORS struct {
	allowed map[string]bool
}

// NewCORS allows the given origins (scheme://host[:port], as browsers send them).
func NewCORS(origins []string) *CORS {
	c := &CORS{allowed: map[string]bool{}}
	for _, o := range origins {
		if o = strings.TrimRight(strings.TrimSpace(o), "/"); o != "" {
			c.allowed[strings.ToLower(o)] = true
		}
	}
	return c
}

// allow adds the CORS headers when the request's Origin is allowed and reports whether it is.
func (c *CORS) allow(ctx *fasthttp.RequestCtx) bool {
	if c == nil || len(c.allowed) == 0 {
		return false
	}
	origin := ctx.Request.Header.Peek("Origin")
	if !c.allowedOrigin(origin) {
		return false
	}
	h := &ctx.Response.Header
	h.SetBytesV("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Set("Access-Control-Expose-Headers", "Retry-After, X-Request-Id, X-Gatehouse-Device")
	h.Add("Vary", "Origin")
	return true
}

// allowedOrigin reports whether origin is one of the allowed origins.
func (c *CORS) allowedOrigin(origin []byte) bool {
	if c == nil || len(c.allowed) == 0 || len(origin) == 0 {
		return false
	}
	return c.allowed[strings.ToLower(string(origin))]
}

// preflight answers an OPTIONS request for a known path: 204 with the path's methods when the
// origin is allowed, else 204 without CORS headers (the browser then refuses the request).
func (c *CORS) preflight(ctx *fasthttp.RequestCtx, methods map[string]*Route) {
	ctx.Response.SetStatusCode(fasthttp.StatusNoContent)
	if !c.allow(ctx) {
		return
	}
	list := make([]string, 0, len(methods))
	for m := range methods {
		list = append(list, m)
	}
	sort.Strings(list)
	h := &ctx.Response.Header
	h.Set("Access-Control-Allow-Methods", strings.Join(list, ", "))
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Gatehouse-Device")
	h.Set("Access-Control-Max-Age", "600")
}
