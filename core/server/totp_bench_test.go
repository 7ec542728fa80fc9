package server

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/valyala/fasthttp"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/twofactor"
)

// inProcess calls a server's router without the network.
type inProcess struct {
	tb  testing.TB
	srv *Server
}

func (c inProcess) do(method, path, token, body string) (int, []byte) {
	var req fasthttp.Request
	req.Header.SetMethod(method)
	req.SetRequestURI(path)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.SetContentType("application/json")
		req.SetBodyString(body)
	}
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&req, nil, nil)
	c.srv.router.Handler(ctx)
	return ctx.Response.StatusCode(), append([]byte(nil), ctx.Response.Body()...)
}

func openBenchServer(tb testing.TB, native bool) inProcess {
	cfg := config.Default()
	cfg.DataDir = tb.TempDir()
	cfg.Registration = "open"
	cfg.PluginCache = "../../.cache/plugin-cache"
	cfg.Argon2Memory, cfg.Argon2Time = 64, 1
	srv, err := Open(cfg, hclog.NewNullLogger())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close() })
	if native {
		if err := srv.twoFactor.Replace(twofactor.NativeTOTP{}); err != nil {
			tb.Fatal(err)
		}
	}
	return inProcess{tb, srv}
}

// totpUser is a user with TOTP enabled and the steps it has used (enable's included).
type totpUser struct {
	token, secret string
	mu            sync.Mutex
	used          map[int64]bool
}

// body returns an authenticate body with a code of a step near now that the user has not used.
func (u *totpUser) body() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	cur := time.Now().Unix() / 30
	for _, step := range []int64{cur, cur - 1, cur + 1} {
		if !u.used[step] {
			u.used[step] = true
			code, _ := hotp.GenerateCodeCustom(u.secret, uint64(step), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
			return fmt.Sprintf(`{"totp":%q}`, code)
		}
	}
	return `{"totp":"000000"}`
}

type totpGuess struct{ user *totpUser }

// totpGuesses makes users with TOTP enabled and returns two guesses per user; each computes a
// fresh code when it is sent, so the preparation time does not age them.
func totpGuesses(c inProcess, n int, prefix string) []totpGuess {
	var out []totpGuess
	for u := 0; len(out) < n; u++ {
		email := fmt.Sprintf("%s%d@example.com", prefix, u)
		if code, body := c.do("POST", "/user", "", fmt.Sprintf(`{"email":%q,"password":"Passw0rdX"}`, email)); code != 200 {
			c.tb.Fatal(code, string(body))
		}
		_, refresh := c.do("POST", "/auth/login", "", fmt.Sprintf(`{"username":%q,"password":"Passw0rdX"}`, email))
		_, access := c.do("GET", "/auth/accesstoken", string(refresh), "")
		_, setup := c.do("POST", "/user/2fa/totp/setup", string(access), "{}")
		var s struct{ URL string }
		if err := json.Unmarshal(setup, &s); err != nil {
			c.tb.Fatal(err, string(setup))
		}
		u, _ := url.Parse(s.URL)
		user := &totpUser{token: string(access), secret: u.Query().Get("secret"), used: map[int64]bool{}}
		if code, body := c.do("POST", "/user/2fa/totp/enable", user.token, user.body()); code != 200 {
			c.tb.Fatal(code, string(body))
		}
		out = append(out, totpGuess{user}, totpGuess{user})
	}
	return out[:n]
}

// BenchmarkTOTPAuthenticatePluginVsNative measures POST /user/2fa/totp/authenticate (right
// codes, each used once: the replay mark and the durable commit included) with TOTP running as
// the plugin against the same server with the native TOTP check, in alternating rounds of the
// same run. ratio = plugin ÷ native requests per second.
func BenchmarkTOTPAuthenticatePluginVsNative(b *testing.B) {
	plugin, native := openBenchServer(b, false), openBenchServer(b, true)
	pg, ng := totpGuesses(plugin, b.N, "p"), totpGuesses(native, b.N, "n")
	run := func(c inProcess, guesses []totpGuess) time.Duration {
		start := time.Now()
		done := make(chan struct{})
		half := len(guesses) / 2
		for _, part := range [][]totpGuess{guesses[:half], guesses[half:]} {
			go func(part []totpGuess) {
				for _, g := range part {
					if code, body := c.do("POST", "/user/2fa/totp/authenticate", g.user.token, g.user.body()); code != 200 {
						b.Error(code, string(body))
					}
				}
				done <- struct{}{}
			}(part)
		}
		<-done
		<-done
		return time.Since(start)
	}
	b.ResetTimer()
	var pluginTime, nativeTime time.Duration
	const round = 50
	for i := 0; i < b.N; i += round {
		j := min(i+round, b.N)
		pluginTime += run(plugin, pg[i:j])
		nativeTime += run(native, ng[i:j])
	}
	b.StopTimer()
	p, n := float64(b.N)/pluginTime.Seconds(), float64(b.N)/nativeTime.Seconds()
	b.ReportMetric(p, "plugin-req/s")
	b.ReportMetric(n, "native-req/s")
	b.ReportMetric(p/n, "ratio")
}
