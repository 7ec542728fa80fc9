package api

import (
	"context"
	"regexp"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/core/admin"
	"github.com/gatehouse/gatehouse/core/audit"
	"github.com/gatehouse/gatehouse/core/failure"
	"github.com/gatehouse/gatehouse/core/limit"
)

var (
	limitPattern  = regexp.MustCompile(`^[1-9][0-9]{0,3}$`)
	userIDPattern = regexp.MustCompile(`^[1-9][0-9]{0,19}$`)

	adminUsersQuery = &Schema{Fields: []Field{
		{Name: "email", MaxLength: 256, Description: "an address (case-insensitive) or its beginning: the accounts whose address starts with it"},
		{Name: "cursor", MaxLength: 512, Description: "the next of the previous page"},
		{Name: "limit", Pattern: limitPattern, Description: "page size, 1 to 500 (default 50)"},
	}}
	adminCreateBody = &Schema{Fields: []Field{
		{Name: "email", Required: true, MaxLength: 256, Format: "email"},
		{Name: "password", MaxLength: 1024, Description: "checked by the configured password policies; or give passwordHash"},
		{Name: "passwordHash", MaxLength: 1024, Description: "an imported hash: argon2id/argon2i PHC, bcrypt $2a$/$2b$/$2y$, scrypt PHC, PBKDF2-SHA256 PHC or passlib; verified at its own parameters and replaced by argon2id at the next login"},
	}}
	// userIDParams is the {id} of the user routes: any other value than an id is 404 USER_NOT_FOUND.
	userIDParams    = &Schema{Fields: []Field{{Name: "id", Description: "the user id"}}}
	adminAuditQuery = &Schema{Fields: []Field{
		{Name: "userId", Pattern: userIDPattern, Description: "the events of one account"},
		{Name: "type", MaxLength: 64, Description: "one event type (login.failed), or a family with a trailing * (2fa.*)"},
		{Name: "since", MaxLength: 64, Description: "RFC 3339 time: the events from it on"},
		{Name: "cursor", MaxLength: 64, Description: "the next of the previous page"},
		{Name: "limit", Pattern: limitPattern, Description: "page size, 1 to 500 (default 50)"},
	}}
)

// adminUserExample is one user as the admin API lists it.
var adminUserExample = map[string]any{"userId": 1, "email": "ada@example.com", "createdAt": "2026-01-02T03:04:05Z",
	"disabled": false, "methods": []string{"totp"}, "lastLoginAt": "2026-01-03T03:04:05Z"}

// AdminRoutes returns the operators' API under /admin/ (see Router.SetAdmin for who may call it).
func AdminRoutes(s *admin.Service) []*Route {
	userErrors := map[int][]string{404: {admin.CodeUserNotFound}}
	userRoute := func(method, path, summary, description string, do func(ctx context.Context, id uint64) error) *Route {
		return &Route{Method: method, Path: path, Summary: summary, Admin: true, Params: userIDParams,
			OK: Doc{Description: description}, Errors: userErrors,
			Handle: func(req *Request) (Response, error) {
				id, err := userIDParam(req)
				if err != nil {
					return Response{}, err
				}
				return Response{}, do(adminContext(req), id)
			}}
	}
	withDetail := map[string]any{}
	for k, v := range adminUserExample {
		withDetail[k] = v
	}
	withDetail["sessions"] = 2
	withDetail["throttles"] = []map[string]any{{"factor": "password", "failures": 6, "wait": 2}}
	return []*Route{
		{Method: "GET", Path: "/admin/users", Summary: "List or find accounts", Admin: true, Query: adminUsersQuery,
			OK:     Doc{Description: "a page of accounts; next is the cursor of the following page, null on the last", Example: map[string]any{"users": []any{adminUserExample}, "next": nil}},
			Errors: map[int][]string{400: {admin.CodeInvalidCursor}},
			Handle: func(req *Request) (Response, error) {
				users, next, err := s.List(req.Query["email"], req.Query["cursor"], atoiOr(req.Query["limit"], 0))
				if err != nil {
					return Response{}, err
				}
				return Response{JSON: map[string]any{"users": users, "next": nullable(next)}}, nil
			}},
		{Method: "GET", Path: "/admin/users/{id}", Summary: "One account, its sessions and its guess counters", Admin: true, Params: userIDParams,
			OK:     Doc{Description: "the account; throttles are its guess counters with failures (wait: seconds until the next guess)", Example: withDetail},
			Errors: userErrors,
			Handle: func(req *Request) (Response, error) {
				id, err := userIDParam(req)
				if err != nil {
					return Response{}, err
				}
				d, err := s.Get(id)
				if err != nil {
					return Response{}, err
				}
				if d.Throttles == nil {
					d.Throttles = []limit.Counter{}
				}
				return Response{JSON: d}, nil
			}},
		{Method: "POST", Path: "/admin/users", Summary: "Create an account, or import one with its password hash", Admin: true, Body: adminCreateBody,
			OK:     Doc{Description: "the new account", Example: map[string]int{"userId": 1}},
			Errors: map[int][]string{400: {admin.CodeInvalidHash, "body must have exactly one of 'password' and 'passwordHash'", "Password must contain at least one uppercase character"}, 403: {failure.CodeForbiddenMailDomain}, 409: {failure.CodeEmailAlreadyInUse}},
			Handle: func(req *Request) (Response, error) {
				id, err := s.Create(adminContext(req), req.Body["email"], req.Body["password"], req.Body["passwordHash"])
				if err != nil {
					return Response{}, err
				}
				return Response{JSON: map[string]uint64{"userId": id}}, nil
			}},
		userRoute("POST", "/admin/users/{id}/disable", "Disable an account", "null; the account cannot log in (only the right password learns 403 ACCOUNT_DISABLED) and every session of it is revoked",
			func(ctx context.Context, id uint64) error { return s.SetDisabled(ctx, id, true) }),
		userRoute("POST", "/admin/users/{id}/enable", "Enable a disabled account", "null; the account can log in again",
			func(ctx context.Context, id uint64) error { return s.SetDisabled(ctx, id, false) }),
		userRoute("DELETE", "/admin/users/{id}", "Delete an account and everything of it", "null; the account, its sessions, 2FA state, recovery codes, guess counters, pending codes and queued mail are gone (its audit events stay until the retention ends)",
			s.DeleteAccount),
		userRoute("DELETE", "/admin/users/{id}/2fa", "Turn every 2FA method of an account off", "null; every method and the recovery codes are off, and the user gets a notice by mail",
			s.ResetTwoFactor),
		userRoute("DELETE", "/admin/users/{id}/sessions", "Revoke every session of an account", "null; every session and its tokens are revoked",
			s.RevokeSessions),
		userRoute("DELETE", "/admin/users/{id}/limits", "Clear the guess counters of an account", "null; its failures and waits are forgotten",
			s.ClearLimits),
		{Method: "GET", Path: "/admin/audit", Summary: "The audit log", Admin: true, Query: adminAuditQuery,
			OK: Doc{Description: "a page of events, oldest first; next is the cursor of the following page, null on the last", Example: map[string]any{"events": []map[string]any{{
				"id": "1873a4b2c9d0e1f2-9a8b7c6d", "time": "2026-01-02T03:04:05Z", "type": "login.failed", "userId": 1,
				"ip": "192.0.2.10", "userAgent": "curl/8.5.0", "requestId": "k3j2-17", "outcome": "failure"}}, "next": nil}},
			Errors: map[int][]string{400: {admin.CodeInvalidCursor, "querystring/since must be an RFC 3339 time"}},
			Handle: func(req *Request) (Response, error) {
				q := audit.Query{Type: req.Query["type"], Cursor: req.Query["cursor"], Limit: atoiOr(req.Query["limit"], 0)}
				if v := req.Query["userId"]; v != "" {
					id, err := strconv.ParseUint(v, 10, 64)
					if err != nil {
						return Response{}, failure.BadRequest("querystring/userId must be a user id")
					}
					q.UserID = id
				}
				if v := req.Query["since"]; v != "" {
					t, err := time.Parse(time.RFC3339Nano, v)
					if err != nil {
						return Response{}, failure.BadRequest("querystring/since must be an RFC 3339 time")
					}
					q.Since = t
				}
				events, next, err := s.AuditEvents(q)
				if err != nil {
					return Response{}, err
				}
				return Response{JSON: map[string]any{"events": events, "next": nullable(next)}}, nil
			}},
	}
}

// adminContext is the request's context with its admin actor, for the audit events.
func adminContext(req *Request) context.Context {
	return audit.WithActor(req.Ctx, req.Actor)
}

// userIDParam reads the {id} of a user route; anything but a user id is 404 USER_NOT_FOUND.
func userIDParam(req *Request) (uint64, error) {
	v := req.Params["id"]
	if !userIDPattern.MatchString(v) {
		return 0, failure.New(404, admin.CodeUserNotFound)
	}
	id, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, failure.New(404, admin.CodeUserNotFound)
	}
	return id, nil
}

func atoiOr(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return def
}

// nullable is s, or nil (JSON null) when s is empty.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
