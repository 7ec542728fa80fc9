package server

import (
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/valyala/fasthttp"

	"github.com/gatehouse/gatehouse/core/config"
)

// BenchmarkHandlerUserTwoFA measures the in-process cost of GET /user/2fa with a valid access
// token (no network), the part of the HTTP benchmark that is Gatehouse's own work.
func BenchmarkHandlerUserTwoFA(b *testing.B) {
	cfg := config.Default()
	cfg.DataDir = b.TempDir()
	cfg.Registration = "open"
	cfg.PluginCache = "../../.cache/plugin-cache"
	cfg.Argon2Memory, cfg.Argon2Time = 64, 1
	srv, err := Open(cfg, hclog.NewNullLogger())
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	call := func(method, path, token, body string) *fasthttp.RequestCtx {
		var req fasthttp.Request
		req.Header.SetMethod(method)
		req.SetRequestURI(path)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if body != "" {
			req.Header.SetContentType("application/json")
			req.SetBodyString(body)
		}
		ctx := &fasthttp.RequestCtx{}
		ctx.Init(&req, nil, nil)
		srv.router.Handler(ctx)
		return ctx
	}
	call("POST", "/user", "", `{"email":"b@example.com","password":"Passw0rdX"}`)
	refresh := string(call("POST", "/auth/login", "", `{"username":"b@example.com","password":"Passw0rdX"}`).Response.Body())
	access := string(call("GET", "/auth/accesstoken", refresh, "").Response.Body())
	var req fasthttp.Request
	req.Header.SetMethod("GET")
	req.SetRequestURI("/user/2fa")
	req.Header.Set("Authorization", "Bearer "+access)
	ctx := &fasthttp.RequestCtx{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ctx.Init(&req, nil, nil)
		srv.router.Handler(ctx)
		if ctx.Response.StatusCode() != 200 {
			b.Fatal(ctx.Response.StatusCode(), string(ctx.Response.Body()))
		}
	}
}
