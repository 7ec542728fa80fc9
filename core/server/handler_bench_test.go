package server

import (
	"testing"

	"github.com/valyala/fasthttp"
)

// BenchmarkHandlerUserTwoFA measures the in-process cost of GET /user/2fa with a valid access
// token (no network), the part of the HTTP benchmark that is Gatehouse's own work.
func BenchmarkHandlerUserTwoFA(b *testing.B) {
	c := openBenchServer(b, false)
	c.do("POST", "/user", "", `{"email":"b@example.com","password":"Passw0rdX"}`)
	_, refresh := c.do("POST", "/auth/login", "", `{"username":"b@example.com","password":"Passw0rdX"}`)
	_, access := c.do("GET", "/auth/accesstoken", string(refresh), "")
	srv := c.srv
	var req fasthttp.Request
	req.Header.SetMethod("GET")
	req.SetRequestURI("/user/2fa")
	req.Header.Set("Authorization", "Bearer "+string(access))
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
