package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Reference renders the HTTP reference of routes as Markdown (docs/API.md): the conventions,
// the tokens and the rate limits in fixed prose, then every route from the route table (its
// auth, body, query, answer and message codes). It is a pure function of the routes, so a test
// can tell when the committed file is out of date.
func Reference(routes []*Route) []byte {
	var b bytes.Buffer
	b.WriteString(referenceIntro)
	docs := make([]opDoc, 0, len(routes))
	for _, r := range routes {
		if !r.Page {
			docs = append(docs, describe(r))
		}
	}
	writeLimits(&b, docs)
	b.WriteString("\n## Endpoints\n\n")
	b.WriteString("Auth names the token a route takes (see Tokens); \"none\" means a public route. Every\n")
	b.WriteString("authenticated route can also answer the 401 codes of Tokens, and every route with a body\n")
	b.WriteString("the 400 validation messages and 413.\n")
	for _, g := range groups {
		var in []opDoc
		for _, d := range docs {
			if d.group == g {
				in = append(in, d)
			}
		}
		if len(in) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n### %s\n\n%s\n\n", g, groupDescriptions[g])
		b.WriteString("| method and path | auth | summary |\n|---|---|---|\n")
		for _, d := range in {
			fmt.Fprintf(&b, "| [`%s %s`](#%s) | %s | %s |\n", d.route.Method, d.route.Path, anchor(d.route), authLabel(d), cell(d.route.Summary))
		}
		for _, d := range in {
			writeRoute(&b, d)
		}
	}
	return b.Bytes()
}

// anchor is the id of a route's heading, as GitHub derives it from "GET /user/2fa".
func anchor(r *Route) string {
	var out strings.Builder
	for _, c := range strings.ToLower(r.Method + " " + r.Path) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			out.WriteRune(c)
		case c == ' ':
			out.WriteByte('-')
		}
	}
	return out.String()
}

func authLabel(d opDoc) string {
	if d.auth.schemes == nil {
		return "none"
	}
	return d.auth.label
}

// cell escapes text for a Markdown table cell.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func writeRoute(b *bytes.Buffer, d opDoc) {
	r := d.route
	fmt.Fprintf(b, "\n#### %s %s\n\n%s.", r.Method, r.Path, r.Summary)
	if d.auth.schemes == nil {
		b.WriteString(" Public: no token.\n")
	} else {
		fmt.Fprintf(b, " Requires %s.\n", d.auth.text)
	}
	writeFields(b, "Path parameters", r.Params)
	writeFields(b, "Query parameters", r.Query)
	if r.Body != nil {
		if len(r.Body.Fields) == 0 {
			b.WriteString("\nBody: a JSON object (`{}`); its properties are ignored.\n")
		} else {
			writeFields(b, "Body (JSON)", r.Body)
		}
	}
	ct := d.contentType()
	fmt.Fprintf(b, "\nSuccess: **%d**", d.status)
	if ct != "" {
		fmt.Fprintf(b, " `%s`", ct)
	}
	fmt.Fprintf(b, ": %s.\n", r.OK.Description)
	if ct == "application/json" && r.OK.ContentType == "" {
		ex := "null"
		if r.OK.Example != nil {
			j, err := json.Marshal(r.OK.Example)
			if err != nil {
				panic(err) // examples are plain values: programmer error
			}
			ex = string(j)
		}
		fmt.Fprintf(b, "\n```json\n%s\n```\n", ex)
	}
	if len(d.errors) > 0 {
		b.WriteString("\nErrors:\n\n")
		for _, st := range d.errorStatuses() {
			codes := make([]string, len(d.errors[st]))
			for i, c := range d.errors[st] {
				codes[i] = "`" + c + "`"
			}
			fmt.Fprintf(b, "- %d %s: %s\n", st, reasons[st], strings.Join(codes, ", "))
		}
	}
}

func writeFields(b *bytes.Buffer, title string, s *Schema) {
	if s == nil || len(s.Fields) == 0 {
		return
	}
	fmt.Fprintf(b, "\n%s:\n\n| name | required | rules | meaning |\n|---|---|---|---|\n", title)
	for _, f := range s.Fields {
		req := "no"
		if f.Required {
			req = "yes"
		}
		var rules []string
		switch {
		case f.MinLength > 0 && f.MinLength == f.MaxLength:
			rules = append(rules, fmt.Sprintf("exactly %d characters", f.MinLength))
		default:
			if f.MinLength > 0 {
				rules = append(rules, fmt.Sprintf("at least %d characters", f.MinLength))
			}
			if f.MaxLength > 0 {
				rules = append(rules, fmt.Sprintf("at most %d characters", f.MaxLength))
			}
		}
		if f.Format != "" {
			rules = append(rules, "format "+f.Format)
		}
		if f.Pattern != nil {
			rules = append(rules, "matches `"+f.Pattern.String()+"`")
		}
		if len(rules) == 0 {
			rules = []string{"a string"}
		}
		fmt.Fprintf(b, "| `%s` | %s | %s | %s |\n", f.Name, req, cell(strings.Join(rules, ", ")), cell(f.Description))
	}
}

// writeLimits writes the table of 429 message codes, each with the routes that answer it.
func writeLimits(b *bytes.Buffer, docs []opDoc) {
	byCode := map[string][]string{}
	for _, d := range docs {
		for _, c := range d.errors[429] {
			byCode[c] = append(byCode[c], "`"+d.route.Method+" "+d.route.Path+"`")
		}
	}
	codes := make([]string, 0, len(byCode))
	for c := range byCode {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	b.WriteString("\n| 429 message | answered by |\n|---|---|\n")
	for _, c := range codes {
		fmt.Fprintf(b, "| `%s` | %s |\n", c, strings.Join(byCode[c], ", "))
	}
}

// referenceIntro is the prose of the reference that no route carries.
const referenceIntro = `# Gatehouse HTTP API

<!-- Generated by ` + "`gatehouse docs api`" + ` from the route table in core/api: do not edit by hand.
     ` + "`make docs`" + ` rewrites it, and a test fails when it is out of date. -->

This is the HTTP contract of Gatehouse: every path, who may call it, what it takes and what it
answers, with the message codes clients can match on. It is written from the same route table
the server validates requests with; a running server also serves it as OpenAPI 3.1 at
` + "`GET /openapi.json`" + ` and as a page at ` + "`GET /docs`" + `. The routes of third-party 2FA
plugins appear there too; this file lists the first-party ones (` + "`totp`, `email-otp`" + `).

## Conventions

- Requests and answers are JSON (` + "`Content-Type: application/json`" + `, UTF-8), except the
  token answers of ` + "`/auth/login`, `/auth/refreshtoken` and `/auth/accesstoken`" + `, which are the raw
  token as ` + "`text/plain`" + `, and the operations pages (` + "`/metrics`, `/docs`" + `).
- A success with nothing to say is 200 with the body ` + "`null`" + `; the logout routes answer 204.
- A body larger than the configured limit (16 KiB by default) gets 413. Properties a route
  does not know are ignored. Every body property is a string.
- Every error has the same shape, ` + "`{\"statusCode\": 401, \"error\": \"Unauthorized\", \"message\": \"TOKEN_EXPIRED\"}`" + `:
  ` + "`message`" + ` is a stable message code or, for a malformed request, a validator-style
  sentence such as ` + "`body must have required property 'username'`" + ` or
  ` + "`body/otp must NOT have fewer than 6 characters`" + `. The ` + "`error`" + ` labels are ` + "`Bad Request`" + `,
  ` + "`Unauthorized`, `Forbidden`, `Not Found`, `Conflict`, `Payload Too Large`, `Too many requests`" + `,
  ` + "`Internal server error`" + ` and ` + "`Service Unavailable`" + `.
- Password rules come from the configured password-policy plugins; the default one wants 8 to
  256 characters with an uppercase letter, a lowercase letter and a digit, and says which is
  missing (` + "`Password must contain at least one digit`" + `).
- Routes that send mail take two optional query parameters: ` + "`origin`" + ` (at most 256
  characters) picks the mail templates and the base of links, ` + "`language`" + ` (two letters) the
  template language. No template for the pair: 500 ` + "`UNABLE_TO_FIND_MAIL_TEMPLATE`" + `.
- Email addresses compare without regard to case; the login ` + "`username`" + ` is the address.
  User ids are integers.

## Tokens

Tokens are JWTs signed with Ed25519 (` + "`alg` EdDSA" + `) and sent as ` + "`Authorization: Bearer <token>`" + `.
Their claims are ` + "`iss`, `sub` (the user id as a string), `iat`, `exp`, `jti`, `typ` and `sid`" + ` (the
session). Other services can check access tokens without calling Gatehouse, with the keys at
` + "`GET /.well-known/jwks.json`" + `; a rotated key stays listed while tokens it signed are in date.

| typ | comes from | lives (default) | use |
|---|---|---|---|
| ` + "`refresh`" + ` | a login without 2FA, ` + "`GET /auth/refreshtoken`" + `, a 2FA ` + "`authenticate`" + ` with a partial token | 14 days | get access tokens and new refresh tokens, log out |
| ` + "`access`" + ` | ` + "`GET /auth/accesstoken`" + `, a 2FA ` + "`authenticate`" + ` with a partial token | 5 minutes | the ` + "`/user/...`" + ` routes |
| ` + "`sudo`" + ` | any 2FA ` + "`authenticate`" + ` | 5 minutes | proof of presence for sensitive changes; also accepted wherever an access token is |
| ` + "`partial`" + ` | a login when the user has an active 2FA method | 5 minutes | ` + "`GET /user/2fa`" + ` and each method's ` + "`challenge`, `authenticate` and `next-*`" + ` routes |

- "sudo (access while 2FA is off)" in the Auth column: a sudo token, or an access token as long
  as the user has no active 2FA method; otherwise 401 ` + "`SUDO_TOKEN_REQUIRED`" + `.
- The 401 codes of every authenticated route: ` + "`NO_TOKEN_PROVIDED`" + ` (none sent), ` + "`INVALID_TOKEN`" + `
  (bad signature or not a token), ` + "`TOKEN_EXPIRED`, `TOKEN_REVOKED`" + ` (its session was logged out
  or revoked) and ` + "`WRONG_TOKEN_TYPE`" + `; a partial token at ` + "`/auth/accesstoken`" + ` gets ` + "`2FA_REQUIRED`" + `.
- ` + "`GET /auth/refreshtoken`" + ` gives a new refresh token in the same session and leaves the old one
  valid until it expires. Changing or resetting the password revokes every other session of
  the user; the session that made the change keeps working.
- With ` + "`?cookie=true`" + `, the three token routes also set the token as the cookie ` + "`id_token`" + `
  (` + "`HttpOnly; Secure; SameSite=Strict`" + `), which any route accepts when no Authorization
  header is sent. A cookie longer than 4096 bytes gets 400 ` + "`id_token is too long`" + `.

## Rate limits

- **Guesses.** Each check of a secret (a password, a 2FA code, a recovery code, a mailed code)
  that fails is counted per user and factor. The first 5 failures cost nothing; after that each
  failure pushes the next allowed guess 2^(failures−6) seconds ahead (1 s, 2 s, 4 s, ...), at most
  an hour. A guess that comes too early gets 429 and is neither checked nor counted; a success
  clears the count. The counts are stored, so a restart keeps them, and unknown login names
  are counted the same way, so a 429 reveals nothing about which accounts exist.
- **Mail.** Routes that mail a code send at most one message per 60 seconds and 10 a day per
  user or address and purpose.
- Every 429 body carries ` + "`retryAfter`" + ` (whole seconds, rounded up) and the answer the header
  ` + "`Retry-After`" + ` with the same number. The ` + "`next-guess`" + ` and ` + "`next-email`" + ` routes answer
  ` + "`{\"duration\": seconds}`" + ` (0 when allowed now) so a client can wait without guessing.
`
