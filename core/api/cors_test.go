package api

import (
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/valyala/fasthttp"
)

func TestCORS(t *testing.T) {
	rt := NewRouter(nil, hclog.NewNullLogger())
	rt.SetCORS(NewCORS([]string{"https://app.example.com/"}))
	rt.Add(&Route{Method: "GET", Path: "/healthz", Handle: func(*Request) (Response, error) { return Response{}, nil }},
		&Route{Method: "POST", Path: "/healthz", Handle: func(*Request) (Response, error) { return Response{}, nil }})
	do := func(method, path, origin string) *fasthttp.RequestCtx {
		var req fasthttp.Request
		req.Header.SetMethod(method)
		req.SetRequestURI(path)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		ctx := &fasthttp.RequestCtx{}
		ctx.Init(&req, nil, nil)
		rt.Handler(ctx)
		return ctx
	}
	tests := []struct {
		name, method, path, origin string
		wantStatus                 int
		wantOrigin, wantMethods    string
	}{
		{"allowed origin", "GET", "/healthz", "https://app.example.com", 200, "https://app.example.com", ""},
		{"origin compared case-insensitively", "GET", "/healthz", "https://APP.example.com", 200, "https://APP.example.com", ""},
		{"other origin gets no CORS headers", "GET", "/healthz", "https://evil.example", 200, "", ""},
		{"no origin", "GET", "/healthz", "", 200, "", ""},
		{"preflight", "OPTIONS", "/healthz", "https://app.example.com", 204, "https://app.example.com", "GET, POST"},
		{"preflight from another origin", "OPTIONS", "/healthz", "https://evil.example", 204, "", ""},
		{"preflight of an unknown path", "OPTIONS", "/nope", "https://app.example.com", 404, "https://app.example.com", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := do(tt.method, tt.path, tt.origin)
			h := &ctx.Response.Header
			if ctx.Response.StatusCode() != tt.wantStatus ||
				string(h.Peek("Access-Control-Allow-Origin")) != tt.wantOrigin ||
				string(h.Peek("Access-Control-Allow-Methods")) != tt.wantMethods {
				t.Fatalf("status %d, allow-origin %q, allow-methods %q", ctx.Response.StatusCode(),
					h.Peek("Access-Control-Allow-Origin"), h.Peek("Access-Control-Allow-Methods"))
			}
			if tt.wantOrigin != "" && string(h.Peek("Access-Control-Allow-Credentials")) != "true" {
				t.Fatal("credentials not allowed")
			}
		})
	}
}
