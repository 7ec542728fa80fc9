package server

import (
	"bytes"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	tests := []struct {
		name, in string
		secrets  []string
		keep     []string
	}{
		{"fasthttp parse error quoting the request",
			`error when reading request headers: malformed mime header: missing colon: "Bad Header": buffer size=112, contents: "GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer SECRETADMIN\r\nCookie: id_token=COOKIESECRET\r\nX-Admin-Token: XADMIN\r\nBad Header\r\n\r\n"`,
			[]string{"SECRETADMIN", "COOKIESECRET", "XADMIN"}, []string{"Host: x", "GET /healthz", "Bad Header"}},
		{"raw header lines", "Authorization: Basic dXNlcjpwYXNz\r\nProxy-Authorization: Bearer PROXYSECRET\r\nAccept: */*\r\n",
			[]string{"dXNlcjpwYXNz", "PROXYSECRET"}, []string{"Accept: */*"}},
		{"a bearer credential in prose", "refused bearer abc.def.ghi for route", []string{"abc.def.ghi"}, []string{"for route"}},
		{"a JWT anywhere", "token eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl seen", []string{"eyJzdWIiOiIxIn0", "c2lnbmF0dXJl"}, []string{"seen"}},
		{"key=value fields", `smtp_password=hunter2 api_key=K3Y user=ada`, []string{"hunter2", "K3Y"}, []string{"user=ada"}},
		{"an escaped quote does not end the value", `contents: "Authorization: Bearer a\"SECRET2\r\nHost: y"`, []string{"SECRET2"}, []string{"Host: y"}},
		{"plain lines pass", `request: request=abc-1 method=POST route=/auth/login status=401`, nil, []string{`request=abc-1 method=POST route=/auth/login status=401`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := redact(tt.in)
			for _, s := range tt.secrets {
				if strings.Contains(got, s) {
					t.Errorf("%q survives in %q", s, got)
				}
			}
			for _, s := range tt.keep {
				if !strings.Contains(got, s) {
					t.Errorf("%q lost from %q", s, got)
				}
			}
		})
	}
}

// The process logger redacts at every level and in both formats.
func TestLoggerRedacts(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		w := redactingWriter{&buf}
		log := newLoggerTo(format, "debug", w)
		fasthttpLogger{log.Named("http")}.Printf("error when serving connection: contents: %q", "GET / HTTP/1.1\r\nAuthorization: Bearer ADMINTOKEN\r\nCookie: id_token=CK\r\n\r\n")
		if out := buf.String(); strings.Contains(out, "ADMINTOKEN") || strings.Contains(out, "id_token=CK") || !strings.Contains(out, "REDACTED") {
			t.Errorf("%s: %s", format, out)
		}
	}
}
