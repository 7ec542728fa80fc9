package multinode_test

// Cross-node checks of issue 13 section 3: what one node decides, the other honours at once.

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/base64"
	be "encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/pgtest"
	"github.com/gatehouse/gatehouse/internal/smtpsink"
)

const password = "Analytical1"

// pair is two nodes on one database; data is node A's data folder (its admin socket).
type pair struct {
	a, b  *node
	data  string
	smtp  *smtpsink.Sink
	dbURL string
	key   string
}

func startPair(t testing.TB, dbURL string, extra map[string]string) *pair {
	t.Helper()
	p := &pair{data: t.TempDir(), smtp: smtpsink.Start(t), dbURL: dbURL}
	p.key = filepath.Join(p.data, "master.key")
	env := map[string]string{
		"GATEHOUSE_STORE":           dbURL,
		"GATEHOUSE_MASTER_KEY_FILE": p.key,
		"GATEHOUSE_MAILER":          "smtp",
		"GATEHOUSE_SMTP_ADDR":       p.smtp.Addr(),
		"GATEHOUSE_SMTP_FROM":       "gatehouse@example.com",
	}
	for k, v := range extra {
		env[k] = v
	}
	envA := map[string]string{"GATEHOUSE_DATA": p.data}
	for k, v := range env {
		envA[k] = v
	}
	p.a = startNode(t, envA)
	p.b = startNode(t, env)
	for _, n := range []*node{p.a, p.b} {
		select {
		case <-n.exited:
			t.Fatalf("%s exited at start:\n%s", n.url, n.logText())
		default:
		}
	}
	return p
}

// nodes returns A and B alternately by i.
func (p *pair) node(i int) *node {
	if i%2 == 0 {
		return p.a
	}
	return p.b
}

func register(t testing.TB, n *node, email string) {
	t.Helper()
	if code, body := call(t, "POST", n.url+"/user", "", fmt.Sprintf(`{"email":%q,"password":%q}`, email, password)); code != 200 {
		t.Fatalf("register %s: %d %s", email, code, body)
	}
}

func loginAs(t testing.TB, n *node, email, pw string) string {
	t.Helper()
	code, tok := call(t, "POST", n.url+"/auth/login", "", fmt.Sprintf(`{"username":%q,"password":%q}`, email, pw))
	if code != 200 {
		t.Fatalf("login %s on %s: %d %s", email, n.url, code, tok)
	}
	return tok
}

func accessToken(t testing.TB, n *node, refresh string) string {
	t.Helper()
	code, tok := call(t, "GET", n.url+"/auth/accesstoken", refresh, "")
	if code != 200 {
		t.Fatalf("access token on %s: %d %s", n.url, code, tok)
	}
	return tok
}

// refusedOn polls path on n with token until it answers 401 and logs after how many
// requests and how long after `since` that happened.
func refusedOn(t *testing.T, n *node, what, path, token string, since time.Time) {
	t.Helper()
	requests := 0
	for {
		requests++
		code, body := call(t, "GET", n.url+path, token, "")
		if code == 401 {
			break
		}
		if code != 200 {
			t.Fatalf("%s: %d %s", what, code, body)
		}
		if time.Since(since) > liveness {
			t.Fatalf("%s: still accepted %v after the change on the other node", what, liveness)
		}
		time.Sleep(time.Millisecond)
	}
	t.Logf("DELAY %s: refused by request %d, %v after the other node's answer", what, requests, time.Since(since))
}

func totpCode(secret string, step int64) string {
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(strings.TrimRight(secret, "=")))
	if err != nil {
		panic(err)
	}
	var msg [8]byte
	be.BigEndian.PutUint64(msg[:], uint64(step))
	h := hmac.New(sha1.New, key)
	h.Write(msg[:])
	sum := h.Sum(nil)
	o := sum[len(sum)-1] & 0x0f
	v := be.BigEndian.Uint32(sum[o:o+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", v%1000000)
}

// enableTOTP turns TOTP on for the session's user and returns its secret and recovery codes.
func enableTOTP(t testing.TB, n *node, access string) (string, []string) {
	t.Helper()
	code, body := call(t, "POST", n.url+"/user/2fa/totp/setup", access, "{}")
	if code != 200 {
		t.Fatalf("totp setup: %d %s", code, body)
	}
	var setup struct{ URL string }
	if err := json.Unmarshal([]byte(body), &setup); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(setup.URL)
	if err != nil {
		t.Fatal(err)
	}
	secret := u.Query().Get("secret")
	// The previous step: the next steps stay free for the logins of the test. Its code is
	// accepted while the server is in that step or the next; when the answer is a refusal and
	// the step moved past that meanwhile (a busy machine at a step boundary), once more.
	for try := 0; ; try++ {
		step := time.Now().Unix() / 30
		code, body = call(t, "POST", n.url+"/user/2fa/totp/enable", access, fmt.Sprintf(`{"totp":%q}`, totpCode(secret, step-1)))
		if code == 401 && try == 0 && time.Now().Unix()/30 > step {
			continue
		}
		break
	}
	if code != 200 {
		t.Fatalf("totp enable: %d %s", code, body)
	}
	var en struct{ RecoveryCodes []string }
	if err := json.Unmarshal([]byte(body), &en); err != nil {
		t.Fatal(err)
	}
	return secret, en.RecoveryCodes
}

func TestCrossNode(t *testing.T) {
	p := startPair(t, pgtest.Database(t), nil)

	t.Run("logout on A, refused on B", func(t *testing.T) {
		register(t, p.a, "logout@example.com")
		refresh := loginAs(t, p.b, "logout@example.com", password)
		access := accessToken(t, p.b, refresh)
		if code, body := call(t, "POST", p.a.url+"/auth/logout", refresh, ""); code != 204 {
			t.Fatalf("logout on A: %d %s", code, body)
		}
		at := time.Now()
		refusedOn(t, p.b, "logout on A: access token on B", "/auth/accesstoken/validate", access, at)
		refusedOn(t, p.b, "logout on A: refresh token on B", "/auth/accesstoken", refresh, at)
	})

	t.Run("password change on A, other session refused on B", func(t *testing.T) {
		register(t, p.b, "change@example.com")
		other := loginAs(t, p.b, "change@example.com", password)
		otherAccess := accessToken(t, p.b, other)
		if code, body := call(t, "GET", p.b.url+"/auth/accesstoken/validate", otherAccess, ""); code != 200 {
			t.Fatalf("validate on B: %d %s", code, body)
		}
		mine := accessToken(t, p.a, loginAs(t, p.a, "change@example.com", password))
		if code, body := call(t, "PUT", p.a.url+"/user/password/old-password", mine, `{"oldPassword":"Analytical1","newPassword":"Difference2"}`); code != 200 {
			t.Fatalf("password change on A: %d %s", code, body)
		}
		at := time.Now()
		refusedOn(t, p.b, "password change on A: other session's access token on B", "/auth/accesstoken/validate", otherAccess, at)
		refusedOn(t, p.b, "password change on A: other session's refresh token on B", "/auth/accesstoken", other, at)
		loginAs(t, p.b, "change@example.com", "Difference2")
	})

	t.Run("50 parallel password guesses over both nodes", func(t *testing.T) {
		register(t, p.a, "guess@example.com")
		type answer struct {
			code int
			sent time.Time
		}
		burst := func(right int) ([]answer, time.Duration) {
			answers := make([]answer, 50)
			var wg sync.WaitGroup
			start := time.Now()
			for i := range answers {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					pw := fmt.Sprintf("Wrong-guess-%d", i)
					if i == right {
						pw = password
					}
					answers[i].sent = time.Now()
					answers[i].code, _ = call(t, "POST", p.node(i).url+"/auth/login", "", fmt.Sprintf(`{"username":"guess@example.com","password":%q}`, pw))
				}(i)
			}
			wg.Wait()
			return answers, time.Since(start)
		}
		// The guesses allowed within d of the first: 5 free failures and a 6th that starts the
		// back-off of 1 s, 2 s, 4 s, ...: 6 + the k with 2^k - 1 <= d.
		allowed := func(d time.Duration) int {
			return 6 + int(math.Floor(math.Log2(d.Seconds()+1)))
		}
		start := time.Now()
		first, took := burst(-1)
		evaluated := 0
		for i, a := range first {
			switch a.code {
			case 401:
				evaluated++
			case 429:
			default:
				t.Fatalf("wrong guess %d on %s: %d", i, p.node(i).url, a.code)
			}
		}
		t.Logf("50 wrong guesses over both nodes in %v: %d evaluated (401), %d refused unchecked (429); allowed %d", took, evaluated, 50-evaluated, allowed(took))
		if evaluated > allowed(took) {
			t.Fatalf("%d wrong guesses evaluated, at most %d allowed", evaluated, allowed(took))
		}
		if evaluated < 1 {
			t.Fatal("no guess evaluated")
		}
		// At once 50 more, the right password among them: past the allowance it is not checked.
		second, _ := burst(25)
		total := evaluated
		for i, a := range second {
			switch a.code {
			case 401:
				total++
			case 200:
				// Only possible once the back-off after the 6th failure (at least 1 s after the
				// first burst started) has passed.
				if a.sent.Before(start.Add(time.Second)) {
					t.Fatalf("the right password was accepted %v after the first guess, inside the back-off", a.sent.Sub(start))
				}
				t.Logf("the right password was checked after the back-off (%v after the first guess)", a.sent.Sub(start))
			case 429:
			default:
				t.Fatalf("guess %d of the second burst on %s: %d", i, p.node(i).url, a.code)
			}
		}
		t.Logf("right password in the second burst: %d; wrong guesses evaluated in both bursts: %d (allowed %d)", second[25].code, total, allowed(time.Since(start)))
		if second[25].code != 200 && total > allowed(time.Since(start)) {
			t.Fatalf("%d guesses evaluated in both bursts, at most %d allowed", total, allowed(time.Since(start)))
		}
	})

	t.Run("20 parallel uses of one recovery code over both nodes", func(t *testing.T) {
		register(t, p.a, "recovery@example.com")
		access := accessToken(t, p.a, loginAs(t, p.a, "recovery@example.com", password))
		_, codes := enableTOTP(t, p.a, access)
		if len(codes) == 0 {
			t.Fatal("no recovery codes")
		}
		partials := make([]string, 20)
		for i := range partials {
			partials[i] = loginAs(t, p.node(i), "recovery@example.com", password)
		}
		answers := make([]int, 20)
		var wg sync.WaitGroup
		for i := range answers {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				answers[i], _ = call(t, "POST", p.node(i).url+"/user/2fa/recovery-code/authenticate", partials[i], fmt.Sprintf(`{"recoveryCode":%q}`, codes[0]))
			}(i)
		}
		wg.Wait()
		won := 0
		for i, c := range answers {
			switch c {
			case 200:
				won++
			case 401, 429:
			default:
				t.Fatalf("use %d on %s: %d", i, p.node(i).url, c)
			}
		}
		t.Logf("20 parallel uses of one recovery code: answers %v", answers)
		if won != 1 {
			t.Fatalf("%d uses of one recovery code won, want exactly 1", won)
		}
	})

	t.Run("TOTP code replayed on the other node", func(t *testing.T) {
		register(t, p.b, "totp@example.com")
		access := accessToken(t, p.b, loginAs(t, p.b, "totp@example.com", password))
		secret, _ := enableTOTP(t, p.b, access)
		partialA := loginAs(t, p.a, "totp@example.com", password)
		partialB := loginAs(t, p.b, "totp@example.com", password)
		code := totpCode(secret, time.Now().Unix()/30)
		if c, body := call(t, "POST", p.a.url+"/user/2fa/totp/authenticate", partialA, fmt.Sprintf(`{"totp":%q}`, code)); c != 200 {
			t.Fatalf("totp on A: %d %s", c, body)
		}
		c, body := call(t, "POST", p.b.url+"/user/2fa/totp/authenticate", partialB, fmt.Sprintf(`{"totp":%q}`, code))
		if c != 401 {
			t.Fatalf("the same TOTP code on B: %d %s, want 401", c, body)
		}
		t.Logf("the TOTP code replayed on B: %d %s", c, strings.TrimSpace(body))
	})

	t.Run("reset mails queued while both nodes run are delivered once", func(t *testing.T) {
		const n = 6
		for i := 0; i < n; i++ {
			register(t, p.node(i), fmt.Sprintf("reset%d@example.com", i))
		}
		for i := 0; i < n; i++ {
			if c, body := call(t, "POST", p.node(i+1).url+"/auth/forgot-password", "", fmt.Sprintf(`{"email":"reset%d@example.com"}`, i)); c != 200 {
				t.Fatalf("forgot-password %d: %d %s", i, c, body)
			}
		}
		count := func(msgs []smtpsink.Message) map[string]int {
			m := map[string]int{}
			for _, msg := range msgs {
				for _, to := range msg.To {
					m[strings.Trim(to, "<>")]++
				}
			}
			return m
		}
		all := func(msgs []smtpsink.Message) bool {
			c := count(msgs)
			for i := 0; i < n; i++ {
				if c[fmt.Sprintf("reset%d@example.com", i)] == 0 {
					return false
				}
			}
			return true
		}
		if !p.smtp.WaitUntil(liveness, all) {
			t.Fatalf("not every reset mail delivered: %v", count(p.smtp.Messages()))
		}
		// A duplicate would come from the other node's worker: give both workers a few more
		// polls (this dwell only weakens the check, it never fails a correct server).
		time.Sleep(3 * time.Second)
		for addr, c := range count(p.smtp.Messages()) {
			if strings.HasPrefix(addr, "reset") && c != 1 {
				t.Fatalf("%s received %d reset mails, want 1", addr, c)
			}
		}
		t.Logf("%d reset mails queued over both nodes, each delivered once", n)
	})

	t.Run("key rotation through A's admin socket, B signs with and publishes the new key", func(t *testing.T) {
		kids := func(n *node) map[string]bool {
			code, body := call(t, "GET", n.url+"/.well-known/jwks.json", "", "")
			if code != 200 {
				t.Fatalf("jwks on %s: %d %s", n.url, code, body)
			}
			var jwks struct{ Keys []struct{ Kid string } }
			if err := json.Unmarshal([]byte(body), &jwks); err != nil {
				t.Fatal(err)
			}
			m := map[string]bool{}
			for _, k := range jwks.Keys {
				m[k.Kid] = true
			}
			return m
		}
		before := kids(p.b)
		cmd := exec.Command(binary(t), "keys", "rotate", "--data", p.data)
		cmd.Env = os.Environ()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("gatehouse keys rotate: %v\n%s", err, out)
		}
		at := time.Now()
		t.Logf("keys rotate on A: %s", strings.TrimSpace(string(out)))
		var fresh string
		for k := range kids(p.a) {
			if !before[k] {
				fresh = k
			}
		}
		if fresh == "" {
			t.Fatalf("A publishes no new key after the rotation: %v", kids(p.a))
		}
		register(t, p.a, "keys@example.com")
		refresh := loginAs(t, p.a, "keys@example.com", password)
		for requests := 1; ; requests++ {
			published := kids(p.b)[fresh]
			access := accessToken(t, p.b, refresh)
			if published && kidOf(t, access) == fresh {
				t.Logf("DELAY key rotation on A: B publishes and signs with %s by request %d, %v after the rotation", fresh, requests, time.Since(at))
				break
			}
			if time.Since(at) > liveness {
				t.Fatalf("B: new key published %v, signs with %s, %v after the rotation on A", published, kidOf(t, access), liveness)
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

func kidOf(t *testing.T, jwt string) string {
	t.Helper()
	h, err := base64.RawURLEncoding.DecodeString(strings.Split(jwt, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var hdr struct{ Kid string }
	if err := json.Unmarshal(h, &hdr); err != nil {
		t.Fatal(err)
	}
	return hdr.Kid
}
