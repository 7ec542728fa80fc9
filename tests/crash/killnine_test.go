package crash_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/smtpsink"
)

// The short run is what `go test ./tests/crash/` (and so `make test`) does; `make soak` sets
// CRASH_DURATION=5m. The environment wins over the flags.
var (
	crashDuration = flag.Duration("crash.duration", 24*time.Second, "load time of TestKillNineUnderMixedLoad (env CRASH_DURATION)")
	crashCycles   = flag.Int("crash.cycles", 0, "kill -9 cycles (0: 3, or one per 15 s of load when longer; env CRASH_CYCLES)")
	crashSeed     = flag.Uint64("crash.seed", 0, "seed of the kill timing (0: random; env CRASH_SEED)")
)

func crashConfig(t *testing.T) (load time.Duration, cycles int, seed uint64) {
	load, cycles, seed = *crashDuration, *crashCycles, *crashSeed
	if v := os.Getenv("CRASH_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("CRASH_DURATION=%q: %v", v, err)
		}
		load = d
	}
	if v := os.Getenv("CRASH_CYCLES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("CRASH_CYCLES=%q: %v", v, err)
		}
		cycles = n
	}
	if v := os.Getenv("CRASH_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("CRASH_SEED=%q: %v", v, err)
		}
		seed = n
	}
	if cycles <= 0 {
		cycles = max(3, int(load/(15*time.Second)))
	}
	if seed == 0 {
		seed = rand.Uint64()
	}
	return load, cycles, seed
}

// gate parks the load workers while the server is down and being checked. A worker does one
// operation between enter and leave; pause waits until every worker is out, so the checks run
// on the workers' state without races.
type gate struct {
	mu      sync.Mutex
	cond    *sync.Cond
	running bool
	done    bool
	active  int
}

func newGate() *gate {
	g := &gate{}
	g.cond = sync.NewCond(&g.mu)
	return g
}

func (g *gate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for !g.running && !g.done {
		g.cond.Wait()
	}
	if g.done {
		return false
	}
	g.active++
	return true
}

func (g *gate) leave() {
	g.mu.Lock()
	g.active--
	g.cond.Broadcast()
	g.mu.Unlock()
}

func (g *gate) pause() {
	g.mu.Lock()
	g.running = false
	for g.active > 0 {
		g.cond.Wait()
	}
	g.mu.Unlock()
}

func (g *gate) resume() {
	g.mu.Lock()
	g.running = true
	g.cond.Broadcast()
	g.mu.Unlock()
}

func (g *gate) finish() {
	g.mu.Lock()
	g.done, g.running = true, false
	g.cond.Broadcast()
	for g.active > 0 {
		g.cond.Wait()
	}
	g.mu.Unlock()
}

// ---------------------------------------------------------------- load state

// pwdUser changes its password again and again with the same access token.
type pwdUser struct {
	*user
	acked   string // the last password whose change was acknowledged (or the first one)
	ackedAt time.Time
	pending string // an attempted change whose answer was lost
	n       int
}

// recUser uses its recovery codes one by one and resets them when one is left.
type recUser struct {
	*totpUser
	codes    []string
	idx      int
	sudo     string
	state    string // "ok", "resetUnknown" (a reset's answer was lost), "needSudo"
	dead     []deadCode
	verified int
}

// deadCode is a recovery code that must not work any more.
type deadCode struct {
	code string
	why  string
	at   time.Time
}

// totpLoadUser authenticates with TOTP codes of increasing steps.
type totpLoadUser struct {
	*totpUser
	acked []ackedCode
}

type ackedCode struct {
	step     int64
	code     string
	at       time.Time
	verified bool
}

// guessUser gets wrong-password logins (and a right one now and then to reset the counter).
type guessUser struct {
	*user
	fails int       // failures the server counted at least (acknowledged 401s since the last reset)
	bound time.Time // the server's next allowed time is at least this
	why   string    // how bound was established
}

// mailUser gets password-reset mails.
type mailUser struct {
	email     string
	lastSend  time.Time
	acked     int
	uncertain int
	ackedAt   []time.Time
}

// delay is the spec's back-off after failures (section 3): 5 free, then 2^(n-6) s, capped at 1 h.
func delay(failures int) time.Duration {
	over := failures - 6
	if over < 0 {
		return 0
	}
	if over >= 12 {
		return time.Hour
	}
	return min(time.Duration(1<<over)*time.Second, time.Hour)
}

// crashRun is one TestKillNineUnderMixedLoad.
type crashRun struct {
	t    *testing.T
	srv  *server
	sink *smtpsink.Sink
	g    *gate

	pwd   []*pwdUser
	rec   []*recUser
	totp  []*totpLoadUser
	guess []*guessUser
	mail  []*mailUser

	kills    atomic.Int64
	killedAt atomic.Int64 // UnixNano of the last kill

	stats    sync.Map // name -> *atomic.Int64
	bugs     atomic.Int64
	reported map[string]bool // mail findings already reported (checkMail runs after each restart)
}

func (c *crashRun) count(name string) {
	v, _ := c.stats.LoadOrStore(name, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func (c *crashRun) get(name string) int64 {
	v, ok := c.stats.Load(name)
	if !ok {
		return 0
	}
	return v.(*atomic.Int64).Load()
}

// bug reports a violated property of the server.
func (c *crashRun) bug(format string, args ...any) {
	if c.bugs.Add(1) <= 30 {
		c.t.Errorf("SERVER BUG (after %d kills, last at %s): %s", c.kills.Load(), time.Unix(0, c.killedAt.Load()).Format("15:04:05.000"), fmt.Sprintf(format, args...))
	}
}

// unexpected reports an answer the load did not expect (not necessarily a property violation).
func (c *crashRun) unexpected(format string, args ...any) {
	c.count("unexpected")
	if c.get("unexpected") <= 20 {
		c.t.Errorf("unexpected answer: %s", fmt.Sprintf(format, args...))
	}
}

func (c *crashRun) base() string { return c.srv.url() }

// ---------------------------------------------------------------- operations

func (c *crashRun) opPassword(u *pwdUser) {
	if u.pending != "" {
		return // resolved by the checks after the restart
	}
	u.n++
	next := fmt.Sprintf("Pw-%d-%d-Xy9", u.ID, u.n)
	r, err := do(c.base(), req{Method: "PUT", Path: "/user/password/old-password", Token: u.Access,
		JSON: map[string]string{"oldPassword": u.acked, "newPassword": next}})
	switch {
	case err != nil:
		u.pending = next
		c.count("password.uncertain")
	case isNull(r):
		u.acked, u.ackedAt = next, r.Recv
		c.count("password.acked")
	case r.Status == 401 && r.str("message") == "PASSWORD_INCORRECT":
		c.bug("password change of %s with the last acknowledged password (acknowledged %s) as oldPassword: %s",
			u.Email, u.ackedAt.Format("15:04:05.000"), r)
	default:
		c.unexpected("PUT /user/password/old-password for %s: %s", u.Email, r)
	}
}

func (c *crashRun) recAuth(u *recUser, code string) (*resp, error) {
	return do(c.base(), req{Method: "POST", Path: "/user/2fa/recovery-code/authenticate", Token: u.Access,
		JSON: map[string]string{"recoveryCode": code}})
}

func (c *crashRun) opRecovery(u *recUser) {
	switch u.state {
	case "needSudo":
		code, _, ok := u.gen.next(4 * time.Second)
		if !ok {
			return
		}
		r, err := do(c.base(), req{Method: "POST", Path: "/user/2fa/totp/authenticate", Token: u.Access, JSON: map[string]string{"totp": code}})
		if err != nil {
			return
		}
		if r.Status == 200 && r.str("sudoToken") != "" {
			u.sudo, u.idx, u.state = r.str("sudoToken"), len(u.codes), "ok"
		} else if r.Status != 429 {
			c.unexpected("totp authenticate (for a sudo token) of %s: %s", u.Email, r)
		}
		return
	case "resetUnknown":
		// Did the reset apply? Its one unused old code tells.
		code := u.codes[len(u.codes)-1]
		r, err := c.recAuth(u, code)
		switch {
		case err != nil:
			u.state = "needSudo"
		case r.Status == 200:
			u.dead = append(u.dead, deadCode{code, "used (acknowledged)", r.Recv})
			u.sudo, u.idx, u.state = r.str("sudoToken"), len(u.codes), "ok"
			c.count("recovery.acked")
		case r.Status == 401:
			u.state = "needSudo" // the reset applied: the new codes are unknown
		default:
			u.state = "needSudo"
			if r.Status != 429 {
				c.unexpected("recovery authenticate of %s: %s", u.Email, r)
			}
		}
		return
	}
	if u.idx >= len(u.codes)-1 {
		r, err := do(c.base(), req{Method: "POST", Path: "/user/2fa/recovery-code/reset", Token: u.sudo, JSON: map[string]any{}})
		if err != nil {
			u.state = "resetUnknown"
			c.count("recovery.reset.uncertain")
			return
		}
		var body struct {
			RecoveryCodes []string `json:"recoveryCodes"`
		}
		if r.Status != 200 || json.Unmarshal(r.Body, &body) != nil || len(body.RecoveryCodes) != 10 {
			c.unexpected("recovery-code reset of %s: %s", u.Email, r)
			u.state = "needSudo"
			return
		}
		for _, old := range u.codes[u.idx:] {
			u.dead = append(u.dead, deadCode{old, "unused, then invalidated by an acknowledged reset", r.Recv})
		}
		u.codes, u.idx = body.RecoveryCodes, 0
		c.count("recovery.reset.acked")
		return
	}
	code := u.codes[u.idx]
	u.idx++
	r, err := c.recAuth(u, code)
	switch {
	case err != nil:
		c.count("recovery.uncertain")
	case r.Status == 200 && r.str("sudoToken") != "":
		u.dead = append(u.dead, deadCode{code, "used (acknowledged)", r.Recv})
		u.sudo = r.str("sudoToken")
		c.count("recovery.acked")
	case r.Status == 429:
		u.idx-- // not evaluated
	case r.Status == 401 && r.str("message") == "RECOVERY_CODE_INVALID":
		c.bug("a never-used recovery code of %s, from an acknowledged set, was refused: %s", u.Email, r)
	default:
		c.unexpected("recovery authenticate of %s: %s", u.Email, r)
	}
}

func (c *crashRun) opTotp(u *totpLoadUser) {
	code, step, ok := u.gen.next(4 * time.Second)
	if !ok {
		return
	}
	r, err := do(c.base(), req{Method: "POST", Path: "/user/2fa/totp/authenticate", Token: u.Access, JSON: map[string]string{"totp": code}})
	switch {
	case err != nil:
		c.count("totp.uncertain")
	case r.Status == 200 && r.str("sudoToken") != "":
		u.acked = append(u.acked, ackedCode{step: step, code: code, at: r.Recv})
		c.count("totp.acked")
	case r.Status == 429:
		c.count("totp.throttled")
	default:
		c.unexpected("totp authenticate of %s with a fresh code of step %d: %s", u.Email, step, r)
	}
}

// checkThrottled asserts a 429 whose wait reaches at least u.bound.
func (c *crashRun) checkThrottled(u *guessUser, r *resp, when string) {
	if r.Status == 401 {
		c.bug("%s: a wrong password for %s was evaluated (401) at %s although the account must wait until %s (%s): the guess counter went back",
			when, u.Email, r.Sent.Format("15:04:05.000"), u.bound.Format("15:04:05.000"), u.why)
		return
	}
	if err := checkEnvelope(r, 429, "TOO_MANY_FAILED_PASSWORD_CHECKS"); err != nil {
		c.unexpected("%s: login of throttled %s: %v", when, u.Email, err)
		return
	}
	until := r.Recv.Add(time.Duration(r.retryAfter()) * time.Second)
	if until.Before(u.bound.Add(-5 * time.Millisecond)) {
		c.bug("%s: %s throttled only until about %s (retryAfter %d at %s), but must wait until at least %s (%s): the guess counter went back",
			when, u.Email, until.Format("15:04:05.000"), r.retryAfter(), r.Recv.Format("15:04:05.000"), u.bound.Format("15:04:05.000"), u.why)
	}
}

// raise moves the lower bound of the next allowed time up.
func (u *guessUser) raise(t time.Time, why string) {
	if t.After(u.bound) {
		u.bound, u.why = t, why
	}
}

func (c *crashRun) opGuess(u *guessUser) {
	now := time.Now()
	if u.bound.After(now.Add(200 * time.Millisecond)) {
		if rand.IntN(4) != 0 {
			return
		}
		_, r, err := login(c.base(), u.Email, "Wrong-Password-1")
		if err != nil {
			return // not evaluated while throttled, or not at all
		}
		c.checkThrottled(u, r, "during the load")
		if r.Status == 429 {
			c.count("guess.probe429")
		}
		return
	}
	right := u.fails >= 10
	pw := "Wrong-Password-1"
	if right {
		pw = u.Password
	}
	tok, r, err := login(c.base(), u.Email, pw)
	switch {
	case err != nil && right:
		u.fails, u.bound, u.why = 0, time.Time{}, "" // the reset may have applied
	case err != nil:
		c.count("guess.uncertain")
	case right && tok != "":
		u.fails, u.bound, u.why = 0, time.Time{}, ""
		c.count("guess.reset")
	case r.Status == 429:
		if err := checkEnvelope(r, 429, "TOO_MANY_FAILED_PASSWORD_CHECKS"); err != nil {
			c.unexpected("login of %s: %v", u.Email, err)
			return
		}
		u.raise(r.Sent.Add(time.Duration(r.retryAfter()-1)*time.Second), fmt.Sprintf("a 429 with retryAfter %d at %s", r.retryAfter(), r.Sent.Format("15:04:05.000")))
		c.count("guess.throttled")
	case !right && r.Status == 401 && r.str("message") == "PASSWORD_INCORRECT":
		u.fails++
		u.raise(r.Sent.Add(delay(u.fails)), fmt.Sprintf("failure #%d acknowledged by a 401 to a guess sent at %s", u.fails, r.Sent.Format("15:04:05.000")))
		c.count("guess.acked")
	default:
		c.unexpected("login of %s (right password: %v): %s", u.Email, right, r)
	}
}

func (c *crashRun) opMail(users []*mailUser) {
	now := time.Now()
	var u *mailUser
	for _, m := range users {
		if now.Sub(m.lastSend) >= 62*time.Second && (u == nil || m.lastSend.Before(u.lastSend)) {
			u = m
		}
	}
	if u == nil {
		return
	}
	r, err := do(c.base(), req{Method: "POST", Path: "/user/password/reset/send", JSON: map[string]string{"email": u.email}})
	u.lastSend = now
	switch {
	case err != nil:
		u.uncertain++
		c.count("mail.uncertain")
	case isNull(r):
		u.acked++
		u.ackedAt = append(u.ackedAt, r.Recv)
		c.count("mail.acked")
	case r.Status == 429 && u.uncertain > 0:
		// A send whose answer was lost did apply.
	default:
		c.unexpected("reset/send to %s: %s", u.email, r)
	}
}

// worker runs op over and over while the gate is open, pausing about `pause` between ops.
func (c *crashRun) worker(wg *sync.WaitGroup, pause time.Duration, op func(i int)) {
	defer wg.Done()
	for i := 0; c.g.enter(); i++ {
		op(i)
		c.g.leave()
		time.Sleep(pause/2 + rand.N(pause))
	}
}

// ---------------------------------------------------------------- checks after a restart

func (c *crashRun) checkPasswords() {
	for _, u := range c.pwd {
		if u.pending != "" {
			tok, r, err := login(c.base(), u.Email, u.pending)
			if err != nil {
				c.unexpected("login of %s after restart: %v", u.Email, err)
				continue
			}
			if tok != "" {
				u.acked, u.ackedAt, u.pending = u.pending, time.Now(), ""
				c.count("check.password.pendingApplied")
				continue
			}
			if r.Status != 401 {
				c.unexpected("login of %s with the unacknowledged password: %s", u.Email, r)
			}
			u.pending = ""
			c.count("check.password.pendingNotApplied")
		}
		tok, r, err := login(c.base(), u.Email, u.acked)
		if err != nil {
			c.unexpected("login of %s after restart: %v", u.Email, err)
			continue
		}
		if tok == "" {
			c.bug("acknowledged password change lost: %s cannot log in with the password whose change was acknowledged at %s (change #%d): %s",
				u.Email, u.ackedAt.Format("15:04:05.000"), u.n, r)
			continue
		}
		c.count("check.password")
	}
}

func (c *crashRun) checkRecovery() {
	for _, u := range c.rec {
		if u.state != "ok" || len(u.dead) == 0 || u.idx > len(u.codes)-2 {
			continue // no fresh code to reset the counter afterwards: next time
		}
		checks := u.dead[max(0, len(u.dead)-4):]
		for _, d := range checks {
			r, err := c.recAuth(u, d.code)
			if err != nil {
				c.unexpected("recovery authenticate of %s after restart: %v", u.Email, err)
				continue
			}
			switch {
			case r.Status == 200:
				c.bug("recovery code of %s %s at %s was accepted again after the restart: %s", u.Email, d.why, d.at.Format("15:04:05.000"), r)
			case r.Status == 401 && r.str("message") == "RECOVERY_CODE_INVALID":
				c.count("check.recovery")
			case r.Status == 429:
				c.count("check.recovery.inconclusive")
			default:
				c.unexpected("recovery authenticate of %s with a used code: %s", u.Email, r)
			}
		}
		u.verified += len(checks)
		u.dead = nil
		c.opRecovery(u) // a fresh code: a success resets the guess counter
	}
}

func (c *crashRun) checkTotp() {
	now := time.Now()
	for _, u := range c.totp {
		if len(u.acked) == 0 {
			continue
		}
		a := &u.acked[len(u.acked)-1]
		if a.verified || validFor(a.step, now) < 3*time.Second {
			continue
		}
		a.verified = true
		r, err := do(c.base(), req{Method: "POST", Path: "/user/2fa/totp/authenticate", Token: u.Access, JSON: map[string]string{"totp": a.code}})
		if err != nil {
			c.unexpected("totp authenticate of %s after restart: %v", u.Email, err)
			continue
		}
		switch {
		case r.Status == 200:
			c.bug("TOTP replay: the code of step %d of %s, accepted (acknowledged) at %s, was accepted again after the restart: %s",
				a.step, u.Email, a.at.Format("15:04:05.000"), r)
		case r.Status == 401 && r.str("message") == "TOTP_INVALID":
			c.count("check.totp")
		case r.Status == 429:
			c.count("check.totp.inconclusive")
		default:
			c.unexpected("totp replay of %s: %s", u.Email, r)
		}
	}
}

func (c *crashRun) checkGuesses() {
	for _, u := range c.guess {
		if !u.bound.After(time.Now().Add(300 * time.Millisecond)) {
			continue
		}
		_, r, err := login(c.base(), u.Email, "Wrong-Password-1")
		if err != nil {
			c.unexpected("login of %s after restart: %v", u.Email, err)
			continue
		}
		c.checkThrottled(u, r, "after the restart")
		c.count("check.guess")
	}
}

// mailIDs groups the delivered messages by recipient: Message-ID -> deliveries.
func mailIDs(msgs []smtpsink.Message) map[string]map[string]int {
	out := map[string]map[string]int{}
	for _, m := range msgs {
		id := m.MessageID
		if id == "" {
			id = fmt.Sprintf("(no Message-ID, %d bytes)", len(m.Raw))
		}
		for _, to := range m.To {
			to = strings.ToLower(to)
			if out[to] == nil {
				out[to] = map[string]int{}
			}
			out[to][id]++
		}
	}
	return out
}

// checkMail asserts no duplicate and no excess delivery so far; final also asserts every
// acknowledged send was delivered.
func (c *crashRun) checkMail(final bool) {
	byTo := mailIDs(c.sink.Messages())
	once := func(key string) bool {
		if c.reported[key] {
			return false
		}
		c.reported[key] = true
		return true
	}
	for _, u := range c.mail {
		ids := byTo[strings.ToLower(u.email)]
		for id, n := range ids {
			if n > 1 && !strings.HasPrefix(id, "(") && once(id) {
				c.bug("reset mail to %s delivered %d times with the same Message-ID %s (acknowledged sends at %v)", u.email, n, id, u.ackedAt)
			}
		}
		if len(ids) > u.acked+u.uncertain && once("excess "+u.email) {
			c.bug("%d distinct reset mails delivered to %s, but only %d sends were acknowledged and %d attempted without answer",
				len(ids), u.email, u.acked, u.uncertain)
		}
		if final && len(ids) < u.acked {
			c.bug("acknowledged reset mail lost: %s got %d distinct mails, but %d sends were acknowledged (at %v; %d more attempted without answer)",
				u.email, len(ids), u.acked, u.ackedAt, u.uncertain)
		}
	}
}

func (c *crashRun) checkAll() {
	c.checkPasswords()
	c.checkRecovery()
	c.checkTotp()
	c.checkGuesses()
	c.checkMail(false)
}

// ---------------------------------------------------------------- the test

// TestKillNineUnderMixedLoad: clients change passwords, use recovery codes, authenticate with
// TOTP, guess wrong passwords and request reset mails; the server is kill -9'd at random
// moments and restarted on the same data folder. After every restart: each acknowledged
// password change is in effect, no acknowledged recovery code or TOTP code works again, no
// guess counter went back; at the end every acknowledged reset mail was delivered exactly once.
func TestKillNineUnderMixedLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	load, cycles, seed := crashConfig(t)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	t.Logf("load %s, %d kill -9 cycles, seed %d (CRASH_SEED)", load, cycles, seed)
	start := time.Now()

	sink := smtpsink.Start(t)
	sink.Delay = 300 * time.Millisecond // deliveries in flight when the kill comes
	srv := startServer(t, map[string]string{
		"GATEHOUSE_REGISTRATION": "open",
		"GATEHOUSE_MAILER":       "smtp",
		"GATEHOUSE_SMTP_ADDR":    sink.Addr(),
		"GATEHOUSE_SMTP_FROM":    "gatehouse@example.com",
		// Tokens outlive the run: the workers keep theirs across restarts.
		"GATEHOUSE_ACCESS_TTL": "2h",
		"GATEHOUSE_SUDO_TTL":   "2h",
	})
	c := &crashRun{t: t, srv: srv, sink: sink, g: newGate(), reported: map[string]bool{}}
	base := srv.url()

	// Accounts.
	const nPwd, nRec, nTotp, nGuess = 6, 6, 16, 6
	nMail := 24
	if load > time.Minute {
		nMail = 60 // each address gets one mail a minute (the send limiter)
	}
	c.pwd = make([]*pwdUser, nPwd)
	c.rec = make([]*recUser, nRec)
	c.totp = make([]*totpLoadUser, nTotp)
	c.guess = make([]*guessUser, nGuess)
	c.mail = make([]*mailUser, nMail)
	err := parallel(nPwd+nRec+nTotp+nGuess+nMail, func(i int) error {
		switch {
		case i < nPwd:
			u, err := newSession(base, "pwd")
			if err != nil {
				return err
			}
			c.pwd[i] = &pwdUser{user: u, acked: u.Password, ackedAt: time.Now()}
		case i < nPwd+nRec:
			u, err := newSession(base, "rec")
			if err != nil {
				return err
			}
			tu, err := enableTotp(base, u)
			if err != nil {
				return err
			}
			c.rec[i-nPwd] = &recUser{totpUser: tu, codes: tu.recovery, state: "ok"}
		case i < nPwd+nRec+nTotp:
			u, err := newSession(base, "totp")
			if err != nil {
				return err
			}
			tu, err := enableTotp(base, u)
			if err != nil {
				return err
			}
			c.totp[i-nPwd-nRec] = &totpLoadUser{totpUser: tu}
		case i < nPwd+nRec+nTotp+nGuess:
			u, err := register(base, uniqueEmail("guess"), goodPassword)
			if err != nil {
				return err
			}
			c.guess[i-nPwd-nRec-nTotp] = &guessUser{user: u}
		default:
			u, err := register(base, uniqueEmail("mail"), goodPassword)
			if err != nil {
				return err
			}
			c.mail[i-nPwd-nRec-nTotp-nGuess] = &mailUser{email: u.Email}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("setting up the accounts: %v", err)
	}
	t.Logf("accounts ready after %s", time.Since(start).Round(time.Millisecond))

	// Workers: each owns its users.
	var wg sync.WaitGroup
	spawn := func(pause time.Duration, op func(i int)) {
		wg.Add(1)
		go c.worker(&wg, pause, op)
	}
	for w := 0; w < 3; w++ {
		users := c.pwd[w*2 : w*2+2]
		spawn(40*time.Millisecond, func(i int) { c.opPassword(users[i%len(users)]) })
	}
	for w := 0; w < 2; w++ {
		users := c.rec[w*3 : w*3+3]
		spawn(40*time.Millisecond, func(i int) { c.opRecovery(users[i%len(users)]) })
	}
	for w := 0; w < 2; w++ {
		users := c.totp[w*8 : w*8+8]
		spawn(30*time.Millisecond, func(i int) { c.opTotp(users[i%len(users)]) })
	}
	spawn(60*time.Millisecond, func(i int) { c.opGuess(c.guess[i%len(c.guess)]) })
	spawn(time.Second, func(int) { c.opMail(c.mail) })

	// Cycles: load for a random time, kill -9, restart, check.
	per := load / time.Duration(cycles)
	c.g.resume()
	for cycle := 1; cycle <= cycles; cycle++ {
		run := per/2 + time.Duration(rng.Int64N(int64(per)))
		if cycle%3 == 2 {
			// Every third kill comes while a mail is being delivered (after MAIL FROM, before
			// DATA), so the outbox must deliver it after the restart.
			time.Sleep(run / 2)
			select {
			case <-sink.MailFrom:
			default:
			}
			select {
			case <-sink.MailFrom:
				time.Sleep(time.Duration(rng.Int64N(int64(sink.Delay / 2))))
			case <-time.After(run):
			}
		} else {
			time.Sleep(run)
		}
		srv.kill()
		c.kills.Add(1)
		c.killedAt.Store(time.Now().UnixNano())
		c.g.pause()
		t0 := time.Now()
		if err := srv.restart(); err != nil {
			c.g.finish()
			wg.Wait()
			t.Fatalf("SERVER BUG: no restart after kill -9 #%d: %v", cycle, err)
		}
		ready := time.Since(t0)
		c.checkAll()
		t.Logf("kill -9 #%d at %s: ready again after %s, checked in %s", cycle, time.Unix(0, c.killedAt.Load()).Format("15:04:05.000"),
			ready.Round(time.Millisecond), (time.Since(t0) - ready).Round(time.Millisecond))
		c.g.resume()
	}
	// A last stretch of load without a kill, then the final checks on the running server.
	time.Sleep(time.Second)
	c.g.finish()
	wg.Wait()
	c.checkAll()

	// Every acknowledged reset mail arrives (the SMTP sink stayed up: normally at once; the
	// outbox polls at least once a minute and retries a failed delivery after 30 s).
	t0 := time.Now()
	all := c.sink.WaitUntil(100*time.Second, func(msgs []smtpsink.Message) bool {
		byTo := mailIDs(msgs)
		for _, u := range c.mail {
			if len(byTo[strings.ToLower(u.email)]) < u.acked {
				return false
			}
		}
		return true
	})
	t.Logf("mail: every acknowledged send delivered: %v, after %s; %d deliveries were cut off by a kill",
		all, time.Since(t0).Round(time.Millisecond), sink.Abandoned())
	// Give a late duplicate a moment to show up.
	time.Sleep(500 * time.Millisecond)
	c.checkMail(true)

	if !srv.alive() {
		t.Errorf("SERVER BUG: the server exited by itself")
	}
	srv.checkNoPanic(t)

	var names []string
	c.stats.Range(func(k, _ any) bool { names = append(names, k.(string)); return true })
	sort.Strings(names)
	var sb strings.Builder
	for _, n := range names {
		fmt.Fprintf(&sb, " %s=%d", n, c.get(n))
	}
	t.Logf("%d kills in %s;%s", c.kills.Load(), time.Since(start).Round(time.Millisecond), sb.String())

	// The run must have exercised every property.
	for _, n := range []string{"password.acked", "recovery.acked", "totp.acked", "guess.acked", "mail.acked", "check.password", "check.recovery", "check.totp"} {
		if c.get(n) == 0 {
			t.Errorf("the load did not exercise %s", n)
		}
	}
}
