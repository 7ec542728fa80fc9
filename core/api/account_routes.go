package api

import (
	"github.com/gatehouse/gatehouse/core/auth"
)

var sessionParams = &Schema{Fields: []Field{{Name: "id", Required: true, MaxLength: 64, Description: "the session's id as GET /user/sessions lists it"}}}

// AccountRoutes returns the account holder's own routes: the account, its sessions.
func AccountRoutes(a *auth.Service) []*Route {
	return []*Route{
		{Method: "GET", Path: "/user", Summary: "The caller's account", Auth: auth.Access,
			OK: Doc{Description: "the account", Example: auth.Profile{UserID: 1, Email: "alice@example.com", EmailVerified: true}},
			Handle: func(req *Request) (Response, error) {
				p, err := a.Profile(req.Principal)
				return Response{JSON: p}, err
			}},
		{Method: "GET", Path: "/user/sessions", Summary: "The caller's sessions", Auth: auth.Access,
			OK: Doc{Description: "the live sessions, the most recently used first: lastUsedAt is the last token refresh (or the login), ip and userAgent those of the login, current marks the caller's own",
				Example: map[string]any{"sessions": []auth.SessionInfo{{ID: "Jq3...", IP: "192.0.2.7", UserAgent: "Mozilla/5.0 ...", Current: true}}}},
			Handle: func(req *Request) (Response, error) {
				list, err := a.Sessions(req.Principal)
				if err != nil {
					return Response{}, err
				}
				return Response{JSON: map[string]any{"sessions": list}}, nil
			}},
		{Method: "DELETE", Path: "/user/sessions/{id}", Summary: "End one of the caller's sessions", Auth: auth.SudoOrAccess, Params: sessionParams,
			OK:     Doc{Description: "null; every token of that session is revoked"},
			Errors: map[int][]string{404: {auth.CodeSessionNotFound}},
			Handle: func(req *Request) (Response, error) {
				return Response{}, a.RevokeSession(req.Principal, req.Params["id"])
			}},
	}
}
