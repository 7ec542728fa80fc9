package api

import (
	"embed"
	"sync"
)

//go:embed docs/index.html docs/docs.js
var docsFS embed.FS

// DocRoutes returns GET /openapi.json (generated from the router's routes at first use, so the
// routes of every loaded plugin are in it) and the reference page GET /docs, which renders that
// document in the browser with no other network access.
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
		{Method: "GET", Path: "/openapi.json", Summary: "The OpenAPI 3.1 document of this server",
			OK: Doc{Description: "the document"},
			Handle: func(req *Request) (Response, error) {
				once.Do(func() { doc = OpenAPI(rt.Routes(), version, serverURL) })
				return static("application/json; charset=utf-8", doc)(req)
			}},
		{Method: "GET", Path: "/docs", Summary: "The API reference page", OK: Doc{Description: "an HTML page"},
			Handle: static("text/html; charset=utf-8", page)},
		{Method: "GET", Path: "/docs.js", Summary: "The script of the reference page", OK: Doc{Description: "JavaScript"},
			Handle: static("text/javascript; charset=utf-8", script)},
	}
}
