package api

import (
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/valyala/fasthttp"
)

func TestPathParameters(t *testing.T) {
	rt := NewRouter(nil, hclog.NewNullLogger())
	echo := func(req *Request) (Response, error) { return Response{Text: "id=" + req.Params["id"]}, nil }
	rt.Add(&Route{Method: "GET", Path: "/things/mine", Handle: func(*Request) (Response, error) { return Response{Text: "exact"}, nil }},
		&Route{Method: "DELETE", Path: "/things/{id}", Params: &Schema{Fields: []Field{{Name: "id", Required: true, MaxLength: 5}}}, Handle: echo})
	tests := []struct {
		name, method, path string
		wantStatus         int
		wantBody           string
	}{
		{"a value", "DELETE", "/things/abc", 200, "id=abc"},
		{"an exact path wins over a pattern", "GET", "/things/mine", 200, "exact"},
		{"too long a value", "DELETE", "/things/abcdef", 400, `"params/id must NOT have more than 5 characters"`},
		{"an empty segment is no value", "DELETE", "/things/", 404, ""},
		{"one segment more", "DELETE", "/things/abc/def", 404, ""},
		{"another method of the pattern", "GET", "/things/abc", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var req fasthttp.Request
			req.Header.SetMethod(tt.method)
			req.SetRequestURI(tt.path)
			ctx := &fasthttp.RequestCtx{}
			ctx.Init(&req, nil, nil)
			rt.Handler(ctx)
			if got := ctx.Response.StatusCode(); got != tt.wantStatus {
				t.Fatalf("status %d, want %d (%s)", got, tt.wantStatus, ctx.Response.Body())
			}
			if tt.wantBody != "" && !strings.Contains(string(ctx.Response.Body()), tt.wantBody) {
				t.Fatalf("body %s, want %s", ctx.Response.Body(), tt.wantBody)
			}
		})
	}
}

func TestPathParameterNeedsAField(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("a {name} segment without a Params field was registered")
		}
	}()
	NewRouter(nil, hclog.NewNullLogger()).Add(&Route{Method: "GET", Path: "/x/{id}", Handle: func(*Request) (Response, error) { return Response{}, nil }})
}

func TestAcceptLanguage(t *testing.T) {
	tests := []struct{ header, want string }{
		{"", ""},
		{"nl", "nl"},
		{"nl-BE, nl;q=0.9, en;q=0.5", "nl"},
		{"FR-ca", "fr"},
		{"de;q=0, en", "en"},
		{"*, en", "en"},
		{"tlh, es-419", "es"},
		{"zh-Hant-TW", "zh"},
		{"x;q=abc, de", "de"},
		{"1a, 22", ""},
	}
	for _, tt := range tests {
		if got := acceptLanguage([]byte(tt.header)); got != tt.want {
			t.Errorf("acceptLanguage(%q) = %q, want %q", tt.header, got, tt.want)
		}
	}
}
