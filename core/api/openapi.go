package api

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/core/auth"
	"github.com/gatehouse/gatehouse/core/failure"
)

// tokenErrors are the 401 codes every authenticated route can answer (spec section 2).
var tokenErrors = []string{failure.CodeNoToken, failure.CodeInvalidToken, failure.CodeTokenExpired, failure.CodeTokenRevoked, failure.CodeWrongTokenType}

// groups are the sections of the reference, in order.
var groups = []string{"Authentication", "User: registration", "User: account", "User: 2FA", "User: email and password", "Admin", "Operations"}

// group is the section of the reference a route belongs to.
func group(method, path string) string {
	switch {
	case strings.HasPrefix(path, "/auth/"), strings.HasPrefix(path, "/.well-known/"):
		return "Authentication"
	case path == "/user" && method == "POST":
		return "User: registration"
	case path == "/user", strings.HasPrefix(path, "/user/sessions"), strings.HasPrefix(path, "/user/email/verify"):
		return "User: account"
	case strings.HasPrefix(path, "/user/2fa"):
		return "User: 2FA"
	case strings.HasPrefix(path, "/user/"):
		return "User: email and password"
	case strings.HasPrefix(path, "/admin/"):
		return "Admin"
	}
	return "Operations"
}

// requirementDoc says what a token requirement accepts: the OpenAPI security schemes, a short
// label for tables and a sentence.
type requirementDoc struct {
	schemes []string
	label   string
	text    string
}

var requirementDocs = map[auth.Requirement]requirementDoc{
	auth.Refresh:          {[]string{"refresh"}, "refresh", "a refresh token"},
	auth.RefreshForAccess: {[]string{"refresh"}, "refresh", "a refresh token (a partial token gets 401 2FA_REQUIRED)"},
	auth.Access:           {[]string{"access", "sudo"}, "access", "an access or sudo token"},
	auth.Sudo:             {[]string{"sudo"}, "sudo", "a sudo token"},
	auth.SudoOrAccess:     {[]string{"sudo", "access"}, "sudo (access while 2FA is off)", "a sudo token; an access token only while the user has no active 2FA method (else 401 SUDO_TOKEN_REQUIRED)"},
	auth.AccessOrPartial:  {[]string{"access", "sudo", "partial"}, "access or partial", "an access, sudo or partial token"},
	auth.AccessOrNone:     {[]string{"access", "sudo"}, "access or none", "an access or sudo token, or none (then the body names the address)"},
}

// adminRequirement documents the admin routes' credential.
var adminRequirement = requirementDoc{[]string{"admin"}, "admin", "an admin token (`GATEHOUSE_ADMIN_TOKEN`; the routes answer 404 when none is configured, and are served only on `GATEHOUSE_ADMIN_ADDR` when it is set)"}

// opDoc is what the reference says about one route; the OpenAPI document and the Markdown
// reference both render it, so they cannot disagree.
type opDoc struct {
	route  *Route
	group  string
	status int // of the success answer
	// auth is the route's requirement documentation; its schemes are nil for a public route.
	auth requirementDoc
	// errors are the error answers: status → message codes, the implied ones included.
	errors map[int][]string
}

func describe(r *Route) opDoc {
	d := opDoc{route: r, group: group(r.Method, r.Path), status: r.OK.Status, errors: map[int][]string{}}
	if d.status == 0 {
		d.status = 200
	}
	for st, codes := range r.Errors {
		d.errors[st] = append(d.errors[st], codes...)
	}
	if r.Admin {
		d.auth = adminRequirement
		d.errors[401] = append(d.errors[401], CodeInvalidAdminToken)
	}
	if r.Auth != 0 {
		d.auth = requirementDocs[r.Auth]
		d.errors[401] = append(append([]string{}, tokenErrors...), d.errors[401]...)
		if r.Auth == auth.SudoOrAccess {
			d.errors[401] = append(d.errors[401], failure.CodeSudoTokenRequired)
		}
		if r.Auth == auth.RefreshForAccess {
			d.errors[401] = append(d.errors[401], failure.CodeTwoFactorRequired)
		}
	}
	if r.Body != nil {
		d.errors[400] = append(d.errors[400], "body must have required property '...'", "body/... must NOT have more than N characters")
		d.errors[413] = append(d.errors[413], "request body is too large")
	}
	if r.Params != nil {
		d.errors[400] = append(d.errors[400], "params/... must NOT have more than N characters")
	}
	if r.Query != nil {
		for _, f := range r.Query.Fields {
			if f.MaxLength > 0 || f.MinLength > 0 || f.Pattern != nil {
				d.errors[400] = append(d.errors[400], "querystring/... must NOT have more than N characters")
				break
			}
		}
	}
	for st, codes := range d.errors {
		d.errors[st] = dedupe(codes)
	}
	return d
}

// errorStatuses returns the statuses of d's error answers, ascending.
func (d opDoc) errorStatuses() []int {
	out := make([]int, 0, len(d.errors))
	for st := range d.errors {
		out = append(out, st)
	}
	sort.Ints(out)
	return out
}

// contentType is the media type of the success answer ("" when it has no body).
func (d opDoc) contentType() string {
	switch {
	case d.status == 204 || d.status == 302:
		return ""
	case d.route.OK.ContentType != "":
		return d.route.OK.ContentType
	case d.route.OK.Text:
		return "text/plain"
	}
	return "application/json"
}

func fieldSchema(f Field) map[string]any {
	if f.Object {
		s := map[string]any{"type": "object"}
		if f.Description != "" {
			s["description"] = f.Description
		}
		return s
	}
	s := map[string]any{"type": "string"}
	if f.MinLength > 0 {
		s["minLength"] = f.MinLength
	}
	if f.MaxLength > 0 {
		s["maxLength"] = f.MaxLength
	}
	if f.Format != "" {
		s["format"] = f.Format
	}
	if f.Pattern != nil {
		s["pattern"] = f.Pattern.String()
	}
	if f.Description != "" {
		s["description"] = f.Description
	}
	return s
}

func objectSchema(s *Schema) map[string]any {
	props := map[string]any{}
	required := []string{}
	for _, f := range s.Fields {
		props[f.Name] = fieldSchema(f)
		if f.Required {
			required = append(required, f.Name)
		}
	}
	out := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		out["required"] = required
	}
	return out
}

// exampleSchema is the JSON schema of an example answer, inferred from its JSON form: every
// answer of the API is built from objects, arrays, strings, integers and booleans.
func exampleSchema(example any) map[string]any {
	if example == nil {
		return map[string]any{"type": "null"}
	}
	b, err := json.Marshal(example)
	if err != nil {
		panic(err) // examples are plain values: programmer error
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		panic(err)
	}
	return valueSchema(v)
}

func valueSchema(v any) map[string]any {
	switch v := v.(type) {
	case map[string]any:
		props := map[string]any{}
		for k, e := range v {
			props[k] = valueSchema(e)
		}
		return map[string]any{"type": "object", "properties": props}
	case []any:
		s := map[string]any{"type": "array"}
		if len(v) > 0 {
			s["items"] = valueSchema(v[0])
		}
		return s
	case string:
		return map[string]any{"type": "string"}
	case float64:
		if v == float64(int64(v)) {
			return map[string]any{"type": "integer"}
		}
		return map[string]any{"type": "number"}
	case bool:
		return map[string]any{"type": "boolean"}
	}
	return map[string]any{"type": "null"}
}

func errorResponse(status int, codes []string) map[string]any {
	env := map[string]any{"$ref": "#/components/schemas/Error"}
	desc := reasons[status]
	if len(codes) > 0 {
		desc += ": " + strings.Join(codes, ", ")
	}
	example := map[string]any{"statusCode": status, "error": reasons[status], "message": "..."}
	if len(codes) > 0 {
		example["message"] = codes[0]
	}
	if status == 429 {
		env = map[string]any{"$ref": "#/components/schemas/TooManyRequests"}
		example["retryAfter"] = 2
	}
	resp := map[string]any{
		"description":     desc,
		"content":         map[string]any{"application/json": map[string]any{"schema": env, "example": example}},
		"x-message-codes": codes,
	}
	if status == 429 {
		resp["headers"] = map[string]any{"Retry-After": map[string]any{"description": "seconds to wait", "schema": map[string]any{"type": "integer"}}}
	}
	return resp
}

func successResponse(d opDoc) map[string]any {
	ok := map[string]any{"description": d.route.OK.Description}
	if d.status == 302 {
		ok["headers"] = map[string]any{"Location": map[string]any{"description": "where to go", "schema": map[string]any{"type": "string"}}}
	}
	switch ct := d.contentType(); {
	case ct == "":
	case d.route.OK.ContentType != "":
		// Written by the handler itself: a page, a script, the metrics or this document.
		schema := map[string]any{"type": "string"}
		if ct == "application/json" {
			schema = map[string]any{"type": "object"}
		}
		ok["content"] = map[string]any{ct: map[string]any{"schema": schema}}
	case ct == "application/json":
		media := map[string]any{"schema": exampleSchema(d.route.OK.Example)}
		if d.route.OK.Example != nil {
			media["example"] = d.route.OK.Example
		}
		ok["content"] = map[string]any{ct: media}
	default: // a raw token
		ok["content"] = map[string]any{ct: map[string]any{"schema": map[string]any{"type": "string", "description": "a raw JWT, no quotes"}}}
	}
	return ok
}

func operationID(r *Route) string {
	id := strings.ToLower(r.Method) + strings.NewReplacer("/", "_", ".", "_", "-", "_", "{", "", "}", "").Replace(r.Path)
	if r.Path == "/" {
		id = strings.ToLower(r.Method) + "_root"
	}
	return id
}

func operation(d opDoc) map[string]any {
	r := d.route
	op := map[string]any{
		"summary":     r.Summary,
		"operationId": operationID(r),
		"tags":        []string{d.group},
	}
	responses := map[string]any{strconv.Itoa(d.status): successResponse(d)}
	if d.auth.schemes != nil {
		sec := []map[string][]string{}
		for _, s := range d.auth.schemes {
			sec = append(sec, map[string][]string{s: {}})
		}
		if !r.Admin {
			sec = append(sec, map[string][]string{"cookie": {}})
		}
		if r.Auth == auth.AccessOrNone {
			sec = append(sec, map[string][]string{}) // or no token
		}
		op["security"] = sec
		op["description"] = "Requires " + d.auth.text + "."
	} else {
		op["security"] = []map[string][]string{} // public: no token
	}
	if r.Body != nil {
		op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": objectSchema(r.Body)}}}
	}
	params := []map[string]any{}
	if r.Params != nil {
		for _, f := range r.Params.Fields {
			params = append(params, map[string]any{"name": f.Name, "in": "path", "required": true, "schema": fieldSchema(f), "description": f.Description})
		}
	}
	if r.Query != nil {
		for _, f := range r.Query.Fields {
			params = append(params, map[string]any{"name": f.Name, "in": "query", "required": f.Required, "schema": fieldSchema(f), "description": f.Description})
		}
	}
	if len(params) > 0 {
		op["parameters"] = params
	}
	for st, codes := range d.errors {
		responses[strconv.Itoa(st)] = errorResponse(st, codes)
	}
	op["responses"] = responses
	return op
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// OpenAPI renders the OpenAPI 3.1 document of routes: the same definitions the router validates
// with, so the document cannot drift from the server. serverURL is the server's own base URL
// (its `servers` entry); "" means "/", the server the document was fetched from.
func OpenAPI(routes []*Route, version, serverURL string) []byte {
	if serverURL == "" {
		serverURL = "/"
	}
	paths := map[string]map[string]any{}
	tags := map[string]bool{}
	for _, r := range routes {
		if r.Page {
			continue
		}
		if paths[r.Path] == nil {
			paths[r.Path] = map[string]any{}
		}
		d := describe(r)
		paths[r.Path][strings.ToLower(r.Method)] = operation(d)
		tags[d.group] = true
	}
	tagList := []map[string]string{}
	for _, t := range groups {
		if tags[t] {
			tagList = append(tagList, map[string]string{"name": t, "description": groupDescriptions[t]})
		}
	}
	bearer := func(typ string) map[string]any {
		return map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
			"description": "An EdDSA JWT whose typ claim is " + typ + "."}
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "Gatehouse",
			"version":     version,
			"description": "Self-hosted authentication: passwords, 2FA, sudo tokens, sessions and guess limits. Errors are {statusCode, error, message}; every 429 also has retryAfter and a Retry-After header.",
			"license":     map[string]string{"name": "Apache-2.0", "identifier": "Apache-2.0"},
		},
		"servers": []map[string]string{{"url": serverURL, "description": "this server"}},
		"tags":    tagList,
		"paths":   paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"refresh": bearer("refresh"), "access": bearer("access"), "sudo": bearer("sudo"), "partial": bearer("partial"),
				"admin": map[string]any{"type": "http", "scheme": "bearer",
					"description": "One of the secrets of GATEHOUSE_ADMIN_TOKEN (the admin routes answer 404 when none is configured)."},
				"cookie": map[string]any{"type": "apiKey", "in": "cookie", "name": "id_token",
					"description": "The token set by ?cookie=true, used when no Authorization header is sent."},
			},
			"schemas": map[string]any{
				"Error": map[string]any{"type": "object", "required": []string{"statusCode", "error", "message"},
					"properties": map[string]any{
						"statusCode": map[string]any{"type": "integer"},
						"error":      map[string]any{"type": "string", "enum": sortedReasons()},
						"message":    map[string]any{"type": "string", "description": "a message code or a validator-style sentence"},
					}},
				"TooManyRequests": map[string]any{"allOf": []any{
					map[string]any{"$ref": "#/components/schemas/Error"},
					map[string]any{"type": "object", "required": []string{"retryAfter"},
						"properties": map[string]any{"retryAfter": map[string]any{"type": "integer", "description": "seconds, rounded up"}}},
				}},
			},
		},
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic(err) // the document is built from plain values: programmer error
	}
	return out
}

// groupDescriptions introduce each section of the reference.
var groupDescriptions = map[string]string{
	"Authentication":           "Log in, trade tokens, log out; the public signing keys.",
	"User: registration":       "Create an account.",
	"User: account":            "The account holder's own account: its address, its sessions, address verification, deleting it.",
	"User: 2FA":                "Second factors: each method's setup, activation, challenge and verification, and the recovery codes.",
	"User: email and password": "Password reset by mail, password change, moving the account to a new address.",
	"Admin":                    "The operators' API: find, create or import, disable, delete accounts; reset a user's 2FA; revoke sessions; clear guess counters; read the audit log.",
	"Operations":               "Health, readiness, metrics and this reference.",
}

func sortedReasons() []string {
	out := make([]string, 0, len(reasons))
	for _, r := range reasons {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}
