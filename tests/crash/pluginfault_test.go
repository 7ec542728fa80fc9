package crash_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

// throughput runs clients goroutines sending mk() for d and returns answers per second, the
// slowest answer and the answers that were not 200.
func throughput(base string, clients int, d time.Duration, mk func() req) (float64, time.Duration, []string) {
	var n atomic.Int64
	var mu sync.Mutex
	var bad []string
	var slowest time.Duration
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				t0 := time.Now()
				r, err := do(base, mk())
				took := time.Since(t0)
				mu.Lock()
				slowest = max(slowest, took)
				mu.Unlock()
				if err != nil || r.Status != 200 {
					mu.Lock()
					if err != nil {
						bad = append(bad, err.Error())
					} else {
						bad = append(bad, r.String())
					}
					mu.Unlock()
					continue
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / d.Seconds(), slowest, bad
}

// TestPluginFaultsContained: a third-party 2FA plugin (the chaos fixture of host/testdata) is
// called by background clients while four clients call a token-authenticated endpoint (GET
// /auth/accesstoken/validate). The same background load runs with the plugin healthy (setup
// mode "ok"), trapping on every call (mode "panic") and looping until the host's deadline (mode
// "loop"). The faulty calls get the envelope (500 PLUGIN_FAILED / PLUGIN_TIMEOUT, 503
// PLUGIN_UNAVAILABLE while the circuit breaker is open), every other
// answer is right (each validate call 200, the TOTP plugin keeps verifying), and the faulty
// plugin works again afterwards. What `make test` asserts is the correctness of every answer,
// never a rate: the throughput under each mode is logged, and its ratio to the healthy mode is
// asserted only with GATEHOUSE_THROUGHPUT_CHECK=1 (`make soak`), on a machine kept quiet.
func TestPluginFaultsContained(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	binary(t) // skip early without a binary
	wasm := sdktest.Build(t, filepath.Join(repoRoot(t), "host", "testdata", "twofactor-chaos"))
	dir := t.TempDir()
	b, err := os.ReadFile(wasm)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "chaos.wasm"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, map[string]string{"GATEHOUSE_REGISTRATION": "open", "GATEHOUSE_PLUGINS_DIR": dir})
	base := srv.url()

	// Background users call chaos setup (the plugin's enroll hook, no guess limiter).
	const bgClients = 2
	bg := make([]*user, bgClients)
	for i := range bg {
		if bg[i], err = newSession(base, "chaos"); err != nil {
			t.Fatal(err)
		}
	}
	tu0, err := newSession(base, "totp")
	if err != nil {
		t.Fatal(err)
	}
	tu, err := enableTotp(base, tu0)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := newSession(base, "plain")
	if err != nil {
		t.Fatal(err)
	}
	validate := func() req { return req{Method: "GET", Path: "/auth/accesstoken/validate", Token: plain.Access} }

	answers := map[string]*atomic.Int64{}
	var answersMu sync.Mutex
	note := func(k string) {
		answersMu.Lock()
		if answers[k] == nil {
			answers[k] = new(atomic.Int64)
		}
		answers[k].Add(1)
		answersMu.Unlock()
	}

	slow := map[string]time.Duration{}
	calls := map[string]float64{} // validate answers (all 200) per mode
	// phase measures validate with the background load of mode ("" none).
	const clients, phaseTime = 4, 1200 * time.Millisecond
	phase := func(mode string) float64 {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		if mode != "" {
			for i := range bgClients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						r, err := do(base, req{Method: "POST", Path: "/user/2fa/chaos/setup", Token: bg[i].Access, JSON: map[string]string{"mode": mode}})
						switch {
						case err != nil:
							note(mode + ": error " + err.Error())
						case r.Status == 200:
							note(mode + ": 200")
						default:
							if err := checkAnyEnvelope(r, ""); err != nil {
								note(mode + ": not an envelope: " + err.Error())
							} else {
								note(fmt.Sprintf("%s: %d %s", mode, r.Status, r.str("message")))
							}
						}
					}
				}()
			}
			time.Sleep(200 * time.Millisecond) // under way
		}
		rate, slowest, bad := throughput(base, clients, phaseTime, validate)
		slow[mode] = max(slow[mode], slowest)
		calls[mode] += rate * phaseTime.Seconds()
		if mode == "panic" || mode == "loop" {
			// The other plugin keeps working while this one fails.
			if code, _, ok := tu.gen.next(3 * time.Second); ok {
				r, err := do(base, req{Method: "POST", Path: "/user/2fa/totp/authenticate", Token: tu.Access, JSON: map[string]string{"totp": code}})
				if err != nil || r.Status != 200 {
					t.Errorf("SERVER BUG: TOTP authenticate while the chaos plugin fails (%s): %v %v", mode, r, err)
				}
			}
		}
		close(stop)
		wg.Wait()
		if len(bad) > 0 {
			t.Errorf("SERVER BUG: with background %q, %d token-authenticated answers were not 200, e.g. %s", mode, len(bad), bad[0])
		}
		return rate
	}

	modes := []string{"", "ok", "panic", "loop"}
	rates := map[string]float64{}
	for range 2 {
		for _, m := range modes {
			rates[m] += phase(m) / 2
		}
	}
	for k, v := range answers {
		t.Logf("background answers: %-50s x%d", k, v.Load())
		// After 5 failures in a row the host fails a plugin's calls fast for a second (its
		// circuit breaker): the plugin then answers 503 PLUGIN_UNAVAILABLE without running.
		if !(k == "ok: 200" || k == "panic: 500 PLUGIN_FAILED" || k == "loop: 500 PLUGIN_TIMEOUT" || k == "panic: 503 PLUGIN_UNAVAILABLE" || k == "loop: 503 PLUGIN_UNAVAILABLE") {
			t.Errorf("SERVER BUG? unexpected answer to a chaos setup call: %s", k)
		}
	}
	t.Logf("GET /auth/accesstoken/validate with %d clients; %d background clients calling the chaos plugin: none %.0f/s, healthy %.0f/s (%.2f of none), trapping %.0f/s (%.2f of healthy), looping %.0f/s (%.2f of healthy)",
		clients, bgClients, rates[""], rates["ok"], rates["ok"]/rates[""], rates["panic"], rates["panic"]/rates["ok"], rates["loop"], rates["loop"]/rates["ok"])
	t.Logf("slowest validate answer: none %s, healthy %s, trapping %s, looping %s",
		slow[""].Round(time.Millisecond), slow["ok"].Round(time.Millisecond), slow["panic"].Round(time.Millisecond), slow["loop"].Round(time.Millisecond))
	for _, m := range modes {
		if calls[m] == 0 {
			t.Errorf("no validate call was answered with background %q: the phase measured nothing", m)
		}
	}
	if os.Getenv("GATEHOUSE_THROUGHPUT_CHECK") == "1" {
		if r := rates["panic"] / rates["ok"]; r < 0.5 {
			t.Errorf("SERVER BUG: a trapping plugin cuts the rest's throughput to %.2f of what the same load on the healthy plugin leaves (want at least 0.5)", r)
		}
		if r := rates["loop"] / rates["ok"]; r < 0.4 {
			t.Errorf("SERVER BUG: a looping plugin cuts the rest's throughput to %.2f of what the same load on the healthy plugin leaves (want at least 0.4)", r)
		}
	}

	// The plugin answers properly again once its circuit breaker's cooldown (1 s) is over.
	time.Sleep(1100 * time.Millisecond)
	r, err := do(base, req{Method: "POST", Path: "/user/2fa/chaos/setup", Token: bg[0].Access, JSON: map[string]string{"mode": "ok"}})
	if err != nil || r.Status != 200 {
		t.Errorf("SERVER BUG: the chaos plugin after its faults: %v %v", r, err)
	}
	if r, err := do(base, req{Method: "GET", Path: "/readyz"}); err != nil || r.Status != 200 {
		t.Errorf("SERVER BUG: /readyz after the plugin faults: %v %v", r, err)
	}
	if !srv.alive() {
		t.Errorf("SERVER BUG: the server exited")
	}
	srv.checkNoGoPanic(t)
}
