package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/core/server"
)

const userUsage = `Usage: gatehouse user COMMAND [--data DIR | --url URL --token TOKEN] ARGS

Commands of a running server's admin API (through the admin socket of --data, or --url with an
admin token: --token or the first secret of GATEHOUSE_ADMIN_TOKEN):
  list [--email PREFIX] [--limit N]   the accounts, one JSON object a line (every page)
  show ID                             one account, its sessions and guess counters
  disable ID | enable ID              a disabled account cannot log in; its sessions are revoked
  delete ID                           the account and everything of it
  reset-2fa ID                        every 2FA method and the recovery codes off (mails a notice)
  revoke-sessions ID                  every session of the account
  clear-limits ID                     the account's guess counters
  import FILE                         create accounts from JSON lines: {"email", "password"} or
                                      {"email", "passwordHash"} ("-": stdin)
  create --email E                    create an account; the password is read from stdin
`

// adminAPI calls a running server's admin API.
type adminAPI interface {
	Do(method, path string, body []byte) (int, []byte, error)
}

// httpAdmin is the admin API over HTTP with a bearer token.
type httpAdmin struct {
	base, token string
	client      *http.Client
}

func (h httpAdmin) Do(method, path string, body []byte) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, strings.TrimRight(h.base, "/")+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+h.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return resp.StatusCode, out, err
}

// firstAdminSecret is the secret of GATEHOUSE_ADMIN_TOKEN's first entry (without its name).
func firstAdminSecret(v string) string {
	first, _, _ := strings.Cut(v, ",")
	first = strings.TrimSpace(first)
	if name, secret, ok := strings.Cut(first, ":"); ok && secret != "" && !strings.ContainsAny(name, " /") {
		return secret
	}
	return first
}

// userCommand runs `gatehouse user ...`.
func userCommand(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, userUsage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	if cmd == "create" {
		return userCreate(rest, stdin, stdout, stderr)
	}
	fs := flag.NewFlagSet("gatehouse user "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", envOr("GATEHOUSE_DATA", "./data"), "data folder of the running server (its admin socket; env GATEHOUSE_DATA)")
	base := fs.String("url", "", "base URL of the admin API (http://host:port) instead of the admin socket")
	tok := fs.String("token", "", "admin token for --url (default: the first secret of GATEHOUSE_ADMIN_TOKEN)")
	email := fs.String("email", "", "list: the accounts whose address starts with it")
	limit := fs.Int("limit", 0, "list: at most this many accounts (0: all)")
	// Flags may come before or after the arguments (gatehouse user show 7 --url ...).
	var pos []string
	for {
		if err := fs.Parse(rest); err != nil {
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	var api adminAPI
	if *base != "" {
		secret := *tok
		if secret == "" {
			secret = firstAdminSecret(os.Getenv("GATEHOUSE_ADMIN_TOKEN"))
		}
		if secret == "" {
			fmt.Fprintln(stderr, "gatehouse user: --url needs an admin token: --token or GATEHOUSE_ADMIN_TOKEN")
			return 2
		}
		api = httpAdmin{base: *base, token: secret, client: &http.Client{Timeout: 60 * time.Second}}
	} else {
		c, err := server.DialAdmin(*data)
		if err != nil {
			fmt.Fprintf(stderr, "gatehouse user: no server is running on %s (start it, or give --url and --token)\n", *data)
			return 1
		}
		api = c
	}
	u := userCLI{api: api, stdout: stdout, stderr: stderr}
	idCommands := map[string][2]string{
		"show":            {"GET", ""},
		"disable":         {"POST", "/disable"},
		"enable":          {"POST", "/enable"},
		"delete":          {"DELETE", ""},
		"reset-2fa":       {"DELETE", "/2fa"},
		"revoke-sessions": {"DELETE", "/sessions"},
		"clear-limits":    {"DELETE", "/limits"},
	}
	switch {
	case cmd == "list" && len(pos) == 0:
		return u.list(*email, *limit)
	case cmd == "import" && len(pos) == 1:
		return u.importFile(pos[0], stdin)
	case idCommands[cmd] != [2]string{} && len(pos) == 1:
		if _, err := strconv.ParseUint(pos[0], 10, 64); err != nil {
			fmt.Fprintf(stderr, "gatehouse user %s: %q is not a user id\n", cmd, pos[0])
			return 2
		}
		m := idCommands[cmd]
		return u.one(cmd, m[0], "/admin/users/"+pos[0]+m[1])
	}
	fmt.Fprint(stderr, userUsage)
	return 2
}

type userCLI struct {
	api            adminAPI
	stdout, stderr io.Writer
}

// apiError is the error envelope's message of a failed call.
func apiError(status int, body []byte) error {
	var env struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &env) == nil && env.Message != "" {
		return fmt.Errorf("%d %s", status, env.Message)
	}
	return fmt.Errorf("%d %s", status, strings.TrimSpace(string(body)))
}

func (u userCLI) one(cmd, method, path string) int {
	status, body, err := u.api.Do(method, path, nil)
	if err == nil && status != 200 {
		err = apiError(status, body)
	}
	if err != nil {
		fmt.Fprintf(u.stderr, "gatehouse user %s: %v\n", cmd, err)
		return 1
	}
	if method == "GET" {
		var v any
		if json.Unmarshal(body, &v) == nil {
			out, _ := json.MarshalIndent(v, "", "  ")
			fmt.Fprintln(u.stdout, string(out))
			return 0
		}
	}
	fmt.Fprintf(u.stdout, "%s: done\n", cmd)
	return 0
}

func (u userCLI) list(email string, limit int) int {
	cursor, n := "", 0
	for {
		q := url.Values{}
		if email != "" {
			q.Set("email", email)
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		q.Set("limit", "500")
		status, body, err := u.api.Do("GET", "/admin/users?"+q.Encode(), nil)
		if err == nil && status != 200 {
			err = apiError(status, body)
		}
		var page struct {
			Users []json.RawMessage `json:"users"`
			Next  *string           `json:"next"`
		}
		if err == nil {
			err = json.Unmarshal(body, &page)
		}
		if err != nil {
			fmt.Fprintln(u.stderr, "gatehouse user list:", err)
			return 1
		}
		for _, user := range page.Users {
			if limit > 0 && n == limit {
				return 0
			}
			fmt.Fprintln(u.stdout, string(user))
			n++
		}
		if page.Next == nil {
			return 0
		}
		cursor = *page.Next
	}
}

// importFile creates one account per JSON line of file; it reports each line and fails when
// any did.
func (u userCLI) importFile(file string, stdin io.Reader) int {
	in := stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			fmt.Fprintln(u.stderr, "gatehouse user import:", err)
			return 1
		}
		defer f.Close()
		in = f
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line, created, failed := 0, 0, 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var rec struct {
			Email        string `json:"email"`
			Password     string `json:"password,omitempty"`
			PasswordHash string `json:"passwordHash,omitempty"`
		}
		if err := json.Unmarshal(text, &rec); err != nil {
			fmt.Fprintf(u.stderr, "line %d: not a JSON object: %v\n", line, err)
			failed++
			continue
		}
		body, _ := json.Marshal(rec)
		status, resp, err := u.api.Do("POST", "/admin/users", body)
		if err == nil && status != 200 {
			err = apiError(status, resp)
		}
		if err != nil {
			fmt.Fprintf(u.stderr, "line %d (%s): %v\n", line, rec.Email, err)
			failed++
			continue
		}
		var out struct {
			UserID uint64 `json:"userId"`
		}
		_ = json.Unmarshal(resp, &out)
		fmt.Fprintf(u.stdout, "line %d: created user %d (%s)\n", line, out.UserID, rec.Email)
		created++
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(u.stderr, "gatehouse user import:", err)
		return 1
	}
	fmt.Fprintf(u.stdout, "%d created, %d failed\n", created, failed)
	if failed > 0 {
		return 1
	}
	return 0
}

// createOnline creates an account through a running server's admin socket; ok is false when no
// server runs on data.
func createOnline(data, email, pw string, stdout, stderr io.Writer) (code int, ok bool) {
	c, err := server.DialAdmin(data)
	if errors.Is(err, server.ErrNotRunning) || err != nil {
		return 0, false
	}
	body, _ := json.Marshal(map[string]string{"email": email, "password": pw})
	status, resp, err := c.Do("POST", "/admin/users", body)
	if err == nil && status != 200 {
		err = apiError(status, resp)
	}
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse user create:", err)
		return 1, true
	}
	var out struct {
		UserID uint64 `json:"userId"`
	}
	_ = json.Unmarshal(resp, &out)
	fmt.Fprintf(stdout, "created user %d (%s)\n", out.UserID, email)
	return 0, true
}
