// Command http-mailer is an example mailer plugin ("mailer.httpapi") written
// as a third party would write one with the Gatehouse SDK: it delivers mail
// through an HTTP email API, as a JSON POST over a connection the operator
// configures and names (GATEHOUSE_HTTP_CONNECTIONS). The API's URL and key
// stay in the host; the plugin only names the connection.
//
// The request it sends (POST <connection's base URL><path>):
//
//	Content-Type: application/json
//	Idempotency-Key: <message id>        (the same on every retry)
//
//	{"id": "<message id>", "from": "...", "to": ["..."], "subject": "...",
//	 "text": "...", "html": "..."}
//
// A 2xx answer is delivered; 408, 425, 429 and 5xx (and no answer at all)
// are retried later; any other 4xx refuses the message for good
// (MAIL_API_REJECTED, with the status and the start of the answer).
//
// Build:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o http-mailer.wasm .
//
// Configuration (optional): {"connection": "email-api", "path": "/send"}
//
// Operator setup: grant the capability and name the connection, e.g.
//
//	GATEHOUSE_MAILER=mailer.httpapi
//	GATEHOUSE_PLUGIN_GRANTS='mailer.httpapi=http'
//	GATEHOUSE_HTTP_CONNECTIONS='{"email-api": {"baseURL": "https://mail.example.net/v1",
//	    "headers": {"Authorization": "Bearer <key>"}, "pathPrefix": "/send"}}'
package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/httpconn"
	"github.com/gatehouse/gatehouse/sdk/mailer"
)

// Reason codes.
const (
	// CodeRejected: the API refused the message for good (a 4xx).
	CodeRejected = "MAIL_API_REJECTED"
	// CodeBadConfig: the configuration is refused.
	CodeBadConfig = "MAIL_API_BAD_CONFIG"
)

var info = sdk.Info{
	ID:          "mailer.httpapi",
	Name:        "HTTP email API (example)",
	Version:     "1.0.0",
	Description: "Delivers mail as a JSON POST to an HTTP email API through an operator-configured connection.",
	Codes:       []string{CodeRejected},
	ConfigSchema: `{"type":"object","properties":{` +
		`"connection":{"type":"string","default":"email-api"},` +
		`"path":{"type":"string","pattern":"^/","default":"/send"}},"additionalProperties":false}`,
}

// config is the plugin's configuration.
type config struct {
	Connection string `json:"connection"`
	Path       string `json:"path"`
}

// apiMailer is the plugin. Configure sets its configuration once per
// instance, before any delivery.
type apiMailer struct {
	cfg config
}

var (
	_ mailer.Mailer  = (*apiMailer)(nil)
	_ sdk.Configurer = (*apiMailer)(nil)
)

func newMailer() *apiMailer {
	return &apiMailer{cfg: config{Connection: "email-api", Path: "/send"}}
}

// Configure reads {"connection": ..., "path": ...}.
func (m *apiMailer) Configure(raw []byte) []sdk.Reason {
	c := config{Connection: "email-api", Path: "/send"}
	if len(raw) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return []sdk.Reason{{Code: CodeBadConfig, Message: "configuration: " + err.Error()}}
		}
	}
	switch {
	case c.Connection == "":
		return []sdk.Reason{{Code: CodeBadConfig, Message: "connection: must not be empty"}}
	case !strings.HasPrefix(c.Path, "/"):
		return []sdk.Reason{{Code: CodeBadConfig, Message: "path: must start with /"}}
	}
	m.cfg = c
	return nil
}

// message is the JSON body the API receives.
type message struct {
	ID      string   `json:"id"`
	From    string   `json:"from"`
	To      []string `json:"to"`
	Subject string   `json:"subject"`
	Text    string   `json:"text"`
	HTML    string   `json:"html,omitempty"`
}

// Deliver posts the message to the API.
func (m *apiMailer) Deliver(req *mailer.Request) error {
	body, err := json.Marshal(message{ID: req.MessageID, From: req.From, To: req.To, Subject: req.Subject, Text: req.Text, HTML: req.HTML})
	if err != nil {
		return err
	}
	resp, err := httpconn.Do(&httpconn.Request{
		Connection: m.cfg.Connection,
		Method:     "POST",
		Path:       m.cfg.Path,
		Header:     map[string]string{"Content-Type": "application/json", "Idempotency-Key": req.MessageID},
		Body:       body,
	})
	if err != nil {
		// No answer, or the host refused the request (a connection the
		// operator has not configured yet): retried later, never dropped.
		return err
	}
	switch s := resp.Status; {
	case s >= 200 && s < 300:
		return nil
	case s == 408 || s == 425 || s == 429 || s < 400 || s >= 500:
		return fmt.Errorf("email API answered %d", s)
	}
	return &mailer.PermanentError{Reasons: []sdk.Reason{{Code: CodeRejected,
		Message: fmt.Sprintf("email API refused the message: %d %s", resp.Status, snippet(resp.Body))}}}
}

// snippet is the start of an answer, for the log.
func snippet(b []byte) string {
	const n = 200
	if len(b) > n {
		b = b[:n]
	}
	s := strings.ToValidUTF8(string(b), "?")
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return strings.TrimSpace(s)
}

func init() { mailer.Register(info, newMailer()) }

func main() {}
