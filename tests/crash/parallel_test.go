package crash_test

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// burst sends n copies of a request at once (released together) and returns the answers.
func burst(t *testing.T, base string, n int, mk func(i int) req) []*resp {
	t.Helper()
	out := make([]*resp, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i], errs[i] = do(base, mk(i))
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d of the burst: %v", i, err)
		}
	}
	return out
}

// evaluationsAllowed is the most failures the limiter may evaluate from a fresh counter within
// a burst that lasted d: 5 free ones, the 6th sets a wait of 1 s, the 7th (allowed only after
// that wait) 2 s, and so on.
func evaluationsAllowed(d time.Duration) int {
	n := 6
	for elapsed := delay(n); elapsed < d; elapsed += delay(n) {
		n++
	}
	return n
}

// TestParallelGuessesBounded: 50 parallel wrong guesses on one account get at most the allowed
// number evaluated (401), the rest 429 with the envelope, for the password at login, TOTP
// authenticate and recovery codes; and 50 parallel uses of one right code succeed once.
func TestParallelGuessesBounded(t *testing.T) {
	srv := startServer(t, map[string]string{"GATEHOUSE_REGISTRATION": "open"})
	base := srv.url()
	const n = 50

	type guessCase struct {
		name   string
		setup  func(t *testing.T) func(i int) req
		wrong  string // 401 message of an evaluated wrong guess
		too    string // 429 message
		single bool   // a right secret: exactly one success
	}
	totpUserFor := func(t *testing.T) *totpUser {
		u, err := newSession(base, "par")
		if err != nil {
			t.Fatal(err)
		}
		tu, err := enableTotp(base, u)
		if err != nil {
			t.Fatal(err)
		}
		return tu
	}
	cases := []guessCase{
		{
			name: "password at login",
			setup: func(t *testing.T) func(int) req {
				u, err := register(base, uniqueEmail("par"), goodPassword)
				if err != nil {
					t.Fatal(err)
				}
				return func(i int) req {
					return req{Method: "POST", Path: "/auth/login", JSON: map[string]string{"username": u.Email, "password": fmt.Sprintf("Wrong-%d-Aa", i)}}
				}
			},
			wrong: "PASSWORD_INCORRECT", too: "TOO_MANY_FAILED_PASSWORD_CHECKS",
		},
		{
			name: "password at login, unknown user",
			setup: func(t *testing.T) func(int) req {
				email := uniqueEmail("nobody")
				return func(i int) req {
					return req{Method: "POST", Path: "/auth/login", JSON: map[string]string{"username": email, "password": fmt.Sprintf("Wrong-%d-Aa", i)}}
				}
			},
			wrong: "PASSWORD_INCORRECT", too: "TOO_MANY_FAILED_PASSWORD_CHECKS",
		},
		{
			name: "old password at password change",
			setup: func(t *testing.T) func(int) req {
				u, err := newSession(base, "par")
				if err != nil {
					t.Fatal(err)
				}
				return func(i int) req {
					return req{Method: "PUT", Path: "/user/password/old-password", Token: u.Access,
						JSON: map[string]string{"oldPassword": fmt.Sprintf("Wrong-%d-Aa", i), "newPassword": "Another-Pass-7"}}
				}
			},
			wrong: "PASSWORD_INCORRECT", too: "TOO_MANY_FAILED_PASSWORD_CHECKS",
		},
		{
			name: "TOTP authenticate",
			setup: func(t *testing.T) func(int) req {
				tu := totpUserFor(t)
				codes := make([]string, n)
				for i := range codes {
					codes[i] = tu.gen.wrongCode()
				}
				return func(i int) req {
					return req{Method: "POST", Path: "/user/2fa/totp/authenticate", Token: tu.Access, JSON: map[string]string{"totp": codes[i]}}
				}
			},
			wrong: "TOTP_INVALID", too: "TOO_MANY_TOTP_CHECKS",
		},
		{
			name: "recovery code authenticate",
			setup: func(t *testing.T) func(int) req {
				tu := totpUserFor(t)
				return func(i int) req {
					return req{Method: "POST", Path: "/user/2fa/recovery-code/authenticate", Token: tu.Access,
						JSON: map[string]string{"recoveryCode": fmt.Sprintf("WRONGCODE%07d", i)}}
				}
			},
			wrong: "RECOVERY_CODE_INVALID", too: "TOO_MANY_RECOVERY_CODE_CHECKS",
		},
		{
			name: "one right recovery code, 50 times",
			setup: func(t *testing.T) func(int) req {
				tu := totpUserFor(t)
				return func(int) req {
					return req{Method: "POST", Path: "/user/2fa/recovery-code/authenticate", Token: tu.Access,
						JSON: map[string]string{"recoveryCode": tu.recovery[3]}}
				}
			},
			wrong: "RECOVERY_CODE_INVALID", too: "TOO_MANY_RECOVERY_CODE_CHECKS", single: true,
		},
		{
			name: "one right TOTP code, 50 times",
			setup: func(t *testing.T) func(int) req {
				tu := totpUserFor(t)
				code, _ := tu.gen.wait(10 * time.Second)
				return func(int) req {
					return req{Method: "POST", Path: "/user/2fa/totp/authenticate", Token: tu.Access, JSON: map[string]string{"totp": code}}
				}
			},
			wrong: "TOTP_INVALID", too: "TOO_MANY_TOTP_CHECKS", single: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mk := tc.setup(t)
			t0 := time.Now()
			rs := burst(t, base, n, mk)
			took := time.Since(t0)
			var ok, wrong, throttled int
			for _, r := range rs {
				switch {
				case r.Status == 200:
					ok++
				case r.Status == 401:
					if err := checkEnvelope(r, 401, tc.wrong); err != nil {
						t.Error(err)
					}
					wrong++
				case r.Status == 429:
					if err := checkEnvelope(r, 429, tc.too); err != nil {
						t.Error(err)
					}
					throttled++
				default:
					t.Errorf("unexpected answer: %s", r)
				}
			}
			t.Logf("%d parallel in %s: %d succeeded, %d evaluated wrong (401), %d throttled (429)", n, took.Round(time.Millisecond), ok, wrong, throttled)
			if tc.single {
				// A right code is used up by its first acceptance: one success, and every
				// other copy is a wrong guess (evaluated, counted) or throttled.
				if ok != 1 {
					t.Errorf("SERVER BUG: one code sent %d times in parallel was accepted %d times, want exactly once", n, ok)
				}
				if allowed := evaluationsAllowed(took); wrong > allowed {
					t.Errorf("SERVER BUG: %d replays evaluated (401), at most %d allowed in %s", wrong, allowed, took)
				}
				return
			}
			if ok != 0 {
				t.Errorf("SERVER BUG: %d wrong guesses succeeded", ok)
			}
			allowed := evaluationsAllowed(took)
			if wrong > allowed {
				t.Errorf("SERVER BUG: %d of %d parallel wrong guesses were evaluated (401), at most %d allowed (5 free, then waits of 1 s, 2 s, ...; the burst took %s)",
					wrong, n, allowed, took)
			}
			if wrong < 6 {
				t.Errorf("only %d guesses were evaluated: a fresh counter evaluates at least 6", wrong)
			}
		})
	}
	if !srv.alive() {
		t.Errorf("SERVER BUG: the server exited")
	}
	srv.checkNoPanic(t)
}
