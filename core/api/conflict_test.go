package api

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/valyala/fasthttp"

	"github.com/gatehouse/gatehouse/core/store"
)

// A change that kept conflicting past the store's retries is a 503 the client may retry, with
// the envelope and Retry-After, not a 500.
func TestStoreConflictIs503(t *testing.T) {
	rt := NewRouter(nil, hclog.NewNullLogger())
	rt.Add(&Route{Method: "POST", Path: "/busy", Body: &Schema{}, Handle: func(*Request) (Response, error) {
		return Response{}, fmt.Errorf("enable: %w", store.ErrConflict)
	}})
	var req fasthttp.Request
	req.Header.SetMethod("POST")
	req.SetRequestURI("/busy")
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&req, nil, nil)
	rt.Handler(ctx)
	body := string(ctx.Response.Body())
	if ctx.Response.StatusCode() != 503 || !strings.Contains(body, `"message":"STORE_BUSY"`) || !strings.Contains(body, `"retryAfter":1`) {
		t.Fatalf("%d %s", ctx.Response.StatusCode(), body)
	}
	if got := string(ctx.Response.Header.Peek("Retry-After")); got != "1" {
		t.Fatalf("Retry-After %q", got)
	}
}
