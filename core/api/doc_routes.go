package api

import (
	"embed"
	"sync"
)

//go:embed docs/index.html docs/docs.js
var docsFS embed.FS

// DocRoutes returns GET /openapi.json (generated from the router's routes at first use, so the
// routes of every loaded plugin are in it; the admin routes only when this listener serves
// them), the reference page GET /docs, which renders that
// document in the browser with no other network access, and GET /, which sends a visitor to
// /docs. serverURL is the server's own base URL for the document's `servers` ("" for "/").
func DocRoutes(rt *Router, version, serverURL string) []*Route {
	var once sync.Once
	var doc []byte
	page, _ := docsFS.ReadFile("docs/index.html")
	script, _ := docsFS.ReadFile("docs/docs.js")
	static := func(contentType string, body []byte) func(*Request) (Response, error) {
		return func(req *Request) (Response, error) {
			req.Ctx.Response.Header.SetContentType(contentType)
			req.Ctx.Response.Header.Set("Cache-Control", "no-cache")
			req.Ctx.Response.SetBody(body)
			return Response{Raw: true}, nil
		}
	}
	return []*Route{
		{Method: "GET", Path: "/", Summary: "Points to the API reference",
			OK: Doc{Status: 302, Description: "a redirect to /docs"},
			Handle: func(req *Request) (Response, error) {
				// A relative Location: right behind any proxy, whatever the Host header says.
				req.Ctx.Response.Header.Set("Location", "/docs")
				req.Ctx.Response.Header.SetContentType("text/plain; charset=utf-8")
				req.Ctx.Response.SetBodyString("The API reference is at /docs.\n")
				return Response{Status: 302, Raw: true}, nil
			}},
		{Method: "GET", Path: "/openapi.json", Summary: "The OpenAPI 3.1 document of this server",
			OK: Doc{Description: "the document", ContentType: "application/json"},
			Handle: func(req *Request) (Response, error) {
				once.Do(func() { doc = OpenAPI(rt.documentedRoutes(), version, serverURL) })
				return static("application/json; charset=utf-8", doc)(req)
			}},
		{Method: "GET", Path: "/docs", Summary: "The API reference page", OK: Doc{Description: "an HTML page", ContentType: "text/html"},
			Handle: static("text/html; charset=utf-8", page)},
		{Method: "GET", Path: "/docs.js", Summary: "The script of the reference page", OK: Doc{Description: "JavaScript", ContentType: "text/javascript"},
			Handle: static("text/javascript; charset=utf-8", script)},
	}
}
