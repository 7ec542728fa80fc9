package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/sdk/abi"
)

// HTTPConnection is one destination of the http capability, configured by
// the operator under a name that plugins use. Everything that reaches the
// network or carries a secret is here, in the host: a plugin names the
// connection and sends a method, a path below the base URL, headers and a
// body.
type HTTPConnection struct {
	// BaseURL is the connection's root, http(s)://host[:port][/path].
	// Required. A request's path is appended to it.
	BaseURL string `json:"baseURL"`
	// Headers are set on every request by the host, such as Authorization;
	// a plugin may not set or see them. Default none.
	Headers map[string]string `json:"headers,omitempty"`
	// Methods are the methods allowed, upper case. Default ["POST"].
	Methods []string `json:"methods,omitempty"`
	// PathPrefix: a request's path (relative to BaseURL) must start with it.
	// Default "/": any path.
	PathPrefix string `json:"pathPrefix,omitempty"`
	// Plugins, when not empty, are the only plugin ids that may use the
	// connection (each must also be granted "http"). Default: every plugin
	// granted "http".
	Plugins []string `json:"plugins,omitempty"`
	// Timeout bounds one request, connection to the end of the body; the
	// hook's deadline bounds it too. Default 10 s.
	Timeout time.Duration `json:"timeout,omitempty"`
	// MaxResponseBytes is the most of a response body given to the plugin;
	// the rest is cut (HTTPResponse.Truncated). Default 256 KiB, at most
	// 512 KiB.
	MaxResponseBytes int `json:"maxResponseBytes,omitempty"`
}

// httpConn is a validated connection with its client.
type httpConn struct {
	name    string
	cfg     HTTPConnection
	base    *url.URL
	headers http.Header
	client  *http.Client
}

const maxHTTPResponseBytes = 512 << 10

// forbiddenRequestHeaders are set by the transport or the host, never by a
// plugin.
var forbiddenRequestHeaders = []string{"Host", "Content-Length", "Transfer-Encoding", "Connection",
	"Keep-Alive", "Upgrade", "Te", "Trailer", "Proxy-Authorization", "Proxy-Connection", "Cookie"}

func newHTTPConn(name string, c HTTPConnection) (*httpConn, error) {
	if name == "" || len(name) > 64 || strings.ContainsAny(name, " \t\r\n") {
		return nil, errors.New("a name is 1 to 64 characters without spaces")
	}
	u, err := url.Parse(c.BaseURL)
	switch {
	case err != nil:
		return nil, fmt.Errorf("baseURL: %w", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("baseURL %q: want an http or https URL", c.BaseURL)
	case u.Host == "":
		return nil, fmt.Errorf("baseURL %q: no host", c.BaseURL)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("baseURL %q: put credentials in headers, and no query or fragment", c.BaseURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	h := http.Header{}
	for k, v := range c.Headers {
		if !validToken(k) || !validHeaderValue(v) {
			return nil, fmt.Errorf("headers: bad header %q", k)
		}
		h.Set(k, v)
	}
	c.Methods = slices.Clone(c.Methods)
	if len(c.Methods) == 0 {
		c.Methods = []string{http.MethodPost}
	}
	for i, m := range c.Methods {
		m = strings.ToUpper(m)
		if !validToken(m) { // a method is a token
			return nil, fmt.Errorf("methods: bad method %q", m)
		}
		c.Methods[i] = m
	}
	if c.PathPrefix == "" {
		c.PathPrefix = "/"
	}
	if !strings.HasPrefix(c.PathPrefix, "/") {
		return nil, fmt.Errorf("pathPrefix %q: must start with /", c.PathPrefix)
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.MaxResponseBytes <= 0 {
		c.MaxResponseBytes = 256 << 10
	}
	c.MaxResponseBytes = min(c.MaxResponseBytes, maxHTTPResponseBytes)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxResponseHeaderBytes = 64 << 10
	return &httpConn{
		name: name, cfg: c, base: u, headers: h,
		client: &http.Client{
			Transport: tr,
			Timeout:   c.Timeout,
			// A redirect could lead anywhere: the plugin gets the 3xx.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, nil
}

func (p *plugin) httpRequest(ctx context.Context, req []byte) []byte {
	var m abi.HTTPRequest
	if err := m.Unmarshal(req); err != nil {
		panic(undecodable(abi.FuncHTTPRequest, err))
	}
	resp := p.host.transports.do(ctx, p.desc.ID, &m)
	if resp.Outcome != abi.OutcomeOK {
		p.log.Warn("http: no response", "connection", truncate(m.Connection, 64), "outcome", resp.Outcome.String(), "error", resp.Error)
	} else {
		p.log.Debug("http: response", "connection", m.Connection, "method", m.Method, "status", resp.Status)
	}
	return resp.Marshal(nil)
}

func httpRefused(format string, args ...any) abi.HTTPResponse {
	return abi.HTTPResponse{Outcome: abi.OutcomePermanent, Error: truncate("http: "+fmt.Sprintf(format, args...), maxTextField)}
}

// do sends one request for the plugin id through its named connection.
func (t *transports) do(ctx context.Context, plugin string, m *abi.HTTPRequest) abi.HTTPResponse {
	c, ok := t.conns[m.Connection]
	if !ok || (len(c.cfg.Plugins) > 0 && !slices.Contains(c.cfg.Plugins, plugin)) {
		return httpRefused("no connection %q for %s", truncate(m.Connection, 64), plugin)
	}
	method := strings.ToUpper(m.Method)
	if method == "" {
		method = http.MethodGet
	}
	if !slices.Contains(c.cfg.Methods, method) {
		return httpRefused("connection %q does not allow method %q", c.name, truncate(method, 32))
	}
	target, err := c.resolve(m.Path)
	if err != nil {
		return httpRefused("connection %q: %v", c.name, err)
	}
	if len(m.Headers)%2 != 0 {
		return httpRefused("headers: an odd number of names and values")
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var body io.Reader
	if m.Body != nil {
		body = bytes.NewReader(m.Body)
	}
	hr, err := http.NewRequestWithContext(ctx, method, target.String(), body)
	if err != nil {
		return httpRefused("%v", err)
	}
	for i := 0; i < len(m.Headers); i += 2 {
		k, v := m.Headers[i], m.Headers[i+1]
		ck := http.CanonicalHeaderKey(k)
		switch {
		case !validToken(k) || !validHeaderValue(v):
			return httpRefused("bad header %q", truncate(k, 64))
		case slices.Contains(forbiddenRequestHeaders, ck) || strings.HasPrefix(ck, "Proxy-"):
			return httpRefused("header %q is set by the host", ck)
		case c.headers.Get(ck) != "":
			return httpRefused("header %q is fixed by the operator for connection %q", ck, c.name)
		}
		hr.Header.Add(k, v)
	}
	for k, vs := range c.headers {
		hr.Header[k] = vs
	}
	res, err := c.client.Do(hr)
	if err != nil {
		// The error names the URL, which holds no secret (credentials are
		// refused in baseURL).
		return abi.HTTPResponse{Outcome: abi.OutcomeTemporary, Error: truncate("http: "+err.Error(), maxTextField)}
	}
	defer res.Body.Close()
	limit := int64(c.cfg.MaxResponseBytes)
	b, err := io.ReadAll(io.LimitReader(res.Body, limit+1))
	if err != nil {
		return abi.HTTPResponse{Outcome: abi.OutcomeTemporary, Error: truncate("http: reading the response: "+err.Error(), maxTextField)}
	}
	out := abi.HTTPResponse{Outcome: abi.OutcomeOK, Status: uint32(res.StatusCode), Body: b}
	if int64(len(b)) > limit {
		out.Body, out.Truncated = b[:limit], true
	}
	keys := make([]string, 0, len(res.Header))
	for k := range res.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range res.Header[k] {
			out.Headers = append(out.Headers, k, strings.ToValidUTF8(v, "\uFFFD"))
		}
	}
	return out
}

// resolve joins a plugin's path (with an optional query) to the base URL,
// refusing anything that could leave it: a scheme or host, "..", a
// fragment, or a path outside the connection's prefix.
func (c *httpConn) resolve(p string) (*url.URL, error) {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\#\x00\r\n\t ") {
		return nil, fmt.Errorf("path %q: want /path[?query]", truncate(p, 200))
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return nil, fmt.Errorf("path %q: want /path[?query]", truncate(p, 200))
	}
	clean := path.Clean(u.Path)
	if strings.HasSuffix(u.Path, "/") && clean != "/" {
		clean += "/"
	}
	if clean != u.Path || strings.Contains(u.EscapedPath(), "%2e") || strings.Contains(u.EscapedPath(), "%2E") {
		return nil, fmt.Errorf("path %q: not in canonical form (no ., .. or //)", truncate(p, 200))
	}
	if !strings.HasPrefix(clean, c.cfg.PathPrefix) {
		return nil, fmt.Errorf("path %q is outside the allowed prefix %q", truncate(p, 200), c.cfg.PathPrefix)
	}
	out := *c.base
	out.Path = c.base.Path + u.Path
	out.RawPath = ""
	if u.RawPath != "" {
		out.RawPath = c.base.EscapedPath() + u.RawPath
	}
	out.RawQuery = u.RawQuery
	return &out, nil
}

// validToken reports whether s is an RFC 9110 token (a header name, a
// method).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || c <= ' ' || c == 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// validHeaderValue reports whether s can be a header value: no control
// characters other than tab.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// Validate checks the connection as New does, naming it in the error.
func (c HTTPConnection) Validate(name string) error {
	if _, err := newHTTPConn(name, c); err != nil {
		return fmt.Errorf("http connection %q: %w", name, err)
	}
	return nil
}
