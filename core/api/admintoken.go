package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/gatehouse/gatehouse/core/failure"
)

// CodeInvalidAdminToken is the 401 of an admin route called without a valid admin token
// (missing or wrong: one answer for both).
const CodeInvalidAdminToken = "INVALID_ADMIN_TOKEN"

// AdminToken is one configured admin secret and the id audit events name it by.
type AdminToken struct {
	// ID is the token's name ("name:secret") or the first 8 hex digits of its SHA-256.
	ID   string
	hash [sha256.Size]byte
}

// AdminTokens are the configured admin secrets (GATEHOUSE_ADMIN_TOKEN).
type AdminTokens []AdminToken

var adminTokenName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,32}$`)

// ParseAdminTokens reads GATEHOUSE_ADMIN_TOKEN: comma-separated secrets, each optionally named
// "name:secret" (the name, of letters, digits and _.-, is the actor of its audit events; an
// unnamed secret's actor is the first 8 hex digits of its SHA-256). Empty: no admin.
func ParseAdminTokens(s string) (AdminTokens, error) {
	var out AdminTokens
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		secret, id := part, ""
		if name, rest, ok := strings.Cut(part, ":"); ok && adminTokenName.MatchString(name) && rest != "" {
			secret, id = rest, name
		}
		t := AdminToken{hash: sha256.Sum256([]byte(secret))}
		if id == "" {
			id = hex.EncodeToString(t.hash[:4])
		}
		if seen[id] {
			return nil, fmt.Errorf("two admin tokens have the id %q", id)
		}
		seen[id] = true
		t.ID = id
		out = append(out, t)
	}
	return out, nil
}

// match returns the id of the token presented, "" for none. Every configured token is
// compared, in constant time, on SHA-256 digests (so neither the length nor the position of a
// match shows in the time taken).
func (ts AdminTokens) match(presented []byte) string {
	sum := sha256.Sum256(presented)
	found := ""
	for _, t := range ts {
		if subtle.ConstantTimeCompare(sum[:], t.hash[:]) == 1 {
			found = t.ID
		}
	}
	return found
}

// Match returns the id of the admin token the request carries as its bearer, "" for none.
func (ts AdminTokens) Match(ctx *fasthttp.RequestCtx) string {
	if len(ts) == 0 {
		return ""
	}
	raw, err := bearer(ctx)
	if err != nil {
		raw = nil
	}
	if len(ctx.Request.Header.Peek(fasthttp.HeaderAuthorization)) == 0 {
		raw = nil // the id_token cookie is never an admin credential
	}
	return ts.match(raw)
}

// Where the router is reached from: set on the request by the listener that took it.
type listenerKey struct{}

const (
	onAdminListener = 1 // GATEHOUSE_ADMIN_ADDR
	onAdminSocket   = 2 // the data folder's admin socket: the operator on this machine
)

// AdminListenerHandler is the handler of the GATEHOUSE_ADMIN_ADDR listener: the admin routes only.
func (rt *Router) AdminListenerHandler(ctx *fasthttp.RequestCtx) {
	ctx.SetUserValue(listenerKey{}, onAdminListener)
	rt.Handler(ctx)
}

// AdminSocketHandler is the handler of /admin/ on the admin socket: the admin routes, with the
// actor "socket" and no token (only the owner of the data folder can reach the socket).
func (rt *Router) AdminSocketHandler(ctx *fasthttp.RequestCtx) {
	ctx.SetUserValue(listenerKey{}, onAdminSocket)
	rt.Handler(ctx)
}

func listenerOf(ctx *fasthttp.RequestCtx) int {
	v, _ := ctx.UserValue(listenerKey{}).(int)
	return v
}

// SetAdmin configures the admin API: its tokens, and whether it has a listener of its own
// (GATEHOUSE_ADMIN_ADDR), in which case the main listener does not serve it.
func (rt *Router) SetAdmin(tokens AdminTokens, ownListener bool) {
	rt.admins, rt.adminOwnListener = tokens, ownListener
}

// adminServed reports whether the admin routes exist for this request: through the socket
// always; otherwise only with a token configured, and on the admin listener when there is one.
func (rt *Router) adminServed(ctx *fasthttp.RequestCtx) bool {
	switch listenerOf(ctx) {
	case onAdminSocket:
		return true
	case onAdminListener:
		return len(rt.admins) > 0
	}
	return len(rt.admins) > 0 && !rt.adminOwnListener
}

// adminActor authenticates an admin request: its actor ("admin:<token id>" or "socket"), or 401.
func (rt *Router) adminActor(ctx *fasthttp.RequestCtx) (string, error) {
	if listenerOf(ctx) == onAdminSocket {
		return "socket", nil
	}
	if id := rt.admins.Match(ctx); id != "" {
		return "admin:" + id, nil
	}
	return "", failure.Unauthorized(CodeInvalidAdminToken)
}

// hidden reports whether the routes of a path do not exist for this request: the admin routes
// when the admin API is not served here, and every other route on the admin listener and the
// admin socket.
func (rt *Router) hidden(ctx *fasthttp.RequestCtx, methods map[string]*Route) bool {
	admin := false
	for _, r := range methods {
		admin = r.Admin
		break
	}
	if admin {
		return !rt.adminServed(ctx)
	}
	return listenerOf(ctx) != 0
}

// documentedRoutes are the routes the main listener serves, for its /openapi.json: every route,
// but the admin routes only when an admin token is configured and they have no listener of
// their own. (docs/API.md, from `gatehouse docs api`, documents them all.)
func (rt *Router) documentedRoutes() []*Route {
	if len(rt.admins) > 0 && !rt.adminOwnListener {
		return rt.list
	}
	out := make([]*Route, 0, len(rt.list))
	for _, r := range rt.list {
		if !r.Admin {
			out = append(out, r)
		}
	}
	return out
}
