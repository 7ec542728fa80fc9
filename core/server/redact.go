package server

import (
	"io"
	"regexp"
)

// Log redaction. fasthttp's parse errors quote the raw request (headers included) and any error
// text may carry a token: every line the process logs goes through redact, which blanks the
// value of credential-bearing headers (Authorization, Cookie, X-Admin-Token, anything named
// *token*, *secret*, *password*, *api-key*...), bearer credentials and JWT-shaped strings.
const secretName = `(?:proxy-)?authorization|(?:set-)?cookie|[a-z0-9_-]*(?:token|secret|passw(?:or)?d|api[_-]?key)[a-z0-9_-]*`

var (
	// secretHeader matches "Name: value" where the name is credential-bearing (no word boundary
	// before it: in a quoted request the name follows a literal `\n`); the value runs to the end
	// of the line, raw or quoted (`\r\n`) as fasthttp's errors and JSON logs quote it.
	secretHeader = regexp.MustCompile(`(?i)(` + secretName + `)(\s*:\s*)((?:[^\\"\r\n]|\\[^rn])+)`)
	// secretField matches a log line's name=value field (hclog's text format) or a query's.
	secretField = regexp.MustCompile(`(?i)(` + secretName + `)(=)("(?:[^"\\]|\\.)*"|[^\s"&]+)`)
	bearerCred  = regexp.MustCompile(`(?i)\b(bearer|basic)\s+[a-z0-9._~+/=-]+`)
	jwtLike     = regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`)
)

// redact returns s with the credentials it may hold replaced by [REDACTED].
func redact(s string) string {
	s = secretHeader.ReplaceAllString(s, "$1$2[REDACTED]")
	s = secretField.ReplaceAllString(s, "$1$2[REDACTED]")
	s = bearerCred.ReplaceAllString(s, "$1 [REDACTED]")
	return jwtLike.ReplaceAllString(s, "[REDACTED]")
}

// redactingWriter passes each write (one log line: hclog writes a line at a time) through
// redact.
type redactingWriter struct{ w io.Writer }

func (r redactingWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(r.w, redact(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
