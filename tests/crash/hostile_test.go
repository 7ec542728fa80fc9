package crash_test

import (
	"bufio"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// rawRequest writes data on a fresh connection to addr and reads one response; a nil response
// with a nil error means the server closed the connection without answering.
func rawRequest(addr string, data []byte) (*resp, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	// The server may answer (and close) before it read everything: write in the background.
	go func() { _, _ = c.Write(data) }()
	out := &resp{Sent: time.Now()}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			return nil, fmt.Errorf("no answer within 15 s (the connection stayed open)")
		}
		return nil, nil // closed (EOF or reset) without an answer
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	out.Status, out.Header, out.Body, out.Recv = res.StatusCode, res.Header, b, time.Now()
	return out, nil
}

// rawHTTP is an HTTP/1.1 request as bytes (Connection: close).
func rawHTTP(method, path string, header map[string]string, body []byte) []byte {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n", method, path)
	for k, v := range header {
		fmt.Fprintf(&sb, "%s: %s\r\n", k, v)
	}
	if body != nil {
		fmt.Fprintf(&sb, "Content-Length: %d\r\n", len(body))
	}
	sb.WriteString("\r\n")
	return append([]byte(sb.String()), body...)
}

// ---------------------------------------------------------------- JWT crafting

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func b64json(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b64(b)
}

// forge builds header.payload.signature with sign over the signing input (nil: no signature).
func forge(header, payload map[string]any, sign func(input []byte) []byte) string {
	input := b64json(header) + "." + b64json(payload)
	var sig []byte
	if sign != nil {
		sig = sign([]byte(input))
	}
	return input + "." + b64(sig)
}

func hs256(key []byte) func([]byte) []byte {
	return func(in []byte) []byte {
		m := hmac.New(sha256.New, key)
		m.Write(in)
		return m.Sum(nil)
	}
}

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

// ---------------------------------------------------------------- the table

// hostile is one hostile request and the answers it may get.
type hostile struct {
	name    string
	req     *req              // sent with net/http
	raw     []byte            // or written as is on a TCP connection
	before  func()            // runs right before the request (waits, for example)
	status  []int             // allowed statuses (an error status must carry the envelope)
	message string            // the exact message of an error answer ("": any)
	closeOK bool              // the server may also close the connection without answering
	success func(*resp) error // checks a 2xx answer
}

var jwtRE = regexp.MustCompile(`^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$`)

// tokenText is the documented success of the token endpoints: text/plain, a bare JWT.
func tokenText(r *resp) error {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") || !jwtRE.Match(r.Body) {
		return fmt.Errorf("want a text/plain JWT, got %q %s", r.Header.Get("Content-Type"), r)
	}
	return nil
}

// userIDOf is the documented success of the validate endpoints: {"userId": id}.
func userIDOf(id int) func(*resp) error {
	return func(r *resp) error {
		var body map[string]any
		if json.Unmarshal(r.Body, &body) != nil || len(body) != 1 || body["userId"] != float64(id) {
			return fmt.Errorf(`want {"userId":%d}, got %s`, id, r)
		}
		return nil
	}
}

func anyOK(*resp) error { return nil }

// nullBody is the documented success "200 null".
func nullBody(r *resp) error {
	if !isNull(r) {
		return fmt.Errorf("want 200 null, got %s", r)
	}
	return nil
}

// loginBody is a login body of exactly size bytes (padded with an unknown property).
func loginBody(username, password string, size int) []byte {
	head := fmt.Sprintf(`{"username":%q,"password":%q,"pad":"`, username, password)
	n := size - len(head) - 2
	if n < 0 {
		panic("size too small")
	}
	return []byte(head + strings.Repeat("a", n) + `"}`)
}

func jsonReq(path string, body []byte) *req {
	return &req{Method: "POST", Path: path, Body: body, Header: map[string]string{"Content-Type": "application/json"}}
}

func login401(name string, body []byte) hostile {
	return hostile{name: name, req: jsonReq("/auth/login", body), status: []int{401}, message: "PASSWORD_INCORRECT"}
}

// TestHostileRequests sends a table of hostile requests to the binary: every answer is the
// spec's error envelope (or the documented success), the process stays up and never panics.
func TestHostileRequests(t *testing.T) {
	// The server first runs under another issuer: its tokens are then signed with the same
	// keys, for sessions the store knows, but from another issuer.
	srv := startServer(t, map[string]string{
		"GATEHOUSE_REGISTRATION": "open",
		"GATEHOUSE_ISSUER":       "gatehouse-previous",
	})
	prev, err := newSession(srv.url(), "prev")
	if err != nil {
		t.Fatal(err)
	}
	srv.stop()
	srv.env["GATEHOUSE_ISSUER"] = "gatehouse-hostile"
	srv.env["GATEHOUSE_ACCESS_TTL"] = "1s" // for an expired access token
	if err := srv.restart(); err != nil {
		t.Fatal(err)
	}
	base := srv.url()
	addr := fmt.Sprintf("127.0.0.1:%d", srv.port)

	// A second server: another issuer, other keys.
	other := startServer(t, map[string]string{"GATEHOUSE_REGISTRATION": "open", "GATEHOUSE_ISSUER": "gatehouse-other"})
	foreign, err := newSession(other.url(), "foreign")
	if err != nil {
		t.Fatal(err)
	}

	u, err := newSession(base, "hostile") // u.Access expires after 1 s
	if err != nil {
		t.Fatal(err)
	}
	r, err := do(base, req{Method: "GET", Path: "/.well-known/jwks.json"})
	if err != nil || r.Status != 200 {
		t.Fatalf("jwks: %v %v", r, err)
	}
	var jwks struct {
		Keys []map[string]any `json:"keys"`
	}
	if json.Unmarshal(r.Body, &jwks) != nil || len(jwks.Keys) == 0 {
		t.Fatalf("jwks: %s", r)
	}
	jwk := jwks.Keys[0]
	kid, _ := jwk["kid"].(string)
	x, _ := jwk["x"].(string)
	pub, err := base64.RawURLEncoding.DecodeString(x)
	if err != nil || len(pub) != ed25519.PublicKeySize || kid == "" {
		t.Fatalf("jwks key: %v", jwk)
	}
	jwkJSON, _ := json.Marshal(jwk)

	header := jwtPart(u.Refresh, 0)
	claims := jwtPart(u.Refresh, 1)
	if header == nil || claims == nil {
		t.Fatalf("refresh token: %q", u.Refresh)
	}
	origSig := strings.Split(u.Refresh, ".")[2]
	_, randKey, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Now().Unix()
	edSign := func(in []byte) []byte { return ed25519.Sign(randKey, in) }

	validate := func(token string) *req {
		return &req{Method: "GET", Path: "/auth/refreshtoken/validate", Token: token}
	}
	invalid := func(name, token string) hostile {
		return hostile{name: name, req: validate(token), status: []int{401}, message: "INVALID_TOKEN"}
	}
	accessExp, _ := jwtPart(u.Access, 1)["exp"].(float64)

	nested := func(depth int, open, close string) []byte {
		return []byte(`{"username":` + strings.Repeat(open, depth) + strings.Repeat(close, depth) + `,"password":"x"}`)
	}
	many := func(n int) []byte {
		var sb strings.Builder
		sb.WriteString("{")
		for i := range n {
			fmt.Fprintf(&sb, `"p%d":%d,`, i, i)
		}
		fmt.Fprintf(&sb, `"username":%q,"password":"Wrong-1-Aa"}`, uniqueEmail("many"))
		return []byte(sb.String())
	}
	big := strings.Repeat("9", 10000)
	cookie := func(v string) *req {
		return &req{Method: "GET", Path: "/auth/refreshtoken/validate", Header: map[string]string{"Cookie": "id_token=" + v}}
	}
	manyHeaders := func(n int) map[string]string {
		h := map[string]string{}
		for i := range n {
			h[fmt.Sprintf("X-Hostile-%d", i)] = strings.Repeat("v", 20)
		}
		return h
	}

	cases := []hostile{
		// ---- sizes
		{name: "body of exactly 16 KiB, right password", req: jsonReq("/auth/login", loginBody(u.Email, u.Password, 16384)), status: []int{200}, success: tokenText},
		login401("body of exactly 16 KiB, wrong password", loginBody(uniqueEmail("size"), "Wrong-1-Aa", 16384)),
		{name: "body of 16 KiB + 1", req: jsonReq("/auth/login", loginBody(uniqueEmail("size"), "Wrong-1-Aa", 16385)), status: []int{413}},
		{name: "body of 1 MiB", raw: rawHTTP("POST", "/auth/login", map[string]string{"Content-Type": "application/json"}, loginBody(uniqueEmail("size"), "Wrong-1-Aa", 1<<20)), status: []int{413}, closeOK: true},
		{name: "chunked body over the limit", raw: []byte("POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
			fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", 20000, loginBody("chunk@example.com", "Wrong-1-Aa", 20000))), status: []int{413}, closeOK: true},
		{name: "Content-Length of 1 GiB", raw: []byte("POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n{}"),
			status: []int{413}, closeOK: true},
		{name: "negative Content-Length", raw: []byte("POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: -5\r\n\r\n{}"),
			status: []int{400}, closeOK: true},

		// ---- structure
		{name: "arrays nested 10,000 levels (over the limit)", req: jsonReq("/auth/login", nested(10000, "[", "]")), status: []int{413}},
		{name: "arrays nested 8,000 levels (under the limit)", req: jsonReq("/auth/login", nested(8000, "[", "]")), status: []int{400}},
		{name: "objects nested 2,500 levels", req: jsonReq("/auth/login", nested(2500, `{"a":`, "}")), status: []int{400}},
		{name: "a bare array nested 8,000 levels", req: jsonReq("/auth/login", []byte(strings.Repeat("[", 8000)+strings.Repeat("]", 8000))), status: []int{400}, message: "body must be object"},
		{name: "array instead of object", req: jsonReq("/auth/login", []byte(`[]`)), status: []int{400}, message: "body must be object"},
		{name: "array of the right object", req: jsonReq("/auth/login", []byte(fmt.Sprintf(`[{"username":%q,"password":%q}]`, u.Email, u.Password))), status: []int{400}, message: "body must be object"},
		{name: "a string as body", req: jsonReq("/auth/login", []byte(`"username"`)), status: []int{400}, message: "body must be object"},
		{name: "a number as body", req: jsonReq("/auth/login", []byte(`42`)), status: []int{400}, message: "body must be object"},
		{name: "null as body", req: jsonReq("/auth/login", []byte(`null`)), status: []int{400}},
		{name: "empty body", req: jsonReq("/auth/login", nil), status: []int{400}, message: "body must have required property 'username'"},
		{name: "array where a string is expected", req: jsonReq("/auth/login", []byte(`{"username":["a@example.com"],"password":"x"}`)), status: []int{400}, message: "body/username must be string"},
		{name: "object where a string is expected", req: jsonReq("/auth/login", []byte(`{"username":{"$ne":null},"password":{"$ne":null}}`)), status: []int{400}, message: "body/username must be string"},
		login401("1000 unknown properties", many(1000)),
		{name: "prototype-pollution keys", req: jsonReq("/auth/login", []byte(fmt.Sprintf(`{"__proto__":{"admin":true},"constructor":{"prototype":{}},"username":%q,"password":"Wrong-1-Aa"}`, uniqueEmail("proto")))), status: []int{401}, message: "PASSWORD_INCORRECT"},

		// ---- JSON syntax and encoding
		{name: "invalid UTF-8 in a string", req: jsonReq("/auth/login", []byte("{\"username\":\"\xff\xfe@example.com\",\"password\":\"x\"}")), status: []int{400}},
		{name: "overlong UTF-8 encoding", req: jsonReq("/auth/login", []byte("{\"username\":\"a\xc0\xafb@example.com\",\"password\":\"x\"}")), status: []int{400}},
		{name: "UTF-8 encoded surrogate", req: jsonReq("/auth/login", []byte("{\"username\":\"\xed\xa0\x80@example.com\",\"password\":\"x\"}")), status: []int{400}},
		{name: "lone surrogate escape", req: jsonReq("/auth/login", []byte(`{"username":"\ud800@example.com","password":"Wrong-1-Aa"}`)), status: []int{400, 401}},
		{name: "escaped null byte in a string", req: jsonReq("/auth/login", []byte(`{"username":"nul\u0000@example.com","password":"Wrong\u0000-1-Aa"}`)), status: []int{400, 401}},
		{name: "raw null byte in the body", req: jsonReq("/auth/login", []byte("{\"username\":\"a\x00@example.com\",\"password\":\"x\"}")), status: []int{400}},
		{name: "null bytes only", req: jsonReq("/auth/login", make([]byte, 64)), status: []int{400}},
		{name: "truncated JSON", req: jsonReq("/auth/login", []byte(`{"username":"a`)), status: []int{400}, message: "body is not valid JSON"},
		{name: "trailing garbage", req: jsonReq("/auth/login", []byte(`{"username":"a@example.com","password":"x"} garbage`)), status: []int{400}},
		{name: "two JSON objects", req: jsonReq("/auth/login", []byte(`{"username":"a@example.com","password":"x"}{"username":"b@example.com"}`)), status: []int{400}},
		{name: "single quotes", req: jsonReq("/auth/login", []byte(`{'username':'a@example.com','password':'x'}`)), status: []int{400}, message: "body is not valid JSON"},
		{name: "duplicate keys", req: jsonReq("/auth/login", []byte(fmt.Sprintf(`{"username":%q,"username":%q,"password":"Wrong-1-Aa","password":"Wrong-2-Aa"}`, uniqueEmail("dup"), uniqueEmail("dup")))), status: []int{400, 401}},
		{name: "duplicate key, the last of the wrong type", req: jsonReq("/auth/login", []byte(`{"username":"a@example.com","username":5,"password":"x"}`)), status: []int{400}},
		{name: "huge number where a string is expected", req: jsonReq("/auth/login", []byte(`{"username":1e999999,"password":123456789012345678901234567890}`)), status: []int{400}, message: "body/username must be string"},
		{name: "huge number in an unknown property", req: jsonReq("/auth/login", []byte(fmt.Sprintf(`{"n":1e999999,"m":-%s,"username":%q,"password":"Wrong-1-Aa"}`, big, uniqueEmail("num")))), status: []int{400, 401}},
		{name: "10,000-digit number as the body", req: jsonReq("/auth/login", []byte(big)), status: []int{400}},
		{name: "a 257-character username", req: jsonReq("/auth/login", []byte(fmt.Sprintf(`{"username":%q,"password":"x"}`, strings.Repeat("a", 245)+"@example.com"))), status: []int{400}},

		{name: "UTF-8 byte order mark before the JSON", req: jsonReq("/auth/login", []byte("\xef\xbb\xbf"+fmt.Sprintf(`{"username":%q,"password":"Wrong-1-Aa"}`, uniqueEmail("bom")))), status: []int{400, 401}},
		{name: "CRLF in the email at registration (header injection)", req: &req{Method: "POST", Path: "/user", JSON: map[string]string{"email": "crlf@example.com\r\nBcc: victim@example.com", "password": goodPassword}},
			status: []int{400}},
		{name: "CRLF in the email of a reset mail (header injection)", req: &req{Method: "POST", Path: "/user/password/reset/send", JSON: map[string]string{"email": u.Email + "\r\nBcc: victim@example.com"}},
			status: []int{200, 400}, success: nullBody},
		{name: "a query parameter given twice", req: &req{Method: "POST", Path: "/user/password/reset/send?language=en&language=nl", JSON: map[string]string{"email": uniqueEmail("twice")}},
			status: []int{200, 400}, success: nullBody},

		// ---- content types
		{name: "text/plain with a JSON body", req: &req{Method: "POST", Path: "/auth/login", Body: []byte(fmt.Sprintf(`{"username":%q,"password":%q}`, u.Email, u.Password)), Header: map[string]string{"Content-Type": "text/plain"}},
			status: []int{400}, message: "body must be application/json"},
		{name: "form content type with a JSON body", req: &req{Method: "POST", Path: "/auth/login", Body: []byte(fmt.Sprintf(`{"username":%q,"password":%q}`, u.Email, u.Password)), Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}},
			status: []int{400}, message: "body must be application/json"},
		{name: "multipart content type", req: &req{Method: "POST", Path: "/auth/login", Body: []byte("--b\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\na@example.com\r\n--b--\r\n"), Header: map[string]string{"Content-Type": "multipart/form-data; boundary=b"}},
			status: []int{400}},
		{name: "application/json with a form body", req: jsonReq("/auth/login", []byte("username=a%40example.com&password=x")), status: []int{400}, message: "body is not valid JSON"},
		{name: "no Content-Type with a JSON body", req: &req{Method: "POST", Path: "/auth/login", Body: []byte(fmt.Sprintf(`{"username":%q,"password":"Wrong-1-Aa"}`, uniqueEmail("noct")))},
			status: []int{400, 401}},
		{name: "application/json; charset=latin1", req: &req{Method: "POST", Path: "/auth/login", Body: []byte(fmt.Sprintf(`{"username":%q,"password":"Wrong-1-Aa"}`, uniqueEmail("cs"))), Header: map[string]string{"Content-Type": "application/json; charset=latin1"}},
			status: []int{400, 401}},

		// ---- headers, request line, query
		{name: "a 64 KiB header", raw: rawHTTP("GET", "/healthz", map[string]string{"X-Hostile": strings.Repeat("a", 64<<10)}, nil), status: []int{400, 413}, closeOK: true},
		{name: "a 64 KiB Authorization header", raw: rawHTTP("GET", "/auth/refreshtoken/validate", map[string]string{"Authorization": "Bearer " + strings.Repeat("a", 64<<10)}, nil), status: []int{400, 401, 413}, closeOK: true},
		{name: "1,000 headers", raw: rawHTTP("GET", "/healthz", manyHeaders(1000), nil), status: []int{200, 400, 413}, closeOK: true, success: anyOK},
		{name: "a 20 KB URL", raw: rawHTTP("GET", "/auth/"+strings.Repeat("a", 20000), nil, nil), status: []int{400, 404}, closeOK: true},
		{name: "null byte in the request path", raw: []byte("GET /healthz\x00/x HTTP/1.1\r\nHost: x\r\n\r\n"), status: []int{400, 404}, closeOK: true},
		{name: "null byte in a header value", raw: []byte("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Nul: a\x00b\r\n\r\n"), status: []int{200, 400}, closeOK: true, success: anyOK},
		{name: "null byte in the Authorization header", raw: []byte("GET /auth/refreshtoken/validate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + u.Refresh + "\x00\r\n\r\n"), status: []int{400, 401}, closeOK: true},
		{name: "%00 in the path", req: &req{Method: "GET", Path: "/auth/login%00"}, status: []int{404}},
		{name: "garbage request line", raw: []byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 hello\r\n\r\n"), status: []int{400}, closeOK: true},
		{name: "header line without a colon", raw: []byte("GET /healthz HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n"), status: []int{200, 400}, closeOK: true, success: anyOK},
		{name: "invalid percent-encoding in the query", req: &req{Method: "POST", Path: "/user/password/reset/send?language=%zz", JSON: map[string]string{"email": uniqueEmail("pct")}}, status: []int{200, 400}, success: nullBody},
		{name: "a 3-letter language", req: &req{Method: "POST", Path: "/user/password/reset/send?language=xyz", JSON: map[string]string{"email": uniqueEmail("lang")}},
			status: []int{400}, message: "querystring/language must NOT have more than 2 characters"},
		{name: "a 257-character origin", req: &req{Method: "POST", Path: "/user/password/reset/send?origin=https://" + strings.Repeat("o", 249), JSON: map[string]string{"email": uniqueEmail("origin")}},
			status: []int{400}, message: "querystring/origin must NOT have more than 256 characters"},

		// ---- methods and paths
		{name: "PATCH /auth/login", req: &req{Method: "PATCH", Path: "/auth/login", JSON: map[string]string{}}, status: []int{404}, message: "Route PATCH:/auth/login not found"},
		{name: "DELETE /auth/login", req: &req{Method: "DELETE", Path: "/auth/login"}, status: []int{404}},
		{name: "PUT /healthz", req: &req{Method: "PUT", Path: "/healthz"}, status: []int{404}},
		{name: "unknown method", raw: []byte("BREW /auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"), status: []int{400, 404}, closeOK: true},
		{name: "unknown path", req: &req{Method: "GET", Path: "/etc/passwd"}, status: []int{404}},
		{name: "path traversal", req: &req{Method: "GET", Path: "/docs/../../../../etc/passwd"}, status: []int{404}},

		// ---- tokens
		invalid("alg none, no signature", forge(with(header, "alg", "none"), claims, nil)),
		invalid("alg none with the original signature", b64json(with(header, "alg", "none"))+"."+b64json(claims)+"."+origSig),
		invalid("alg NONE", forge(with(header, "alg", "NONE"), claims, nil)),
		invalid("HS256 keyed with the raw public key", forge(with(header, "alg", "HS256"), claims, hs256(pub))),
		invalid("HS256 keyed with the public key in base64url", forge(with(header, "alg", "HS256"), claims, hs256([]byte(x)))),
		invalid("HS256 keyed with the JWK", forge(with(header, "alg", "HS256"), claims, hs256(jwkJSON))),
		invalid("HS256 keyed with the JWKS document", forge(with(header, "alg", "HS256"), claims, hs256(r.Body))),
		invalid("HS256 keyed with the empty key", forge(with(header, "alg", "HS256"), claims, hs256(nil))),
		invalid("RS256 header on the real signature", b64json(with(header, "alg", "RS256"))+"."+b64json(claims)+"."+origSig),
		invalid("signed by a random Ed25519 key with the server's kid, iat in the future",
			forge(with(header, "kid", kid), with(claims, "iat", now+3600, "exp", now+7200), edSign)),
		invalid("signed by a random Ed25519 key with the server's kid, expired",
			forge(with(header, "kid", kid), with(claims, "iat", now-7200, "exp", now-3600), edSign)),
		invalid("real signature, payload changed to iat in the future", b64json(header)+"."+b64json(with(claims, "iat", now+3600))+"."+origSig),
		invalid("real signature, payload changed to another user", b64json(header)+"."+b64json(with(claims, "sub", "1"))+"."+origSig),
		invalid("real signature, unknown kid", b64json(with(header, "kid", "not-a-key"))+"."+b64json(claims)+"."+origSig),
		invalid("embedded JWK header", forge(with(header, "jwk", map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64(randKey.Public().(ed25519.PublicKey))}), claims, edSign)),
		invalid("token of another server (other issuer, other keys)", foreign.Refresh),
		invalid("token of this server's keys and session, but another issuer", prev.Refresh),
		invalid("garbage bearer", "a.b.c"),
		invalid("five parts", u.Refresh+".x.y"),
		invalid("not base64url", "!!!.***.???"),
		invalid("empty signature", strings.Join(strings.Split(u.Refresh, ".")[:2], ".")+"."),
		{name: "Bearer without a token", req: &req{Method: "GET", Path: "/auth/refreshtoken/validate", Header: map[string]string{"Authorization": "Bearer "}}, status: []int{401}},
		{name: "Basic credentials", req: &req{Method: "GET", Path: "/auth/refreshtoken/validate", Header: map[string]string{"Authorization": "Basic Zm9vOmJhcg=="}}, status: []int{401}},
		{name: "a refresh token where an access token is needed", req: &req{Method: "GET", Path: "/auth/accesstoken/validate", Token: u.Refresh}, status: []int{401}, message: "WRONG_TOKEN_TYPE"},
		{name: "id_token cookie of 4097 bytes", req: cookie(strings.Repeat("a", 4097)), status: []int{400}, message: "id_token is too long"},
		{name: "id_token cookie of 4096 bytes", req: cookie(strings.Repeat("a", 4096)), status: []int{401}, message: "INVALID_TOKEN"},
		{name: "a valid id_token cookie", req: cookie(u.Refresh), status: []int{200}, success: userIDOf(u.ID)},
		{name: "expired access token (GATEHOUSE_ACCESS_TTL=1s)", req: &req{Method: "GET", Path: "/auth/accesstoken/validate", Token: u.Access},
			before: func() { time.Sleep(time.Until(time.Unix(int64(accessExp)+1, 100e6))) }, status: []int{401}, message: "TOKEN_EXPIRED"},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.before != nil {
				tc.before()
			}
			var r *resp
			var err error
			if tc.raw != nil {
				r, err = rawRequest(addr, tc.raw)
			} else {
				r, err = do(base, *tc.req)
			}
			if err != nil || r == nil {
				if !srv.alive() {
					t.Fatalf("SERVER BUG: the server died on this request: %v", err)
				}
				if tc.closeOK && err == nil || tc.closeOK && isClosed(err) {
					t.Logf("connection closed without an answer (allowed)")
					return
				}
				t.Fatalf("no answer: %v", err)
			}
			allowed := false
			for _, s := range tc.status {
				allowed = allowed || s == r.Status
			}
			if !allowed {
				t.Errorf("SERVER BUG? status %d not among %v: %s", r.Status, tc.status, r)
			}
			if r.Status >= 200 && r.Status < 300 {
				if tc.success == nil {
					t.Errorf("SERVER BUG? a success where none is documented: %s", r)
				} else if err := tc.success(r); err != nil {
					t.Errorf("SERVER BUG? %v", err)
				}
				return
			}
			if err := checkAnyEnvelope(r, tc.message); err != nil {
				t.Errorf("SERVER BUG? %v", err)
			}
			t.Logf("%s", r)
		})
	}

	r, err = do(base, req{Method: "GET", Path: "/healthz"})
	if err != nil || r.Status != 200 {
		t.Errorf("SERVER BUG: /healthz after the table: %v %v", r, err)
	}
	if !srv.alive() {
		t.Errorf("SERVER BUG: the server exited")
	}
	srv.checkNoPanic(t)
	other.checkNoPanic(t)
}

// isClosed reports a connection closed or reset by the server (not a timeout).
func isClosed(err error) bool {
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return false
	}
	return err != nil
}
