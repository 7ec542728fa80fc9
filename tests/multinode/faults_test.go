package multinode_test

// Faults of issue 13 section 3: a node killed with kill -9 under load, PostgreSQL stopped and
// started under load.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/pgtest"
)

// try is call without failing the test: a transport error is code 0.
func try(method, url, bearer, body string) (int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// ledger records what the load was told: acknowledged accounts with their acknowledged
// password, and the password changes whose answer never came (either password may hold).
type ledger struct {
	mu       sync.Mutex
	password map[string]string   // email -> last acknowledged password
	maybe    map[string][]string // email -> passwords of changes without an answer
	unsure   map[string]bool     // registrations without an answer (or a 503): may or may not exist
}

func newLedger() *ledger {
	return &ledger{password: map[string]string{}, maybe: map[string][]string{}, unsure: map[string]bool{}}
}

// worker runs registrations, logins and password changes against nodes (picked by pick) until
// stop is closed. It counts the answers by status.
func (l *ledger) worker(t *testing.T, id int, pick func(i int) *node, stop <-chan struct{}, codes *sync.Map) {
	count := func(what string, code int) {
		v, _ := codes.LoadOrStore(fmt.Sprintf("%s %d", what, code), new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
	}
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		n := pick(i)
		email := fmt.Sprintf("load-%d-%d@example.com", id, i)
		code, _ := try("POST", n.url+"/user", "", fmt.Sprintf(`{"email":%q,"password":%q}`, email, password))
		count("register", code)
		if code != 200 {
			l.mu.Lock()
			l.unsure[email] = true
			l.mu.Unlock()
			continue
		}
		l.mu.Lock()
		l.password[email] = password
		l.mu.Unlock()
		n = pick(i + 1)
		code, refresh := try("POST", n.url+"/auth/login", "", fmt.Sprintf(`{"username":%q,"password":%q}`, email, password))
		count("login", code)
		if code != 200 {
			continue
		}
		code, access := try("GET", n.url+"/auth/accesstoken", refresh, "")
		count("accesstoken", code)
		if code != 200 {
			continue
		}
		newPW := fmt.Sprintf("Changed-%d-%d", id, i)
		code, _ = try("PUT", pick(i).url+"/user/password/old-password", access, fmt.Sprintf(`{"oldPassword":%q,"newPassword":%q}`, password, newPW))
		count("password change", code)
		l.mu.Lock()
		switch code {
		case 200:
			l.password[email] = newPW
		case 401, 429:
		default:
			l.maybe[email] = append(l.maybe[email], newPW)
		}
		l.mu.Unlock()
	}
}

// verify logs in on n with every acknowledged account: its acknowledged password works (or,
// after a change without an answer, that change's password).
func (l *ledger) verify(t *testing.T, n *node) int {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for email, pw := range l.password {
		code, body := call(t, "POST", n.url+"/auth/login", "", fmt.Sprintf(`{"username":%q,"password":%q}`, email, pw))
		if code == 200 {
			continue
		}
		okOther := false
		for _, other := range l.maybe[email] {
			if c, _ := call(t, "POST", n.url+"/auth/login", "", fmt.Sprintf(`{"username":%q,"password":%q}`, email, other)); c == 200 {
				okOther = true
				break
			}
		}
		if !okOther {
			t.Errorf("acknowledged %s (password %s) lost: login %d %s", email, pw, code, body)
		}
	}
	return len(l.password)
}

// no500 fails the test for every 500 among codes: with the database up no answer is an
// internal error (the node logs are printed at the end of a failed test).
func no500(t *testing.T, what string, codes *sync.Map) {
	codes.Range(func(k, v any) bool {
		if strings.HasSuffix(k.(string), " 500") {
			t.Errorf("%s: %s answers %d", what, k, v.(*atomic.Int64).Load())
		}
		return true
	})
}

func logCodes(t *testing.T, what string, codes *sync.Map) {
	var parts []string
	codes.Range(func(k, v any) bool {
		parts = append(parts, fmt.Sprintf("%s: %d", k, v.(*atomic.Int64).Load()))
		return true
	})
	t.Logf("%s: %s", what, strings.Join(parts, ", "))
}

// TestKillNineOneNodeUnderLoad: node A is killed with kill -9 under a load of registrations,
// logins and password changes over both nodes; B keeps serving, and every acknowledged change
// holds on B.
func TestKillNineOneNodeUnderLoad(t *testing.T) {
	p := startPair(t, pgtest.Database(t), nil)
	l := newLedger()
	var aDead atomic.Bool
	pick := func(i int) *node {
		if i%2 == 0 && !aDead.Load() {
			return p.a
		}
		return p.b
	}
	stop := make(chan struct{})
	var before, after sync.Map
	var wg sync.WaitGroup
	base := 0 // worker ids: each phase registers new addresses
	phase := func(codes *sync.Map, d time.Duration) {
		stop = make(chan struct{})
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func(id int, stop chan struct{}) { defer wg.Done(); l.worker(t, id, pick, stop, codes) }(base+w, stop)
		}
		base += 4
		time.Sleep(d)
	}
	phase(&before, 3*time.Second)
	if err := p.a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.a.exited
	aDead.Store(true)
	t.Log("node A killed with kill -9 under load")
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	logCodes(t, "answers before and at the kill", &before)
	no500(t, "before and at the kill", &before)
	// The load goes on against B alone: it keeps serving.
	phase(&after, 2*time.Second)
	close(stop)
	wg.Wait()
	logCodes(t, "answers after the kill (B alone)", &after)
	ok := int64(0)
	if v, found := after.Load("register 200"); found {
		ok = v.(*atomic.Int64).Load()
	}
	if ok == 0 {
		t.Fatal("B acknowledged no registration after A was killed")
	}
	after.Range(func(k, v any) bool {
		if strings.HasSuffix(k.(string), " 0") || strings.HasSuffix(k.(string), " 500") {
			t.Errorf("B after the kill: %s answers %d", k, v.(*atomic.Int64).Load())
		}
		return true
	})
	t.Logf("%d acknowledged accounts verified on B", l.verify(t, p.b))
}

// TestPostgresStoppedAndStarted: PostgreSQL is stopped (immediate shutdown) under load over
// both nodes; while it is down every answer that needs it is a clean 503 with the error
// envelope; once it is back both nodes recover without a restart, every acknowledged change
// holds, and nothing is half-applied (an unanswered registration either exists whole or not).
func TestPostgresStoppedAndStarted(t *testing.T) {
	cluster := pgtest.Start(t)
	p := startPair(t, cluster.NewDatabase(t), nil)
	l := newLedger()
	pick := p.node
	base := 0
	var wg sync.WaitGroup
	run := func(codes *sync.Map) chan struct{} {
		stop := make(chan struct{})
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func(id int, stop chan struct{}) { defer wg.Done(); l.worker(t, id, pick, stop, codes) }(base+w, stop)
		}
		base += 4
		return stop
	}
	var up, down, back sync.Map
	stop := run(&up)
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	logCodes(t, "answers while PostgreSQL is up", &up)
	no500(t, "while PostgreSQL is up", &up)

	cluster.Stop()
	t.Log("PostgreSQL stopped")
	stop = run(&down)
	// Probes while it is down: the answers must be 503 with the envelope.
	bad := 0
	for i := 0; i < 20; i++ {
		code, body := try("POST", p.node(i).url+"/user", "", fmt.Sprintf(`{"email":"down-%d@example.com","password":%q}`, i, password))
		var env struct {
			StatusCode int    `json:"statusCode"`
			Error      string `json:"error"`
			Message    string `json:"message"`
		}
		if code != 503 || json.Unmarshal([]byte(body), &env) != nil || env.StatusCode != 503 || env.Error != "Service Unavailable" || env.Message != "STORE_UNAVAILABLE" {
			bad++
			if bad <= 3 {
				t.Errorf("register on %s while PostgreSQL is down: %d %s (want 503 STORE_UNAVAILABLE)", p.node(i).url, code, body)
			}
		}
		l.mu.Lock()
		l.unsure[fmt.Sprintf("down-%d@example.com", i)] = true
		l.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	for _, n := range []*node{p.a, p.b} {
		code, body := try("GET", n.url+"/readyz", "", "")
		t.Logf("readyz on %s while PostgreSQL is down: %d %s", n.url, code, strings.TrimSpace(body))
		if code == 200 {
			t.Errorf("readyz on %s is 200 while PostgreSQL is down", n.url)
		}
	}
	close(stop)
	wg.Wait()
	logCodes(t, "answers while PostgreSQL is down", &down)
	down.Range(func(k, v any) bool {
		if s := k.(string); !strings.HasSuffix(s, " 503") && !strings.HasSuffix(s, " 200") {
			t.Errorf("while PostgreSQL is down: %s answers %d (want 503)", s, v.(*atomic.Int64).Load())
		}
		return true
	})

	if err := cluster.Restart(); err != nil {
		t.Fatal(err)
	}
	t.Log("PostgreSQL started again")
	at := time.Now()
	for _, n := range []*node{p.a, p.b} {
		for i := 0; ; i++ {
			code, _ := try("POST", n.url+"/user", "", fmt.Sprintf(`{"email":"back-%d-%s@example.com","password":%q}`, i, strings.TrimPrefix(n.url, "http://127.0.0.1:"), password))
			if code == 200 {
				t.Logf("%s registers again %v after PostgreSQL started (attempt %d)", n.url, time.Since(at), i+1)
				break
			}
			if time.Since(at) > liveness {
				t.Fatalf("%s did not recover within %v: %d", n.url, liveness, code)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	stop = run(&back)
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	logCodes(t, "answers after PostgreSQL is back", &back)
	back.Range(func(k, v any) bool {
		if s := k.(string); strings.HasSuffix(s, " 500") || strings.HasSuffix(s, " 503") || strings.HasSuffix(s, " 0") {
			t.Errorf("after recovery: %s answers %d", s, v.(*atomic.Int64).Load())
		}
		return true
	})
	t.Logf("%d acknowledged accounts verified", l.verify(t, p.b))
	// Unanswered registrations: whole or absent. A whole one logs in; an absent one can be
	// registered now.
	l.mu.Lock()
	defer l.mu.Unlock()
	whole, absent := 0, 0
	for email := range l.unsure {
		if _, acked := l.password[email]; acked {
			continue
		}
		code, body := call(t, "POST", p.a.url+"/auth/login", "", fmt.Sprintf(`{"username":%q,"password":%q}`, email, password))
		switch code {
		case 200:
			whole++
		case 401:
			if c, b := call(t, "POST", p.b.url+"/user", "", fmt.Sprintf(`{"email":%q,"password":%q}`, email, password)); c != 200 {
				t.Errorf("%s: login refused but registering again answers %d %s (half-applied?)", email, c, b)
			}
			absent++
		default:
			t.Errorf("unanswered registration %s: login %d %s (half-applied?)", email, code, body)
		}
	}
	t.Logf("unanswered registrations: %d exist whole, %d absent", whole, absent)
}
