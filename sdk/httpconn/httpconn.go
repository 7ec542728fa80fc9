// Package httpconn gives a plugin the http capability: HTTP requests
// through connections the operator configures and names (a base URL, the
// headers that carry credentials, the methods and paths allowed, a timeout).
// The plugin names the connection and sends a method, a path, headers and a
// body; it never sees the credentials and reaches no other destination.
// Importing this package declares the capability in the plugin's
// descriptor; the operator must grant it to the plugin's id.
package httpconn

import (
	"sort"
	"strings"

	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/internal/guest"
)

func init() { guest.DeclareCapability(abi.CapHTTP) }

// Request is one HTTP request through a named connection.
type Request struct {
	// Connection is the operator's name for the connection.
	Connection string
	// Method is such as "POST"; "" for GET. The connection lists the
	// methods it allows (by default only POST).
	Method string
	// Path is below the connection's base URL and starts with "/"; it may
	// end with a ?query. It must be in canonical form (no ".", ".." or "//").
	Path string
	// Header are the request's headers. Headers the operator fixed on the
	// connection (such as Authorization), and Host, Content-Length, Cookie
	// and hop-by-hop headers, are refused.
	Header map[string]string
	// Body is the request body; nil for none.
	Body []byte
}

// Response is what came back.
type Response struct {
	// Status is the HTTP status, such as 202.
	Status int
	// Header are the response's headers, by canonical name.
	Header map[string][]string
	// Body is the response body, cut at the connection's limit (256 KiB by
	// default) when Truncated.
	Body      []byte
	Truncated bool
}

// Get returns the first value of a response header, "" if none.
func (r *Response) Get(name string) string {
	for k, v := range r.Header {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// Do sends the request and returns the response, whatever its status
// (judging it is the caller's job), or a *sdk.TransportError when there is
// none: Permanent() when the host refused the request (no such connection
// for this plugin, a method, path or header not allowed), temporary when the
// connection failed or timed out.
func Do(req *Request) (*Response, error) {
	m := abi.HTTPRequest{Connection: req.Connection, Method: req.Method, Path: req.Path, Body: req.Body}
	names := make([]string, 0, len(req.Header))
	for k := range req.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		m.Headers = append(m.Headers, k, req.Header[k])
	}
	var r abi.HTTPResponse
	if err := r.Unmarshal(call(m.Marshal(make([]byte, 0, len(req.Body)+256)))); err != nil {
		return nil, &sdk.TransportError{Outcome: abi.OutcomeTemporary, Message: "http: undecodable reply: " + err.Error()}
	}
	if r.Outcome != abi.OutcomeOK {
		msg := r.Error
		if msg == "" {
			msg = "http: request failed (" + r.Outcome.String() + ")"
		}
		return nil, &sdk.TransportError{Outcome: r.Outcome, Message: msg}
	}
	resp := &Response{Status: int(r.Status), Header: map[string][]string{}, Body: r.Body, Truncated: r.Truncated}
	for i := 0; i+1 < len(r.Headers); i += 2 {
		resp.Header[r.Headers[i]] = append(resp.Header[r.Headers[i]], r.Headers[i+1])
	}
	return resp, nil
}
