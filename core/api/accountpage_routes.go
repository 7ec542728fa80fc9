package api

import (
	"bytes"
	"embed"
	"html/template"
	"net/url"
)

//go:embed account/index.html account/account.js account/account.css
var accountFS embed.FS

// AccountPageCSP is the Content-Security-Policy of the account page and its assets: only its
// own script and style, images of its own or data: (the TOTP QR code), requests to this
// server alone, no framing, no inline script or style.
const AccountPageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// AccountPage configures the account page: what it offers and what it is called.
type AccountPage struct {
	// ServiceName is the service's display name (GATEHOUSE_DISPLAY_NAME).
	ServiceName string
	// RegistrationOpen is whether the page offers to register.
	RegistrationOpen bool
	// VerifyEmail is whether addresses must be confirmed (GATEHOUSE_VERIFY_EMAIL=required): only
	// then does the page show whether the address is confirmed and offer to confirm it.
	VerifyEmail bool
}

// setPageHeaders sets the security headers of the account page and its assets.
func setPageHeaders(req *Request, contentType string) {
	h := &req.Ctx.Response.Header
	h.SetContentType(contentType)
	h.Set("Content-Security-Policy", AccountPageCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
	h.Set("Cache-Control", "no-cache")
}

// AccountPageRoutes returns the account web page GET /account/ (sign in, register, forgot and
// reset password, the overview with 2FA, sessions, password, address and deletion), its script
// and style sheet, embedded in the binary, GET /account (a redirect to it), and GET
// /reset-password, the path of the link in the forgot-password mail, which sends the browser to
// the page's reset form with the address and code in the URL fragment (never sent to a server
// again, so not in any log). They are page routes (Route.Page): served, not API operations.
func AccountPageRoutes(p AccountPage) []*Route {
	page := renderAccountPage(p)
	script, _ := accountFS.ReadFile("account/account.js")
	style, _ := accountFS.ReadFile("account/account.css")
	static := func(contentType string, body []byte) func(*Request) (Response, error) {
		return func(req *Request) (Response, error) {
			setPageHeaders(req, contentType)
			req.Ctx.Response.SetBody(body)
			return Response{Raw: true}, nil
		}
	}
	redirect := func(location string) func(*Request) (Response, error) {
		return func(req *Request) (Response, error) {
			req.Ctx.Response.Header.Set("Location", location)
			setPageHeaders(req, "text/plain; charset=utf-8")
			req.Ctx.Response.SetBodyString("The account page is at /account/.\n")
			return Response{Status: 302, Raw: true}, nil
		}
	}
	return []*Route{
		{Method: "GET", Path: "/account/", Summary: "The account web page", OK: Doc{Description: "an HTML page", ContentType: "text/html"},
			Page: true, Handle: static("text/html; charset=utf-8", page)},
		{Method: "GET", Path: "/account", Summary: "The account web page (a redirect to /account/)", OK: Doc{Status: 302, Description: "a redirect to /account/, the page for account holders: sign in, register, reset a password, 2FA, sessions"},
			Page: true, Handle: redirect("/account/")},
		{Method: "GET", Path: "/account/account.js", Summary: "The script of the account page", OK: Doc{Description: "JavaScript", ContentType: "text/javascript"},
			Page: true, Handle: static("text/javascript; charset=utf-8", script)},
		{Method: "GET", Path: "/account/account.css", Summary: "The style sheet of the account page", OK: Doc{Description: "CSS", ContentType: "text/css"},
			Page: true, Handle: static("text/css; charset=utf-8", style)},
		{Method: "GET", Path: "/reset-password", Summary: "The link of the forgot-password mail: to the account page's reset form",
			Query: &Schema{Fields: []Field{
				{Name: "email", MaxLength: 256, Description: "the account's address"},
				{Name: "otp", MaxLength: 64, Description: "the mailed code"},
			}},
			OK:   Doc{Status: 302, Description: "a redirect to /account/#reset?email=...&otp=..."},
			Page: true,
			Handle: func(req *Request) (Response, error) {
				v := url.Values{}
				for _, k := range []string{"email", "otp"} {
					if s := req.Query[k]; s != "" {
						v.Set(k, s)
					}
				}
				return redirect("/account/#reset?" + v.Encode())(req)
			}},
	}
}

// renderAccountPage fills the page's few server-side values (escaped by html/template).
func renderAccountPage(p AccountPage) []byte {
	raw, _ := accountFS.ReadFile("account/index.html")
	t := template.Must(template.New("account").Parse(string(raw)))
	var b bytes.Buffer
	registration := "closed"
	if p.RegistrationOpen {
		registration = "open"
	}
	verify := "off"
	if p.VerifyEmail {
		verify = "required"
	}
	if err := t.Execute(&b, map[string]string{"ServiceName": p.ServiceName, "Registration": registration, "VerifyEmail": verify}); err != nil {
		panic(err) // the embedded template and a map of strings: a programmer error
	}
	return b.Bytes()
}
