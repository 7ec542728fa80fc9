package api

import (
	"context"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/gatehouse/gatehouse/core/audit"
	"github.com/gatehouse/gatehouse/core/auth"
	"github.com/gatehouse/gatehouse/core/failure"
	"github.com/gatehouse/gatehouse/core/mail"
	"github.com/gatehouse/gatehouse/core/metrics"
	"github.com/gatehouse/gatehouse/core/token"
)

// Schemas shared by several routes.
var (
	loginBody = &Schema{Fields: []Field{
		{Name: "username", Required: true, MaxLength: 256, Description: "the account's email address"},
		{Name: "password", Required: true, MaxLength: 256},
	}}
	registerBody = &Schema{Fields: []Field{
		{Name: "email", Required: true, MaxLength: 256, Format: "email"},
		// The password policy decides the length rules; this bound only caps the work.
		{Name: "password", Required: true, MaxLength: 1024, Description: "checked by the configured password policies"},
	}}
	oldPasswordBody = &Schema{Fields: []Field{
		{Name: "oldPassword", Required: true, MaxLength: 256},
		{Name: "newPassword", Required: true, MaxLength: 1024, Description: "checked by the configured password policies"},
	}}
	cookieQuery = &Schema{Fields: []Field{
		{Name: "cookie", Description: "true: also set the token as the HttpOnly id_token cookie"},
	}}
)

// Health reports the process's readiness for /readyz.
type Health interface {
	// Ready returns nil when the store is open and every configured plugin is loaded.
	Ready() error
}

// AuthRoutes returns the routes of accounts, passwords, tokens and sessions.
func AuthRoutes(a *auth.Service, admins AdminTokens) []*Route {
	tokenResponse := func(req *Request, tok string, typ token.Type) Response {
		r := Response{Text: tok}
		if req.Query["cookie"] == "true" {
			r.Cookie, r.CookieMaxAge = tok, a.Minter.Lifetime(typ)
		}
		return r
	}
	userID := func(p auth.Principal) any { return map[string]uint64{"userId": p.UserID} }
	return []*Route{
		{Method: "POST", Path: "/auth/login", Summary: "Log in with email and password", Body: loginBody, Query: cookieQuery,
			OK: Doc{Description: "the refresh token, or a partial token when a 2FA method is active; a new device token in the " + DeviceHeader +
				" header and the " + DeviceCookie + " cookie (send it back at the next login, as that header or the cookie: its wrong passwords are then counted for that device alone)", Text: true},
			Errors: map[int][]string{401: {failure.CodePasswordIncorrect}, 403: {auth.CodeEmailNotVerified}, 429: {failure.CodeTooManyPassword}, 500: {failure.CodeNoPasswordInfo}, 503: {failure.CodeHashingUnavailable}},
			Handle: func(req *Request) (Response, error) {
				res, err := a.Login(req.Ctx, req.Body["username"], req.Body["password"], deviceToken(req))
				if err != nil {
					return Response{}, err
				}
				setDeviceToken(req, res.Device)
				return tokenResponse(req, res.Token, res.Type), nil
			}},
		{Method: "GET", Path: "/auth/refreshtoken", Summary: "Get a new refresh token in the same session", Auth: auth.Refresh, Query: cookieQuery,
			OK: Doc{Description: "a new refresh token in the same session; the presented one stays valid until it expires", Text: true},
			Handle: func(req *Request) (Response, error) {
				tok, err := a.RefreshToken(req.Principal)
				if err != nil {
					return Response{}, err
				}
				return tokenResponse(req, tok, token.Refresh), nil
			}},
		{Method: "GET", Path: "/auth/accesstoken", Summary: "Get an access token", Auth: auth.RefreshForAccess, Query: cookieQuery,
			OK: Doc{Description: "an access token", Text: true},
			Handle: func(req *Request) (Response, error) {
				tok, err := a.MintInSession(req.Principal, token.Access)
				if err != nil {
					return Response{}, err
				}
				return tokenResponse(req, tok, token.Access), nil
			}},
		{Method: "GET", Path: "/auth/refreshtoken/validate", Summary: "Validate a refresh token", Auth: auth.Refresh,
			OK:     Doc{Description: "the token's user", Example: map[string]int{"userId": 1}},
			Handle: func(req *Request) (Response, error) { return Response{JSON: userID(req.Principal)}, nil }},
		{Method: "GET", Path: "/auth/accesstoken/validate", Summary: "Validate an access token", Auth: auth.Access,
			OK:     Doc{Description: "the token's user", Example: map[string]int{"userId": 1}},
			Handle: func(req *Request) (Response, error) { return Response{JSON: userID(req.Principal)}, nil }},
		{Method: "POST", Path: "/auth/logout", Summary: "Log out: revoke this session", Auth: auth.Refresh,
			OK:     Doc{Status: 204, Description: "the session and its tokens are revoked"},
			Handle: func(req *Request) (Response, error) { return Response{Status: 204}, a.Logout(req.Ctx, req.Principal) }},
		{Method: "POST", Path: "/auth/logout/all", Summary: "Revoke every session of the user", Auth: auth.Refresh,
			OK: Doc{Status: 204, Description: "every session of the user is revoked"},
			Handle: func(req *Request) (Response, error) {
				return Response{Status: 204}, a.LogoutAll(req.Ctx, req.Principal)
			}},
		{Method: "GET", Path: "/.well-known/jwks.json", Summary: "Public signing keys (JWKS)",
			OK: Doc{Description: "the public signing keys (RFC 7517)", Example: map[string]any{"keys": []map[string]string{{"kty": "OKP", "crv": "Ed25519", "x": "...", "kid": "...", "use": "sig", "alg": "EdDSA"}}}},
			Handle: func(req *Request) (Response, error) {
				req.Ctx.Response.Header.Set("Cache-Control", "public, max-age=300")
				return Response{JSON: rawJSON(a.Minter.JWKS())}, nil
			}},
		{Method: "POST", Path: "/user", Summary: "Register an account", Body: registerBody, Query: MailQuery,
			OK:     Doc{Description: "the new account; under GATEHOUSE_VERIFY_EMAIL=required a 6-digit code is mailed to the address (POST /user/email/verify)", Example: map[string]int{"userId": 1}},
			Errors: map[int][]string{400: {"Password must contain at least one uppercase character"}, 403: {failure.CodeRegistrationClosed, failure.CodeForbiddenMailDomain}, 409: {failure.CodeEmailAlreadyInUse}, 500: {mail.CodeNoTemplate}},
			Handle: func(req *Request) (Response, error) {
				var ctx context.Context = req.Ctx
				admin := false
				if id := admins.Match(req.Ctx); id != "" {
					admin, ctx = true, audit.WithActor(req.Ctx, "admin:"+id)
				}
				id, err := a.Register(ctx, req.Body["email"], req.Body["password"], admin)
				if err != nil {
					return Response{}, err
				}
				return Response{JSON: map[string]uint64{"userId": id}}, nil
			}},
		{Method: "PUT", Path: "/user/password/old-password", Summary: "Change the password with the old one", Auth: auth.SudoOrAccess, Body: oldPasswordBody, Query: MailQuery,
			OK:     Doc{Description: "null; every other session of the user is revoked; the address gets a notice (in the query's language, else Accept-Language's)"},
			Errors: map[int][]string{400: {"Password must contain at least one uppercase character"}, 401: {failure.CodePasswordIncorrect}, 429: {failure.CodeTooManyPassword}, 500: {failure.CodeNoPasswordInfo}},
			Handle: func(req *Request) (Response, error) {
				return Response{}, a.ChangePassword(req.Ctx, req.Principal, req.Body["oldPassword"], req.Body["newPassword"])
			}},
	}
}

// DeviceHeader and DeviceCookie carry the device token of a login (core/auth/device.go): the
// login answer sets both, and the next login presents either (the header wins).
const (
	DeviceHeader = "X-Gatehouse-Device"
	DeviceCookie = "gh_device"
)

// deviceToken is the device token a login request presents ("" for none).
func deviceToken(req *Request) string {
	if h := req.Ctx.Request.Header.Peek(DeviceHeader); len(h) > 0 {
		return string(h)
	}
	return string(req.Ctx.Request.Header.Cookie(DeviceCookie))
}

// setDeviceToken hands the client a new device token: as the header for API clients, and as an
// HttpOnly, Secure, SameSite=Strict cookie sent only to the login endpoint, for browsers.
func setDeviceToken(req *Request, tok string) {
	if tok == "" {
		return
	}
	req.Ctx.Response.Header.Set(DeviceHeader, tok)
	c := fasthttp.AcquireCookie()
	defer fasthttp.ReleaseCookie(c)
	c.SetKey(DeviceCookie)
	c.SetValue(tok)
	c.SetPath("/auth/login")
	c.SetHTTPOnly(true)
	c.SetSecure(true)
	c.SetSameSite(fasthttp.CookieSameSiteStrictMode)
	c.SetMaxAge(int(auth.DeviceLifetime / time.Second))
	req.Ctx.Response.Header.SetCookie(c)
}

// OperationRoutes returns /healthz and /readyz.
func OperationRoutes(h Health) []*Route {
	return []*Route{
		{Method: "GET", Path: "/healthz", Summary: "The process serves",
			OK:     Doc{Description: "the process serves", Example: map[string]string{"status": "ok"}},
			Handle: func(*Request) (Response, error) { return Response{JSON: map[string]string{"status": "ok"}}, nil }},
		{Method: "GET", Path: "/readyz", Summary: "The store is open and every configured plugin is loaded",
			OK:     Doc{Description: "the store is open and every configured plugin is loaded", Example: map[string]string{"status": "ready"}},
			Errors: map[int][]string{503: {"STORE_CLOSED", "PLUGIN_NOT_LOADED: <ids>"}},
			Handle: func(*Request) (Response, error) {
				if err := h.Ready(); err != nil {
					return Response{}, err
				}
				return Response{JSON: map[string]string{"status": "ready"}}, nil
			}},
		{Method: "GET", Path: "/metrics", Summary: "Prometheus metrics",
			OK: Doc{Description: "the Prometheus text format", ContentType: "text/plain"},
			Handle: func(req *Request) (Response, error) {
				req.Ctx.Response.Header.SetContentType("text/plain; version=0.0.4; charset=utf-8")
				return Response{Raw: true}, metrics.Write(req.Ctx.Response.BodyWriter())
			}},
	}
}

// rawJSON is a pre-encoded JSON document.
type rawJSON []byte

// MarshalJSON implements json.Marshaler.
func (r rawJSON) MarshalJSON() ([]byte, error) { return r, nil }
