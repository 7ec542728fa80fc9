package api

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/gatehouse/gatehouse/core/auth"
	"github.com/gatehouse/gatehouse/core/failure"
)

// tokenErrors are the 401 codes every authenticated route can answer (spec section 2).
var tokenErrors = []string{failure.CodeNoToken, failure.CodeInvalidToken, failure.CodeTokenExpired, failure.CodeTokenRevoked, failure.CodeWrongTokenType}

// group is the section of the spec a route belongs to.
func group(path string) string {
	switch {
	case strings.HasPrefix(path, "/auth/"), strings.HasPrefix(path, "/.well-known/"):
		return "Authentication"
	case path == "/user":
		return "User: registration"
	case strings.HasPrefix(path, "/user/2fa"):
		return "User: 2FA"
	case strings.HasPrefix(path, "/user/"):
		return "User: email and password"
	}
	return "Operations"
}

var requirementDocs = map[auth.Requirement]struct {
	schemes []string
	text    string
}{
	auth.Refresh:          {[]string{"refresh"}, "a refresh token"},
	auth.RefreshForAccess: {[]string{"refresh"}, "a refresh token (a partial token gets 401 2FA_REQUIRED)"},
	auth.Access:           {[]string{"access", "sudo"}, "an access or sudo token"},
	auth.Sudo:             {[]string{"sudo"}, "a sudo token"},
	auth.SudoOrAccess:     {[]string{"sudo", "access"}, "a sudo token; an access token only while the user has no active 2FA method (else 401 SUDO_TOKEN_REQUIRED)"},
	auth.AccessOrPartial:  {[]string{"access", "sudo", "partial"}, "an access, sudo or partial token"},
}

func fieldSchema(f Field) map[string]any {
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

func operation(r *Route) map[string]any {
	op := map[string]any{
		"summary":     r.Summary,
		"operationId": strings.ToLower(r.Method) + strings.NewReplacer("/", "_", ".", "_", "-", "_").Replace(r.Path),
		"tags":        []string{group(r.Path)},
	}
	responses := map[string]any{}
	status := r.OK.Status
	if status == 0 {
		status = 200
	}
	ok := map[string]any{"description": r.OK.Description}
	switch {
	case status == 204:
	case r.OK.Text:
		ok["content"] = map[string]any{"text/plain": map[string]any{"schema": map[string]any{"type": "string", "description": "a raw JWT"}}}
	default:
		ok["content"] = map[string]any{"application/json": map[string]any{"example": r.OK.Example}}
	}
	responses[itoa(status)] = ok
	errs := map[int][]string{}
	for st, codes := range r.Errors {
		errs[st] = append(errs[st], codes...)
	}
	if r.Auth != 0 {
		doc := requirementDocs[r.Auth]
		sec := []map[string][]string{}
		for _, s := range doc.schemes {
			sec = append(sec, map[string][]string{s: {}})
		}
		sec = append(sec, map[string][]string{"cookie": {}})
		op["security"] = sec
		op["description"] = "Requires " + doc.text + "."
		errs[401] = append(append([]string{}, tokenErrors...), errs[401]...)
		if r.Auth == auth.SudoOrAccess {
			errs[401] = append(errs[401], failure.CodeSudoTokenRequired)
		}
		if r.Auth == auth.RefreshForAccess {
			errs[401] = append(errs[401], failure.CodeTwoFactorRequired)
		}
	}
	if r.Body != nil {
		op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": objectSchema(r.Body)}}}
		errs[400] = append(errs[400], "body must have required property '...'", "body/... must NOT have more than N characters")
		errs[413] = append(errs[413], "request body is too large")
	}
	if r.Query != nil {
		params := []map[string]any{}
		for _, f := range r.Query.Fields {
			params = append(params, map[string]any{"name": f.Name, "in": "query", "required": f.Required, "schema": fieldSchema(f), "description": f.Description})
		}
		op["parameters"] = params
	}
	for st, codes := range errs {
		responses[itoa(st)] = errorResponse(st, dedupe(codes))
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

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// OpenAPI renders the OpenAPI 3.1 document of routes: the same definitions the router validates
// with, so the document cannot drift from the server.
func OpenAPI(routes []*Route, version, serverURL string) []byte {
	paths := map[string]map[string]any{}
	tags := map[string]bool{}
	for _, r := range routes {
		if paths[r.Path] == nil {
			paths[r.Path] = map[string]any{}
		}
		paths[r.Path][strings.ToLower(r.Method)] = operation(r)
		tags[group(r.Path)] = true
	}
	tagList := []map[string]string{}
	for _, t := range []string{"Authentication", "User: registration", "User: 2FA", "User: email and password", "Operations"} {
		if tags[t] {
			tagList = append(tagList, map[string]string{"name": t})
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
		},
		"servers": []map[string]string{{"url": serverURL}},
		"tags":    tagList,
		"paths":   paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"refresh": bearer("refresh"), "access": bearer("access"), "sudo": bearer("sudo"), "partial": bearer("partial"),
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

func sortedReasons() []string {
	out := make([]string, 0, len(reasons))
	for _, r := range reasons {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}
