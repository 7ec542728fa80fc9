package server

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// FuzzRequests sends arbitrary bodies, query strings and Authorization headers to every route
// of a real server (in process, no network) and checks that each answer is a success or the
// error envelope with the same status, and never an internal error.
func FuzzRequests(f *testing.F) {
	srv := openBenchServer(f, false).srv
	routes := srv.router.Routes()
	seeds := []struct {
		route       uint8
		body, query string
		auth        string
	}{
		{0, `{"username":"a@example.com","password":"x"}`, "", ""},
		{1, `{"email":"a@example.com","password":"Passw0rdX"}`, "cookie=true", "Bearer x.y.z"},
		{2, `[]`, "language=nld", "Basic abc"},
		{3, "{\"otp\":\"\xff\"}", "origin=..", "Bearer "},
		{4, `{"a":{"b":{"c":[1,2,{"d":null}]}}}`, "", "bearer eyJhbGciOiJub25lIn0.e30."},
	}
	for _, s := range seeds {
		f.Add(s.route, []byte(s.body), s.query, s.auth)
	}
	f.Fuzz(func(t *testing.T, routeIndex uint8, body []byte, query, authz string) {
		r := routes[int(routeIndex)%len(routes)]
		if r.Path == "/auth/logout/all" || r.Path == "/metrics" {
			return // nothing to decode
		}
		var req fasthttp.Request
		req.Header.SetMethod(r.Method)
		req.SetRequestURI(r.Path + "?" + query)
		if authz != "" && !strings.ContainsAny(authz, "\r\n") {
			req.Header.Set("Authorization", authz)
		}
		req.Header.SetContentType("application/json")
		req.SetBody(body)
		ctx := &fasthttp.RequestCtx{}
		ctx.Init(&req, nil, nil)
		srv.router.Handler(ctx)
		status := ctx.Response.StatusCode()
		if status >= 500 && status != 503 {
			var env map[string]any
			_ = json.Unmarshal(ctx.Response.Body(), &env)
			if msg, _ := env["message"].(string); msg == "INTERNAL_ERROR" {
				t.Fatalf("%s %s?%s body %q: %d %s", r.Method, r.Path, query, body, status, ctx.Response.Body())
			}
		}
		if status >= 400 {
			var env struct {
				StatusCode int    `json:"statusCode"`
				Error      string `json:"error"`
				Message    string `json:"message"`
			}
			if err := json.Unmarshal(ctx.Response.Body(), &env); err != nil || env.StatusCode != status || env.Error == "" || env.Message == "" {
				t.Fatalf("%s %s: %d with a body that is not the envelope: %s", r.Method, r.Path, status, ctx.Response.Body())
			}
		}
	})
}
