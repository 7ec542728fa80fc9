package api

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/core/auth"
)

func testRoutes() []*Route {
	return []*Route{
		{Method: "POST", Path: "/auth/login", Summary: "Log in", Body: loginBody,
			OK: Doc{Description: "the token", Text: true}, Errors: map[int][]string{429: {"TOO_MANY_FAILED_PASSWORD_CHECKS"}}},
		{Method: "GET", Path: "/auth/accesstoken/validate", Summary: "Validate", Auth: auth.Access,
			OK: Doc{Description: "the user", Example: map[string]int{"userId": 1}}},
		{Method: "PUT", Path: "/user/password/old-password", Summary: "Change", Auth: auth.SudoOrAccess, Body: oldPasswordBody,
			OK: Doc{Description: "null"}},
		{Method: "POST", Path: "/auth/logout", Summary: "Log out", Auth: auth.Refresh, OK: Doc{Status: 204, Description: "revoked"}},
		{Method: "GET", Path: "/docs", Summary: "Page", OK: Doc{Description: "a page", ContentType: "text/html"}},
		{Method: "GET", Path: "/", Summary: "To the docs", OK: Doc{Status: 302, Description: "a redirect"}},
	}
}

func TestOpenAPIOperations(t *testing.T) {
	var doc struct {
		Servers []struct{ URL string }
		Paths   map[string]map[string]struct {
			Security  *[]map[string][]string
			Responses map[string]struct {
				Content map[string]struct {
					Schema map[string]any
				}
				Headers map[string]any
			}
		}
	}
	if err := json.Unmarshal(OpenAPI(testRoutes(), "1.0.0", ""), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "/" {
		t.Fatalf("servers %+v, want / when no URL is given", doc.Servers)
	}
	tests := []struct {
		name, path, method, status string
		public                     bool
		contentType, schemaType    string
	}{
		{"public token answer is text/plain", "/auth/login", "post", "200", true, "text/plain", "string"},
		{"JSON answer has a schema from its example", "/auth/accesstoken/validate", "get", "200", false, "application/json", "object"},
		{"null answer", "/user/password/old-password", "put", "200", false, "application/json", "null"},
		{"204 has no body", "/auth/logout", "post", "204", false, "", ""},
		{"a page the handler writes", "/docs", "get", "200", true, "text/html", "string"},
		{"redirect", "/", "get", "302", true, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := doc.Paths[tt.path][tt.method]
			if op.Security == nil {
				t.Fatal("security is not set")
			}
			if public := len(*op.Security) == 0; public != tt.public {
				t.Fatalf("security %v, want public=%v", *op.Security, tt.public)
			}
			resp, ok := op.Responses[tt.status]
			if !ok {
				t.Fatalf("no %s response", tt.status)
			}
			if tt.contentType == "" {
				if len(resp.Content) != 0 {
					t.Fatalf("content %v, want none", resp.Content)
				}
				return
			}
			media, ok := resp.Content[tt.contentType]
			if len(resp.Content) != 1 || !ok {
				t.Fatalf("content types %v, want only %s", resp.Content, tt.contentType)
			}
			if media.Schema["type"] != tt.schemaType {
				t.Fatalf("schema %v, want type %s", media.Schema, tt.schemaType)
			}
		})
	}
	if _, ok := doc.Paths["/"]["get"].Responses["302"].Headers["Location"]; !ok {
		t.Fatal("the redirect documents no Location header")
	}
}

func TestExampleSchema(t *testing.T) {
	tests := []struct {
		name    string
		example any
		want    string
	}{
		{"nil", nil, `{"type":"null"}`},
		{"object of integer", map[string]int{"duration": 0}, `{"properties":{"duration":{"type":"integer"}},"type":"object"}`},
		{"array of strings", map[string][]string{"recoveryCodes": {"x"}}, `{"properties":{"recoveryCodes":{"items":{"type":"string"},"type":"array"}},"type":"object"}`},
		{"boolean and number", map[string]any{"b": true, "n": 1.5}, `{"properties":{"b":{"type":"boolean"},"n":{"type":"number"}},"type":"object"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := json.Marshal(exampleSchema(tt.example))
			if string(b) != tt.want {
				t.Fatalf("got %s, want %s", b, tt.want)
			}
		})
	}
}

func TestReference(t *testing.T) {
	md := string(Reference(testRoutes()))
	for _, want := range []string{
		"# Gatehouse HTTP API", "## Tokens", "## Rate limits", "## Endpoints",
		"| `TOO_MANY_FAILED_PASSWORD_CHECKS` | `POST /auth/login` |",
		"| [`POST /auth/login`](#post-authlogin) | none | Log in |",
		"| [`PUT /user/password/old-password`](#put-userpasswordold-password) | sudo (access while 2FA is off) | Change |",
		"#### POST /auth/login\n\nLog in. Public: no token.",
		"Success: **200** `text/plain`: the token.",
		"| `username` | yes | at most 256 characters | the account's email address |",
		"- 401 Unauthorized: `NO_TOKEN_PROVIDED`, `INVALID_TOKEN`, `TOKEN_EXPIRED`, `TOKEN_REVOKED`, `WRONG_TOKEN_TYPE`, `SUDO_TOKEN_REQUIRED`",
		"Success: **204**: revoked.",
		"Success: **302**: a redirect.",
		"```json\n{\"userId\":1}\n```",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the reference lacks %q", want)
		}
	}
}

func TestAnchor(t *testing.T) {
	tests := []struct{ method, path, want string }{
		{"GET", "/.well-known/jwks.json", "get-well-knownjwksjson"},
		{"POST", "/user/2fa/email-otp/setup", "post-user2faemail-otpsetup"},
		{"GET", "/", "get-"},
	}
	for _, tt := range tests {
		if got := anchor(&Route{Method: tt.method, Path: tt.path}); got != tt.want {
			t.Errorf("anchor(%s %s) = %q, want %q", tt.method, tt.path, got, tt.want)
		}
	}
}
