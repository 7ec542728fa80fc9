package api

import (
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/valyala/fasthttp"
)

func accountRouter(p AccountPage) *Router {
	rt := NewRouter(nil, hclog.NewNullLogger())
	rt.Add(AccountPageRoutes(p)...)
	return rt
}

func get(rt *Router, uri string) *fasthttp.Response {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod("GET")
	ctx.Request.SetRequestURI(uri)
	rt.Handler(&ctx)
	var resp fasthttp.Response
	ctx.Response.CopyTo(&resp)
	return &resp
}

func TestAccountPageHeaders(t *testing.T) {
	rt := accountRouter(AccountPage{ServiceName: "Gatehouse", RegistrationOpen: true})
	tests := []struct {
		path, contentType, bodyHas string
	}{
		{"/account/", "text/html; charset=utf-8", `<script type="module" src="account.js">`},
		{"/account/account.js", "text/javascript; charset=utf-8", "/auth/login"},
		{"/account/account.css", "text/css; charset=utf-8", "font"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp := get(rt, tt.path)
			if resp.StatusCode() != 200 {
				t.Fatalf("status %d", resp.StatusCode())
			}
			h := func(k string) string { return string(resp.Header.Peek(k)) }
			if got := h("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type %q, want %q", got, tt.contentType)
			}
			csp := h("Content-Security-Policy")
			for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "frame-ancestors 'none'", "base-uri 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-") {
				t.Errorf("CSP %q allows unsafe sources", csp)
			}
			for k, want := range map[string]string{
				"Referrer-Policy":        "no-referrer",
				"X-Content-Type-Options": "nosniff",
				"X-Frame-Options":        "DENY",
				"Cache-Control":          "no-cache",
			} {
				if got := h(k); got != want {
					t.Errorf("%s %q, want %q", k, got, want)
				}
			}
			if !strings.Contains(string(resp.Body()), tt.bodyHas) {
				t.Errorf("body lacks %q", tt.bodyHas)
			}
		})
	}
}

func TestAccountPageHasNoInlineCode(t *testing.T) {
	page := string(get(accountRouter(AccountPage{ServiceName: "Gatehouse"}), "/account/").Body())
	for _, bad := range []string{"<style", " style=", " onclick=", " onload=", "<script>", "javascript:"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page has %q, which the CSP refuses", bad)
		}
	}
}

func TestAccountPageSettings(t *testing.T) {
	tests := []struct {
		name string
		page AccountPage
		want []string
	}{
		{"open registration", AccountPage{ServiceName: "Gatehouse", RegistrationOpen: true},
			[]string{`<meta name="gatehouse-registration" content="open">`, `<title>Gatehouse account</title>`}},
		{"closed registration", AccountPage{ServiceName: "Gatehouse"},
			[]string{`<meta name="gatehouse-registration" content="closed">`, `<meta name="gatehouse-verify-email" content="off">`}},
		{"addresses to confirm", AccountPage{ServiceName: "Gatehouse", VerifyEmail: true},
			[]string{`<meta name="gatehouse-verify-email" content="required">`}},
		{"a service name is escaped", AccountPage{ServiceName: `A "B" <C>`},
			[]string{`content="A &#34;B&#34; &lt;C&gt;"`, `<title>A &#34;B&#34; &lt;C&gt; account</title>`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := string(get(accountRouter(tt.page), "/account/").Body())
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %s", w)
				}
			}
		})
	}
}

func TestResetPasswordLinkRedirect(t *testing.T) {
	rt := accountRouter(AccountPage{ServiceName: "Gatehouse"})
	tests := []struct {
		name, uri, location string
		status              int
	}{
		{"address and code to the fragment", "/reset-password?email=a%40example.com&otp=123456", "/account/#reset?email=a%40example.com&otp=123456", 302},
		{"other parameters are dropped", "/reset-password?otp=123456&next=https://evil.example", "/account/#reset?otp=123456", 302},
		{"a plus address stays one", "/reset-password?email=a%2Bb%40example.com&otp=1", "/account/#reset?email=a%2Bb%40example.com&otp=1", 302},
		{"nothing given: the empty form", "/reset-password", "/account/#reset?", 302},
		{"/account without the slash", "/account", "/account/", 302},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := get(rt, tt.uri)
			if resp.StatusCode() != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode(), tt.status)
			}
			if got := string(resp.Header.Peek("Location")); got != tt.location {
				t.Errorf("Location %q, want %q", got, tt.location)
			}
			if got := string(resp.Header.Peek("Referrer-Policy")); got != "no-referrer" {
				t.Errorf("Referrer-Policy %q: the code must not leak through a Referer", got)
			}
		})
	}
	if resp := get(rt, "/reset-password?otp="+strings.Repeat("1", 65)); resp.StatusCode() != 400 {
		t.Errorf("an over-long code: status %d, want 400", resp.StatusCode())
	}
}

func TestAccountPageFilesAreNotAPIOperations(t *testing.T) {
	routes := AccountPageRoutes(AccountPage{ServiceName: "Gatehouse"})
	doc := string(OpenAPI(routes, "1.0.0", ""))
	ref := string(Reference(routes))
	for _, r := range routes {
		inDoc := strings.Contains(doc, `"`+r.Path+`":`)
		inRef := strings.Contains(ref, "#### "+r.Method+" "+r.Path+"\n")
		if inDoc == r.Page || inRef == r.Page {
			t.Errorf("%s %s (page file %v): in /openapi.json %v, in docs/API.md %v", r.Method, r.Path, r.Page, inDoc, inRef)
		}
	}
}

// TestAccountPageLanguages checks that the page's four languages have the same messages: a key
// missing in one would show the English text there.
func TestAccountPageLanguages(t *testing.T) {
	script, err := accountFS.ReadFile("account/account.js")
	if err != nil {
		t.Fatal(err)
	}
	src := string(script)
	start := strings.Index(src, "const MESSAGES = {")
	end := strings.Index(src[start:], "\n};\n")
	if start < 0 || end < 0 {
		t.Fatal("MESSAGES not found in account.js")
	}
	block := src[start : start+end]
	keys := map[string]map[string]bool{}
	lang := ""
	for _, line := range strings.Split(block, "\n") {
		switch {
		case len(line) > 4 && strings.HasPrefix(line, "  ") && !strings.HasPrefix(line, "   ") && strings.HasSuffix(line, ": {"):
			lang = strings.TrimSuffix(strings.TrimSpace(line), ": {")
			keys[lang] = map[string]bool{}
		case strings.HasPrefix(line, "    '") && lang != "":
			k := strings.TrimPrefix(line, "    '")
			keys[lang][k[:strings.Index(k, "'")]] = true
		}
	}
	if len(keys) != 4 || len(keys["en"]) < 100 {
		t.Fatalf("languages %d, English messages %d: the parse of MESSAGES is off", len(keys), len(keys["en"]))
	}
	for _, l := range []string{"nl", "fr", "de"} {
		for k := range keys["en"] {
			if !keys[l][k] {
				t.Errorf("%s lacks %q", l, k)
			}
		}
		for k := range keys[l] {
			if !keys["en"][k] {
				t.Errorf("%s has %q, which English lacks", l, k)
			}
		}
	}
}
