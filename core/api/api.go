// Package api is Gatehouse's HTTP layer on fasthttp: it decodes and validates requests,
// authenticates bearer tokens, calls one domain function and renders the answer or the error
// envelope of the API contract. It holds no business rules.
package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/valyala/fasthttp"

	"github.com/gatehouse/gatehouse/core/auth"
	"github.com/gatehouse/gatehouse/core/failure"
	"github.com/gatehouse/gatehouse/core/metrics"
	"github.com/gatehouse/gatehouse/core/reqctx"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/host"
)

// Request is what a handler gets: validated body and query values and, on authenticated
// routes, the principal.
type Request struct {
	Ctx   *fasthttp.RequestCtx
	Body  map[string]string
	Query map[string]string
	// Params are the values of the path's {name} segments, validated by the route's Params.
	Params    map[string]string
	Principal auth.Principal
	// Actor is who calls an admin route: "admin:<token id>" or "socket".
	Actor string

	rt *Router
	id requestID
	// authenticated is true when Principal was verified (false on a public route, and on an
	// AccessOrNone route called without a token).
	authenticated bool
}

// principal is the request's verified principal, nil when it has none.
func (r *Request) principal() *auth.Principal {
	if !r.authenticated {
		return nil
	}
	return &r.Principal
}

// RequestInfo implements reqctx.Source: the request's id, client address and user agent. The
// use cases read it from the request's context with reqctx.From.
func (r *Request) RequestInfo() reqctx.Info {
	lang := r.Query["language"]
	if lang == "" {
		lang = acceptLanguage(r.Ctx.Request.Header.Peek(fasthttp.HeaderAcceptLanguage))
	}
	return reqctx.Info{RequestID: r.id.String(), ClientIP: r.rt.clientIP(r.Ctx), UserAgent: string(r.Ctx.UserAgent()),
		Origin: string(r.Ctx.Request.Header.Peek("Origin")), Language: lang, MailOrigin: r.Query["origin"]}
}

// acceptLanguage is the first two-letter primary language of an Accept-Language header with a
// non-zero weight, lowered ("" when there is none): "nl-BE, nl;q=0.9, en;q=0.5" is "nl".
func acceptLanguage(h []byte) string {
	for _, part := range bytes.Split(h, []byte(",")) {
		tag, params, _ := bytes.Cut(bytes.TrimSpace(part), []byte(";"))
		if q, ok := bytes.CutPrefix(bytes.TrimSpace(params), []byte("q=")); ok {
			if w, err := strconv.ParseFloat(string(q), 64); err != nil || w <= 0 {
				continue
			}
		}
		primary, _, _ := bytes.Cut(tag, []byte("-"))
		if len(primary) == 2 && isLetter(primary[0]) && isLetter(primary[1]) {
			return strings.ToLower(string(primary))
		}
	}
	return ""
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// Response is what a handler returns.
type Response struct {
	// Status defaults to 200.
	Status int
	// JSON is marshalled as the body unless Text is set; nil renders `null`.
	JSON any
	// Text, when set, is sent as text/plain (the token endpoints).
	Text string
	// JSONBytes, when set, is sent as the JSON body as it is (already encoded).
	JSONBytes []byte
	// Raw is true when the handler wrote the body and content type itself.
	Raw bool
	// Cookie, when set, is sent as the id_token cookie with CookieMaxAge.
	Cookie       string
	CookieMaxAge time.Duration
}

// Route is one endpoint: its method, path, who may call it, its schemas and its handler. The
// route table is the single definition of the API (the router and the documentation use it).
type Route struct {
	Method  string
	Path    string
	Summary string
	// Auth is the token requirement; 0 means none.
	Auth auth.Requirement
	// Admin routes need an admin token (or the admin socket) and exist only when the admin API
	// is configured (see Router.SetAdmin); their paths start with /admin/.
	Admin bool
	Body  *Schema
	Query *Schema
	// Params validates the path's {name} segments (a route path such as /user/sessions/{id});
	// every such segment must have a field here.
	Params *Schema
	Handle func(*Request) (Response, error)
	// OK documents the success answer.
	OK      Doc
	metrics *metrics.RouteMetrics
	// Errors are the notable error answers: status → message codes (the 401s of the token,
	// 400 for a body and 413 are implied and documented for every route).
	Errors map[int][]string
	// Page is true for the files of a web page and its redirects (the account page's HTML,
	// script and style, /account, /reset-password): served like any route but not an API
	// operation, so left out of /openapi.json and docs/API.md.
	Page bool
}

// Doc documents a success answer.
type Doc struct {
	// Status defaults to 200.
	Status int
	// Description says what the answer is.
	Description string
	// Text is true for a text/plain answer (a raw token).
	Text bool
	// ContentType is the media type of an answer the handler writes itself (Response.Raw),
	// such as "text/html"; "" for JSON or Text.
	ContentType string
	// Example is an example body; nil for `null`.
	Example any
}

// Router dispatches requests to routes and renders answers.
type Router struct {
	routes map[string]map[string]*Route // path -> method -> route
	// patterns are the paths with {name} segments, split at '/', matched when no exact path is.
	patterns []string
	list     []*Route
	auth     *auth.Service
	log      hclog.Logger
	reqSeq   atomic.Uint64
	reqPfx   string
	cors     *CORS
	// proxies are the reverse proxies whose X-Forwarded-For is believed.
	proxies TrustedProxies
	// admins are the admin tokens; adminOwnListener is true when GATEHOUSE_ADMIN_ADDR is set.
	admins           AdminTokens
	adminOwnListener bool
}

// SetCORS sets the origins allowed to call the API from a browser (none by default).
func (rt *Router) SetCORS(c *CORS) { rt.cors = c }

// NewRouter returns an empty router that authenticates with a.
func NewRouter(a *auth.Service, log hclog.Logger) *Router {
	return &Router{routes: map[string]map[string]*Route{}, auth: a, log: log,
		reqPfx: strconv.FormatInt(time.Now().UnixNano()%1e6, 36) + "-"}
}

// Add registers routes; a duplicate is a programmer error found at start-up.
func (rt *Router) Add(routes ...*Route) {
	for _, r := range routes {
		if rt.routes[r.Path] == nil {
			rt.routes[r.Path] = map[string]*Route{}
			if strings.Contains(r.Path, "{") {
				rt.patterns = append(rt.patterns, r.Path)
			}
		}
		for _, seg := range strings.Split(r.Path, "/") {
			if name, ok := paramName(seg); ok && (r.Params == nil || !r.Params.has(name)) {
				panic(fmt.Sprintf("api: route %s %s: path parameter %q has no field in Params", r.Method, r.Path, name))
			}
		}
		if _, dup := rt.routes[r.Path][r.Method]; dup {
			panic(fmt.Sprintf("api: duplicate route %s %s", r.Method, r.Path))
		}
		r.metrics = metrics.ForRoute(r.Path, r.Method)
		rt.routes[r.Path][r.Method] = r
		rt.list = append(rt.list, r)
	}
}

// Routes returns every registered route in registration order.
func (rt *Router) Routes() []*Route { return rt.list }

// Handler is the fasthttp handler of the router.
func (rt *Router) Handler(ctx *fasthttp.RequestCtx) {
	reqID := requestID{prefix: rt.reqPfx, seq: rt.reqSeq.Add(1)} // formatted only when logged
	if h := ctx.Request.Header.Peek("X-Request-Id"); len(h) > 0 && validRequestID(h) {
		reqID.given = string(h)
	}
	defer func() {
		if p := recover(); p != nil {
			rt.log.Error("panic serving request", "request_id", reqID.String(), "client", rt.clientIP(ctx).String(), "path", string(ctx.Path()), "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			ctx.Response.Reset()
			rt.renderError(ctx, reqID, errors.New("panic"))
		}
	}()
	start := time.Now()
	methods, params := rt.match(ctx.Path())
	if methods != nil && rt.hidden(ctx, methods) {
		methods = nil
	}
	if methods != nil && ctx.IsOptions() {
		rt.cors.preflight(ctx, methods)
		return
	}
	rt.cors.allow(ctx)
	route := methods[string(ctx.Method())]
	if route == nil {
		rt.renderError(ctx, reqID, failure.New(404, fmt.Sprintf("Route %s:%s not found", ctx.Method(), ctx.Path())))
		metrics.ObserveRequest("unmatched", "", 404, time.Since(start))
		return
	}
	resp, err := rt.serve(ctx, route, reqID, params)
	if err != nil {
		rt.renderError(ctx, reqID, err)
	} else {
		render(ctx, resp)
	}
	noStore(ctx)
	route.metrics.Observe(ctx.Response.StatusCode(), time.Since(start))
	if rt.log.IsDebug() {
		rt.log.Debug("request", "request_id", reqID.String(), "client", rt.clientIP(ctx).String(), "method", route.Method, "route", route.Path,
			"status", ctx.Response.StatusCode(), "duration", time.Since(start))
	}
}

// noStore keeps API answers out of every cache unless the route chose a policy: they carry
// tokens (login, refresh and access tokens, the sudo and session tokens of a 2FA authenticate),
// secrets (a TOTP setup, recovery codes) or a user's data.
func noStore(ctx *fasthttp.RequestCtx) {
	h := &ctx.Response.Header
	if len(h.Peek(fasthttp.HeaderCacheControl)) == 0 {
		h.Set(fasthttp.HeaderCacheControl, "no-store")
		h.Set(fasthttp.HeaderPragma, "no-cache")
	}
}

// checkContentType refuses a state-changing request (any method but GET, HEAD and OPTIONS)
// whose Content-Type is not JSON, body or not. This is the same-site CSRF guard: a page on
// another origin (or a sibling subdomain, which SameSite=Strict does not stop) can make a
// browser send the id_token cookie without a CORS preflight only with a form or text/plain
// content type; application/json always needs the preflight, which CORS refuses to origins not
// configured. Checking Origin instead would break non-browser clients that send none and
// proxies that rewrite it; the content type is decided by the client alone. Such a request
// without any Content-Type (a bodiless fetch) stays possible, so the cookie is also refused on
// those when the browser says the request is not same-origin (Sec-Fetch-Site) and the Origin is
// not a configured one: see checkCookieSite.
func checkContentType(ctx *fasthttp.RequestCtx) error {
	if ctx.IsGet() || ctx.IsHead() || ctx.IsOptions() {
		return nil
	}
	if !isJSON(ctx.Request.Header.ContentType()) {
		return failure.BadRequest("body must be application/json")
	}
	return nil
}

// checkCookieSite refuses the id_token cookie as the credential of a state-changing request
// that the browser marks as coming from another site or origin (Sec-Fetch-Site: same-site or
// cross-site) unless its Origin is one of the configured origins (GATEHOUSE_ORIGINS).
// Browsers that do not send Sec-Fetch-Site are left to SameSite=Strict and checkContentType.
func (rt *Router) checkCookieSite(ctx *fasthttp.RequestCtx) error {
	if ctx.IsGet() || ctx.IsHead() || len(ctx.Request.Header.Peek(fasthttp.HeaderAuthorization)) > 0 {
		return nil
	}
	site := ctx.Request.Header.Peek("Sec-Fetch-Site")
	if len(site) == 0 || equalFoldASCII(site, "same-origin") || equalFoldASCII(site, "none") {
		return nil
	}
	if rt.cors.allowedOrigin(ctx.Request.Header.Peek("Origin")) {
		return nil
	}
	return failure.New(403, "CROSS_SITE_REQUEST")
}

// paramName reports whether seg is a path parameter, {name}, and its name.
func paramName(seg string) (string, bool) {
	if len(seg) > 2 && seg[0] == '{' && seg[len(seg)-1] == '}' {
		return seg[1 : len(seg)-1], true
	}
	return "", false
}

// match finds the routes of path: its own, or those of the first pattern (a path with {name}
// segments) it fits, with the segments' values (raw, validated by the route's Params).
func (rt *Router) match(path []byte) (map[string]*Route, map[string]string) {
	if methods := rt.routes[string(path)]; methods != nil {
		return methods, nil
	}
	if len(rt.patterns) == 0 {
		return nil, nil
	}
	segs := strings.Split(string(path), "/")
next:
	for _, path := range rt.patterns {
		pat := strings.Split(path, "/")
		if len(pat) != len(segs) {
			continue
		}
		var params map[string]string
		for i, p := range pat {
			if name, ok := paramName(p); ok {
				if segs[i] == "" {
					continue next
				}
				if params == nil {
					params = map[string]string{}
				}
				params[name] = segs[i]
			} else if p != segs[i] {
				continue next
			}
		}
		return rt.routes[path], params
	}
	return nil, nil
}

func (rt *Router) serve(ctx *fasthttp.RequestCtx, route *Route, reqID requestID, params map[string]string) (Response, error) {
	req := &Request{Ctx: ctx, rt: rt, id: reqID}
	ctx.SetUserValue(reqctx.KeyValue(req))
	if err := checkContentType(ctx); err != nil {
		return Response{}, err
	}
	if route.Admin {
		actor, err := rt.adminActor(ctx)
		if err != nil {
			return Response{}, err
		}
		req.Actor = actor
	}
	if route.Auth != 0 {
		raw, err := bearer(ctx)
		if err != nil {
			return Response{}, err
		}
		if len(raw) > 0 {
			if err := rt.checkCookieSite(ctx); err != nil {
				return Response{}, err
			}
		}
		if len(raw) > 0 || route.Auth != auth.AccessOrNone {
			if req.Principal, err = rt.auth.Authorize(raw, route.Auth); err != nil {
				return Response{}, err
			}
			req.authenticated = true
		}
	}
	if route.Params != nil {
		p, err := route.Params.decodeParams(params)
		if err != nil {
			return Response{}, err
		}
		req.Params = p
	}
	if route.Query != nil {
		args := ctx.QueryArgs()
		q, err := route.Query.decodeQuery(func(name string) ([]byte, bool) {
			if !args.Has(name) {
				return nil, false
			}
			return args.Peek(name), true
		})
		if err != nil {
			return Response{}, err
		}
		req.Query = q
	}
	if route.Body != nil {
		body := ctx.PostBody()
		if !isJSON(ctx.Request.Header.ContentType()) {
			return Response{}, failure.BadRequest("body must be application/json")
		}
		b, err := route.Body.decodeBody(body)
		if err != nil {
			return Response{}, err
		}
		req.Body = b
	}
	return route.Handle(req)
}

func isJSON(contentType []byte) bool {
	ct := contentType
	for i, c := range ct {
		if c == ';' {
			ct = ct[:i]
			break
		}
	}
	for len(ct) > 0 && ct[len(ct)-1] == ' ' {
		ct = ct[:len(ct)-1]
	}
	return len(ct) == 0 || equalFoldASCII(ct, "application/json")
}

func equalFoldASCII(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// maxCookieToken is the longest id_token cookie accepted.
const maxCookieToken = 4096

// bearer extracts the token from the Authorization header, or from the id_token cookie when no
// header is sent. The bytes belong to the request: valid until the handler returns.
func bearer(ctx *fasthttp.RequestCtx) ([]byte, error) {
	h := ctx.Request.Header.Peek(fasthttp.HeaderAuthorization)
	if len(h) > 0 {
		const prefix = "bearer "
		if len(h) < len(prefix) || !equalFoldASCII(h[:len(prefix)], prefix) {
			return nil, failure.Unauthorized(failure.CodeInvalidToken)
		}
		tok := h[len(prefix):]
		for len(tok) > 0 && tok[0] == ' ' {
			tok = tok[1:]
		}
		return tok, nil
	}
	c := ctx.Request.Header.Cookie("id_token")
	if len(c) > maxCookieToken {
		return nil, failure.BadRequest("id_token is too long")
	}
	return c, nil
}

var reasons = map[int]string{
	400: "Bad Request",
	401: "Unauthorized",
	403: "Forbidden",
	404: "Not Found",
	409: "Conflict",
	413: "Payload Too Large",
	429: "Too many requests",
	500: "Internal server error",
	503: "Service Unavailable",
}

// envelope is the error body of the API contract.
type envelope struct {
	StatusCode int    `json:"statusCode"`
	Error      string `json:"error"`
	Message    string `json:"message"`
	RetryAfter *int64 `json:"retryAfter,omitempty"`
}

// requestID names a request in the log (request_id), in every plugin call it makes and in the
// X-Request-Id header of a 5xx answer: the client's (or its proxy's) X-Request-Id when it sent a
// valid one, else the router's own.
type requestID struct {
	prefix string
	seq    uint64
	given  string
}

// String formats the id.
func (r requestID) String() string {
	if r.given != "" {
		return r.given
	}
	return r.prefix + strconv.FormatUint(r.seq, 10)
}

// maxRequestIDLen is the longest X-Request-Id taken from a request.
const maxRequestIDLen = 64

// validRequestID reports whether a request's X-Request-Id is used as its id: 1 to 64 of
// A-Z a-z 0-9 and "-_.:" (a UUID, a proxy's hex id), nothing a log line would need to quote.
func validRequestID(h []byte) bool {
	if len(h) > maxRequestIDLen {
		return false
	}
	for _, c := range h {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

func (rt *Router) renderError(ctx *fasthttp.RequestCtx, reqID requestID, err error) {
	env := envelope{}
	if fe, ok := failure.As(err); ok {
		env.StatusCode, env.Message = fe.Status, fe.Code
		if fe.Status == 429 {
			secs := fe.RetryAfterSeconds()
			env.RetryAfter = &secs
			ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, strconv.FormatInt(secs, 10))
		}
		if fe.Status >= 500 {
			rt.log.Warn("request failed", "request_id", reqID.String(), "client", rt.clientIP(ctx).String(), "path", string(ctx.Path()), "code", fe.Code)
		}
	} else if pe := (*host.PluginError)(nil); errors.As(err, &pe) {
		// A plugin fault fails closed: 500 with the host's message code, or 503 when the plugin
		// is unavailable (not loaded, or its circuit breaker open: then with Retry-After, as a
		// 429). Either way it is the plugin's fault, not the user's.
		env.StatusCode, env.Message = 500, pe.Code
		if pe.Code == host.CodeUnavailable {
			env.StatusCode = 503
			if pe.RetryAfter > 0 {
				secs := int64(math.Ceil(pe.RetryAfter.Seconds()))
				env.RetryAfter = &secs
				ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, strconv.FormatInt(secs, 10))
			}
		}
		rt.log.Error("plugin call failed", "request_id", reqID.String(), "client", rt.clientIP(ctx).String(), "path", string(ctx.Path()), "plugin", pe.Plugin, "hook", pe.Hook, "code", pe.Code, "error", pe.Error())
	} else if errors.Is(err, store.ErrConflict) {
		// The change kept conflicting with concurrent ones past the store's retries (a burst
		// on one PostgreSQL): nothing of it was applied, and the client may send it again.
		secs := int64(1)
		env.StatusCode, env.Message, env.RetryAfter = 503, "STORE_BUSY", &secs
		ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, "1")
		rt.log.Warn("request failed", "request_id", reqID.String(), "client", rt.clientIP(ctx).String(), "path", string(ctx.Path()), "code", env.Message, "error", err.Error())
	} else if errors.Is(err, store.ErrUnavailable) {
		// The database is unreachable (PostgreSQL down or failing over): not the request's fault.
		env.StatusCode, env.Message = 503, "STORE_UNAVAILABLE"
		rt.log.Warn("request failed", "request_id", reqID.String(), "client", rt.clientIP(ctx).String(), "path", string(ctx.Path()), "code", env.Message, "error", err.Error())
	} else {
		env.StatusCode, env.Message = 500, failure.CodeInternal
		rt.log.Error("request failed", "request_id", reqID.String(), "client", rt.clientIP(ctx).String(), "path", string(ctx.Path()), "error", err.Error())
	}
	if env.StatusCode >= 500 {
		// The id that finds the request in the log; the body keeps the contract's three keys.
		ctx.Response.Header.Set("X-Request-Id", reqID.String())
	}
	env.Error = reasons[env.StatusCode]
	if env.Error == "" {
		env.Error = fasthttp.StatusMessage(env.StatusCode)
	}
	writeEnvelope(ctx, env)
}

func writeEnvelope(ctx *fasthttp.RequestCtx, env envelope) {
	body, _ := json.Marshal(env)
	ctx.Response.SetStatusCode(env.StatusCode)
	ctx.Response.Header.SetContentType("application/json; charset=utf-8")
	ctx.Response.SetBody(body)
}

// ParseErrorHandler renders fasthttp's request-parsing errors (too large, malformed) in the
// error envelope.
func ParseErrorHandler(ctx *fasthttp.RequestCtx, err error) {
	status, msg := 400, "malformed request"
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		status, msg = 413, "request body is too large"
	case isHeaderTooLarge(err):
		msg = "request header is too large"
	}
	ctx.Response.Header.Set(fasthttp.HeaderConnection, "close")
	writeEnvelope(ctx, envelope{StatusCode: status, Error: reasons[status], Message: msg})
}

func isHeaderTooLarge(err error) bool {
	var small *fasthttp.ErrSmallBuffer
	return errors.As(err, &small)
}

func render(ctx *fasthttp.RequestCtx, r Response) {
	status := r.Status
	if status == 0 {
		status = 200
	}
	ctx.Response.SetStatusCode(status)
	if r.Cookie != "" {
		c := fasthttp.AcquireCookie()
		c.SetKey("id_token")
		c.SetValue(r.Cookie)
		c.SetPath("/")
		c.SetHTTPOnly(true)
		c.SetSecure(true)
		c.SetSameSite(fasthttp.CookieSameSiteStrictMode)
		c.SetMaxAge(int(r.CookieMaxAge / time.Second))
		ctx.Response.Header.SetCookie(c)
		fasthttp.ReleaseCookie(c)
	}
	switch {
	case r.Raw:
	case status == 204:
	case r.JSONBytes != nil:
		ctx.Response.Header.SetContentType("application/json; charset=utf-8")
		ctx.Response.SetBody(r.JSONBytes)
	case r.Text != "":
		ctx.Response.Header.SetContentType("text/plain; charset=utf-8")
		ctx.Response.SetBodyString(r.Text)
	default:
		ctx.Response.Header.SetContentType("application/json; charset=utf-8")
		if r.JSON == nil {
			ctx.Response.SetBodyString("null")
			return
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false) // URLs keep their '&'
		if err := enc.Encode(r.JSON); err != nil {
			panic(err) // handlers return marshalable values: programmer error
		}
		ctx.Response.SetBody(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	}
}
