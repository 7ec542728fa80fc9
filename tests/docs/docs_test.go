// Package docs_test checks the repository's documentation against the code and the built
// binary: the README stands on its own (every link resolves inside the repository), its settings
// table and docs/API.md are what the code generates, its systemd unit passes
// `systemd-analyze verify`, and what the README says the binary does (the display name, the
// OpenAPI servers, GET /, `gatehouse version`, gatehouse_build_info) is what it does.
//
// The binary is $GATEHOUSE_BIN (make test sets it); without it the tests build one.
package docs_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/config"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

func read(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var (
	buildOnce sync.Once
	built     string
	buildErr  error
)

// binary returns the gatehouse binary: $GATEHOUSE_BIN, or one built once for this test run.
func binary(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("GATEHOUSE_BIN"); b != "" {
		return b
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gatehouse-docs-test-")
		if err != nil {
			buildErr = err
			return
		}
		built = filepath.Join(dir, "gatehouse")
		cmd := exec.Command("go", "build", "-o", built, "./cmd/gatehouse")
		cmd.Dir = repoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return built
}

// firstDifference names the first line where got and want differ.
func firstDifference(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n  committed: %q\n  generated: %q", i+1, gl, wl)
		}
	}
	return "no difference"
}

var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)|<a [^>]*href="([^"]+)"`)

// TestLinksStayInTheRepository: a link in the README (or another Markdown file a newcomer
// reads first) is a path inside this repository that exists, or an anchor; no
// ../somewhere-else, no URL.
func TestLinksStayInTheRepository(t *testing.T) {
	root := repoRoot(t)
	for _, doc := range []string{"README.md", "docs/API.md", "examples/README.md", "examples/clients/README.md"} {
		t.Run(doc, func(t *testing.T) {
			text := read(t, doc)
			links := 0
			for _, m := range mdLink.FindAllStringSubmatch(text, -1) {
				target := m[1] + m[2]
				links++
				if strings.HasPrefix(target, "#") {
					continue
				}
				if u, err := url.Parse(target); err == nil && u.Scheme != "" {
					t.Errorf("%s links outside the repository: %s", doc, target)
					continue
				}
				path := strings.SplitN(target, "#", 2)[0]
				abs := filepath.Clean(filepath.Join(root, filepath.Dir(doc), path))
				if rel, err := filepath.Rel(root, abs); err != nil || strings.HasPrefix(rel, "..") {
					t.Errorf("%s links outside the repository: %s", doc, target)
					continue
				}
				if _, err := os.Stat(abs); err != nil {
					t.Errorf("%s links to a missing file: %s", doc, target)
				}
			}
			if doc == "README.md" && links == 0 {
				t.Fatal("no links found: the link pattern is broken")
			}
		})
	}
}

func TestLinkCheckCatchesOutsideLinks(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"relative escape", "see [the spec](../shared/spec/API.md)", "../shared/spec/API.md"},
		{"html link", `<a href="https://example.com/x">x</a>`, "https://example.com/x"},
		{"anchor", "[up](#top)", "#top"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mdLink.FindStringSubmatch(tt.text)
			if m == nil || m[1]+m[2] != tt.want {
				t.Fatalf("found %q, want %q", m, tt.want)
			}
		})
	}
}

// TestSettingsTableIsGenerated: the README's table of settings is config.MarkdownTable.
func TestSettingsTableIsGenerated(t *testing.T) {
	readme := read(t, "README.md")
	begin := strings.Index(readme, "<!-- settings:begin")
	end := strings.Index(readme, "<!-- settings:end -->")
	if begin < 0 || end < begin {
		t.Fatal("README.md lacks the <!-- settings:begin ... --> / <!-- settings:end --> markers of the Configuration section")
	}
	got := readme[begin:end]
	got = got[strings.Index(got, "\n")+1:]
	if want := config.MarkdownTable(); got != want {
		t.Fatalf("the README's settings table is out of date: run `make docs`.\n%s", firstDifference(got, want))
	}
}

// TestAPIReferenceIsGenerated: docs/API.md is what `gatehouse docs api` prints from the route
// table of a server with the first-party plugins.
func TestAPIReferenceIsGenerated(t *testing.T) {
	bin := binary(t)
	cmd := exec.Command(bin, "docs", "api")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gatehouse docs api: %v\n%s", err, stderr.String())
	}
	want := string(out)
	for _, s := range []string{"#### POST /auth/login", "#### POST /user/2fa/totp/enable", "#### GET /user/2fa/email-otp/next-email", "TOO_MANY_TOTP_CHECKS", "## Rate limits", "## Tokens"} {
		if !strings.Contains(want, s) {
			t.Errorf("the generated reference lacks %q", s)
		}
	}
	if got := read(t, "docs/API.md"); got != want {
		t.Fatalf("docs/API.md is out of date: run `make docs` (or gatehouse docs api > docs/API.md).\n%s", firstDifference(got, want))
	}
}

// readmeUnit returns the systemd unit of the README's Deployment section.
func readmeUnit(t *testing.T) string {
	t.Helper()
	readme := read(t, "README.md")
	const start = "```ini\n# /etc/systemd/system/gatehouse.service\n"
	i := strings.Index(readme, start)
	if i < 0 {
		t.Fatal("README.md has no ```ini block starting with # /etc/systemd/system/gatehouse.service")
	}
	unit := readme[i+len("```ini\n"):]
	return unit[:strings.Index(unit, "```")]
}

// TestSystemdUnitVerifies: the README's unit passes `systemd-analyze verify` without a warning
// about it. Only ExecStart's path changes, to the built binary (verify checks it is executable).
func TestSystemdUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (make test-go installs Debian's systemd)")
	}
	unit := readmeUnit(t)
	const exec0 = "ExecStart=/usr/local/bin/gatehouse serve\n"
	if !strings.Contains(unit, exec0) {
		t.Fatalf("the unit's ExecStart is not %q", exec0)
	}
	for _, want := range []string{"User=gatehouse\n", "StateDirectory=gatehouse\n", "EnvironmentFile=-/etc/gatehouse/secrets.env\n"} {
		if !strings.Contains(unit, want) {
			t.Errorf("the unit lacks %q", want)
		}
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "gatehouse.service")
	if err := os.WriteFile(file, []byte(strings.Replace(unit, exec0, "ExecStart="+binary(t)+" serve\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", "--man=no", file).CombinedOutput()
	var complaints []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if strings.Contains(sc.Text(), "gatehouse.service") {
			complaints = append(complaints, sc.Text())
		}
	}
	if err != nil || len(complaints) > 0 {
		if err != nil && len(complaints) == 0 && !bytes.Contains(out, []byte("gatehouse")) {
			t.Skipf("systemd-analyze cannot run here: %v\n%s", err, out)
		}
		t.Fatalf("systemd-analyze verify: %v\n%s", err, strings.Join(complaints, "\n"))
	}
	// The verifier itself catches what this guards against (a check of the check).
	bad := strings.Replace(unit, `Environment="GATEHOUSE_SMTP_FROM=Example <no-reply@example.com>"`, `Environment=GATEHOUSE_SMTP_FROM=Example <no-reply@example.com>`, 1)
	if err := os.WriteFile(file, []byte(strings.Replace(bad, exec0, "ExecStart="+binary(t)+" serve\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, _ := exec.Command(analyze, "verify", "--man=no", file).CombinedOutput(); !bytes.Contains(out, []byte("Invalid environment assignment")) {
		t.Fatalf("an unquoted value with spaces passes unnoticed:\n%s", out)
	}
}

// server is a running gatehouse binary.
type server struct {
	url  string
	data string
}

func startServer(t *testing.T, env map[string]string) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	data := t.TempDir()
	cmd := exec.Command(binary(t), "serve")
	cmd.Env = append(os.Environ(), "GATEHOUSE_ADDR="+addr, "GATEHOUSE_DATA="+data, "GATEHOUSE_LOG_LEVEL=warn")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	s := &server{url: "http://" + addr, data: data}
	// Wait for readiness (plugin compilation may be slow on a loaded machine: no tight bound).
	for deadline := time.Now().Add(3 * time.Minute); ; {
		select {
		case <-done:
			t.Fatalf("the server exited:\n%s", logs.String())
		default:
		}
		if r, err := http.Get(s.url + "/readyz"); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready after 3 minutes:\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func (s *server) do(t *testing.T, method, path, token, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	r, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(r.Body)
	return r.StatusCode, r.Header, b.String()
}

// TestBinaryDoesWhatTheREADMESays runs the binary with the Deployment section's issuer and a
// display name, and checks the answers the README describes.
func TestBinaryDoesWhatTheREADMESays(t *testing.T) {
	s := startServer(t, map[string]string{
		"GATEHOUSE_REGISTRATION": "open",
		"GATEHOUSE_ISSUER":       "https://auth.example.com",
		"GATEHOUSE_DISPLAY_NAME": "Example Sign-in",
		"GATEHOUSE_PUBLIC_URL":   "https://app.example.com",
	})
	t.Run("GET / leads to /docs", func(t *testing.T) {
		st, h, _ := s.do(t, "GET", "/", "", "")
		if st != 302 || h.Get("Location") != "/docs" {
			t.Fatalf("GET /: %d Location %q, want 302 /docs", st, h.Get("Location"))
		}
	})
	t.Run("OpenAPI servers is the server's own URL, not the app's", func(t *testing.T) {
		st, _, body := s.do(t, "GET", "/openapi.json", "", "")
		var doc struct {
			Servers []struct{ URL string } `json:"servers"`
		}
		if err := json.Unmarshal([]byte(body), &doc); st != 200 || err != nil {
			t.Fatalf("GET /openapi.json: %d %v", st, err)
		}
		if len(doc.Servers) != 1 || doc.Servers[0].URL != "https://auth.example.com" {
			t.Fatalf("servers %+v, want the issuer https://auth.example.com", doc.Servers)
		}
	})
	t.Run("authenticator apps show the display name, tokens carry the issuer", func(t *testing.T) {
		if st, _, body := s.do(t, "POST", "/user", "", `{"email":"ada@example.com","password":"Analytical1"}`); st != 200 {
			t.Fatalf("register: %d %s", st, body)
		}
		_, _, refresh := s.do(t, "POST", "/auth/login", "", `{"username":"ada@example.com","password":"Analytical1"}`)
		_, _, access := s.do(t, "GET", "/auth/accesstoken", refresh, "")
		st, _, body := s.do(t, "POST", "/user/2fa/totp/setup", access, `{}`)
		var setup struct{ URL string }
		if err := json.Unmarshal([]byte(body), &setup); st != 200 || err != nil {
			t.Fatalf("totp setup: %d %s", st, body)
		}
		u, err := url.Parse(setup.URL)
		if err != nil {
			t.Fatal(err)
		}
		if got := u.Query().Get("issuer"); got != "Example Sign-in" {
			t.Errorf("otpauth issuer %q, want the display name (URL %s)", got, setup.URL)
		}
		if !strings.HasPrefix(u.Path, "/Example Sign-in:") && !strings.HasPrefix(u.Opaque, "//totp/Example%20Sign-in:") {
			t.Errorf("otpauth label %q, want it to start with the display name", setup.URL)
		}
		if strings.Contains(setup.URL, "auth.example.com") {
			t.Errorf("the issuer URL shows in the authenticator app: %s", setup.URL)
		}
		parts := strings.Split(access, ".")
		if len(parts) != 3 {
			t.Fatalf("access token %q", access)
		}
		claims, err := decodeSegment(parts[1])
		if err != nil || claims["iss"] != "https://auth.example.com" {
			t.Errorf("token iss %v (%v), want https://auth.example.com", claims["iss"], err)
		}
	})
	t.Run("mail subjects use the display name", func(t *testing.T) {
		if st, _, body := s.do(t, "POST", "/user/password/reset/send", "", `{"email":"ada@example.com"}`); st != 200 {
			t.Fatalf("reset send: %d %s", st, body)
		}
		var subject string
		for deadline := time.Now().Add(time.Minute); subject == "" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			files, _ := filepath.Glob(filepath.Join(s.data, "outbox", "*.eml"))
			for _, f := range files {
				b, _ := os.ReadFile(f)
				for _, line := range strings.Split(string(b), "\n") {
					if strings.HasPrefix(line, "Subject: ") {
						subject = strings.TrimSpace(strings.TrimPrefix(line, "Subject: "))
					}
				}
			}
		}
		if !strings.Contains(subject, "Example Sign-in") || strings.Contains(subject, "auth.example.com") {
			t.Fatalf("subject %q, want the display name and not the issuer", subject)
		}
	})
	t.Run("gatehouse_build_info", func(t *testing.T) {
		_, _, body := s.do(t, "GET", "/metrics", "", "")
		if !regexp.MustCompile(`(?m)^gatehouse_build_info\{goversion="go[^"]+",revision="[^"]+",version="[^"]+"\} 1$`).MatchString(body) {
			t.Fatalf("/metrics lacks gatehouse_build_info with version, goversion and revision")
		}
	})
}

func decodeSegment(seg string) (map[string]any, error) {
	b, err := base64URL(seg)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}

// TestVersionCommand: `gatehouse version` names the version, the Go version and the revision.
func TestVersionCommand(t *testing.T) {
	out, err := exec.Command(binary(t), "version").CombinedOutput()
	if err != nil {
		t.Fatalf("gatehouse version: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`^gatehouse \S+ \(go\d[^,]*, revision \S+\)\n$`).Match(out) {
		t.Fatalf("gatehouse version printed %q", out)
	}
}

func base64URL(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
