// Command budgets measures the lean-at-the-edge budgets of issue 12 from the built binary, from
// outside the process: the binary's size, start to ready (exec to the first /readyz 200) on a new
// data folder (so a new compilation cache) and on a warm one, the idle RSS after start-up (VmRSS
// from /proc), the idle cost of one more plugin loaded through GATEHOUSE_PLUGINS_DIR, and the RSS
// under a login + access-token load (wrk). It prints each budget with its figure and OK or OVER.
//
// Beside each start time it reports the CPU time the process used until ready (all threads, from
// /proc/PID/task/*/schedstat): on a shared machine the wall time is that CPU time stretched by
// whatever else runs, so the CPU time says whether a budget would hold on an idle box.
//
// Every figure is measured -runs times, in alternating order within each round (new folder,
// warm, warm with each extra plugin), and reported as its range and median; the verdict is on
// the median. On a shared machine read the ranges, not one number.
//
// Usage (from the repository root, after make build): bench/budgets.sh, or
//
//	go run ./bench/budgets -bin bin/gatehouse [-runs 5] [-load 8s]
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A budget is one line of the report.
type budget struct {
	name   string
	unit   string
	limit  float64 // 0: reported only
	values []float64
}

func (b *budget) add(v float64) { b.values = append(b.values, v) }

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func (b *budget) line() string {
	if len(b.values) == 0 {
		return fmt.Sprintf("%-72s %s", b.name, "not measured")
	}
	lo, hi, med := slices.Min(b.values), slices.Max(b.values), median(b.values)
	f := "%.0f"
	if b.unit == "MiB" || b.unit == "MB" {
		f = "%.1f"
	}
	rng := fmt.Sprintf(f+"–"+f, lo, hi)
	if lo == hi {
		rng = fmt.Sprintf(f, lo)
	}
	verdict := ""
	if b.limit > 0 {
		verdict = fmt.Sprintf("  ≤ "+f+" %s  ", b.limit, b.unit)
		if med <= b.limit {
			verdict += "OK"
		} else {
			verdict += "OVER"
		}
	}
	return fmt.Sprintf("%-72s %14s %-3s (median "+f+")%s", b.name, rng, b.unit, med, verdict)
}

type runner struct {
	bin  string
	tmp  string
	port int
	env  []string // extra environment of every start
}

// server is one started gatehouse serve.
type server struct {
	cmd    *exec.Cmd
	url    string
	data   string
	log    *bytes.Buffer
	exited chan struct{} // closed when the process has exited
	// cpuToReady is the CPU time the process's threads had used when /readyz first answered
	// 200: unlike the wall time, it hardly depends on what else the machine runs.
	cpuToReady time.Duration
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start starts the binary on data with the extra environment and returns once /readyz answers
// 200, with the time from exec to that answer.
func (r *runner) start(data string, extra ...string) (*server, time.Duration, error) {
	port, err := freePort()
	if err != nil {
		return nil, 0, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(r.bin, "serve")
	cmd.Env = append(os.Environ(), "GATEHOUSE_ADDR="+addr, "GATEHOUSE_DATA="+data, "GATEHOUSE_REGISTRATION=open",
		"GATEHOUSE_LOG_LEVEL=warn", "GATEHOUSE_ACCESS_TTL=1h")
	cmd.Env = append(append(cmd.Env, r.env...), extra...)
	s := &server{cmd: cmd, url: "http://" + addr, data: data, log: new(bytes.Buffer)}
	cmd.Stdout, cmd.Stderr = s.log, s.log
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	exited := make(chan struct{})
	s.exited = exited
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := t0.Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return nil, 0, fmt.Errorf("gatehouse exited before ready:\n%s", s.log)
		default:
		}
		resp, err := client.Get(s.url + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				d := time.Since(t0)
				s.cpuToReady = cpuTime(cmd.Process.Pid)
				return s, d, nil
			}
		}
		time.Sleep(time.Millisecond)
	}
	_ = cmd.Process.Kill()
	return nil, 0, fmt.Errorf("gatehouse not ready after 60 s:\n%s", s.log)
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// stop stops the server (SIGTERM, SIGKILL after 10 s) and waits for it to exit.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// rssMiB reads VmRSS of pid, in MiB.
func rssMiB(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseFloat(f[1], 64)
			return kb / 1024, err
		}
	}
	return 0, errors.New("no VmRSS")
}

// cpuTime sums the time on CPU of every thread of pid (/proc/PID/task/*/schedstat, in ns).
func cpuTime(pid int) time.Duration {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	var total int64
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			ns, _ := strconv.ParseInt(f[0], 10, 64)
			total += ns
		}
	}
	return time.Duration(total)
}

// idleRSS waits for the start-up to settle (settle), then reads the RSS.
func idleRSS(s *server, settle time.Duration) (float64, error) {
	time.Sleep(settle)
	return rssMiB(s.pid())
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o600)
}

// extraPlugin is a plugin loaded through GATEHOUSE_PLUGINS_DIR for its idle cost.
type extraPlugin struct {
	name, wasm string
	env        []string // its grants
	dir        string
	cost       *budget
}

func main() {
	bin := flag.String("bin", "bin/gatehouse", "the gatehouse binary")
	runs := flag.Int("runs", 5, "rounds of every start-up measurement")
	settle := flag.Duration("settle", 2*time.Second, "wait after ready before reading the idle RSS")
	load := flag.Duration("load", 8*time.Second, "duration of the login + token load (0: skip)")
	hotp := flag.String("hotp", ".cache/wasm/examples_hotp.wasm", "the Go HOTP example plugin (make plugins)")
	asTOTP := flag.String("as-totp", "examples/as-totp/as-totp.wasm", "the AssemblyScript TOTP example plugin")
	variant := flag.String("variant", "", "a label for this configuration in the report (such as \"+ passkey\")")
	var env envList
	flag.Var(&env, "env", "NAME=VALUE added to every start (repeatable)")
	flag.Parse()
	if err := run(*bin, *runs, *settle, *load, *hotp, *asTOTP, *variant, env); err != nil {
		fmt.Fprintln(os.Stderr, "budgets:", err)
		os.Exit(1)
	}
}

type envList []string

func (e *envList) String() string     { return strings.Join(*e, " ") }
func (e *envList) Set(v string) error { *e = append(*e, v); return nil }

func run(bin string, runs int, settle, load time.Duration, hotp, asTOTP, variant string, env []string) error {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "gatehouse-budgets-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	r := &runner{bin: bin, tmp: tmp, env: env}
	label := func(s string) string {
		if variant != "" {
			return s + " [" + variant + "]"
		}
		return s
	}

	fi, err := os.Stat(bin)
	if err != nil {
		return err
	}
	// MB = 10^6 bytes (the stricter reading of "30 MB"; 30 MiB is 31,457,280 bytes).
	size := &budget{name: fmt.Sprintf("binary size (%d bytes, %.1f MiB)", fi.Size(), float64(fi.Size())/(1<<20)), unit: "MB", limit: 30}
	size.add(float64(fi.Size()) / 1e6)
	cold := &budget{name: label("start to ready, new data folder (new compilation cache)"), unit: "ms", limit: 300}
	warm := &budget{name: label("start to ready, warm (same data folder again)"), unit: "ms", limit: 100}
	idle := &budget{name: label("idle RSS after start-up"), unit: "MiB", limit: 40}
	coldCPU := &budget{name: label("  CPU time to ready, new data folder (context)"), unit: "ms"}
	warmCPU := &budget{name: label("  CPU time to ready, warm (context)"), unit: "ms"}
	extras := []*extraPlugin{
		{name: "Go examples/hotp", wasm: hotp},
		{name: "AssemblyScript examples/as-totp", wasm: asTOTP, env: []string{"GATEHOUSE_PLUGIN_GRANTS=twofactor.as-totp=crypto"}},
	}
	for i, x := range extras {
		x.dir = filepath.Join(tmp, fmt.Sprintf("plugins%d", i))
		if err := os.MkdirAll(x.dir, 0o700); err != nil {
			return err
		}
		if err := copyFile(x.wasm, filepath.Join(x.dir, filepath.Base(x.wasm))); err != nil {
			return fmt.Errorf("%s: %w", x.name, err)
		}
		x.env = append(x.env, "GATEHOUSE_PLUGINS_DIR="+x.dir)
		x.cost = &budget{name: label("idle cost of one more plugin: " + x.name), unit: "MiB"}
	}

	for i := range runs {
		data := filepath.Join(tmp, fmt.Sprintf("data%d", i))
		// A new data folder: its compilation cache (<data>/plugin-cache) is new too.
		s, d, err := r.start(data)
		if err != nil {
			return err
		}
		cold.add(float64(d.Microseconds()) / 1000)
		coldCPU.add(float64(s.cpuToReady.Microseconds()) / 1000)
		s.stop()
		// Warm: the same folder again (store and compilation cache there).
		s, d, err = r.start(data)
		if err != nil {
			return err
		}
		warm.add(float64(d.Microseconds()) / 1000)
		warmCPU.add(float64(s.cpuToReady.Microseconds()) / 1000)
		base, err := idleRSS(s, settle)
		s.stop()
		if err != nil {
			return err
		}
		idle.add(base)
		for _, x := range extras {
			{ // compile the extra plugin into this folder's cache first: its warm cost is measured
				s, _, err := r.start(data, x.env...)
				if err != nil {
					return err
				}
				s.stop()
			}
			s, _, err := r.start(data, x.env...)
			if err != nil {
				return err
			}
			with, err := idleRSS(s, settle)
			s.stop()
			if err != nil {
				return err
			}
			x.cost.add(with - base)
		}
	}

	lines := []*budget{size, cold, coldCPU, warm, warmCPU, idle}
	for _, x := range extras {
		lines = append(lines, x.cost)
	}
	if load > 0 {
		peak, err := underLoad(r, filepath.Join(tmp, "load"), load)
		if err != nil {
			return err
		}
		lines = append(lines, peak)
	}
	fmt.Printf("budgets of %s (%d rounds; ranges over the rounds, verdict on the median)\n", bin, runs)
	for _, b := range lines {
		fmt.Println(b.line())
	}
	return nil
}

// underLoad starts a server, registers an account, and runs wrk on POST /auth/login (4
// connections) and GET /user/2fa with an access token (8 connections) at once, sampling the
// RSS every 250 ms; it returns the peak.
func underLoad(r *runner, data string, d time.Duration) (*budget, error) {
	if _, err := exec.LookPath("wrk"); err != nil {
		return nil, errors.New("wrk not installed (apt-get install wrk)")
	}
	s, _, err := r.start(data)
	if err != nil {
		return nil, err
	}
	defer s.stop()
	const account = `{"email":"load@example.com","password":"Passw0rdX"}`
	const login = `{"username":"load@example.com","password":"Passw0rdX"}`
	if _, err := post(s.url+"/user", account, ""); err != nil {
		return nil, err
	}
	refresh, err := post(s.url+"/auth/login", login, "")
	if err != nil {
		return nil, err
	}
	access, err := get(s.url+"/auth/accesstoken", refresh)
	if err != nil {
		return nil, err
	}
	script := filepath.Join(r.tmp, "login.lua")
	if err := os.WriteFile(script, []byte("wrk.method = \"POST\"\nwrk.body = '"+login+"'\nwrk.headers[\"Content-Type\"] = \"application/json\"\n"), 0o600); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), d+10*time.Second)
	defer cancel()
	secs := fmt.Sprintf("%ds", int(d.Seconds()))
	w1 := exec.CommandContext(ctx, "wrk", "-t1", "-c4", "-d"+secs, "-s", script, s.url+"/auth/login")
	w2 := exec.CommandContext(ctx, "wrk", "-t1", "-c8", "-d"+secs, "-H", "Authorization: Bearer "+access, s.url+"/user/2fa")
	for _, w := range []*exec.Cmd{w1, w2} {
		if err := w.Start(); err != nil {
			return nil, err
		}
	}
	b := &budget{name: "RSS under the login + token load (peak; was 280 MiB)", unit: "MiB"}
	peak := 0.0
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		time.Sleep(250 * time.Millisecond)
		if v, err := rssMiB(s.pid()); err == nil && v > peak {
			peak = v
		}
	}
	_ = w1.Wait()
	_ = w2.Wait()
	b.add(peak)
	return b, nil
}

func post(url, body, bearer string) (string, error) {
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return do(req, bearer)
}

func get(url, bearer string) (string, error) {
	req, _ := http.NewRequest("GET", url, nil)
	return do(req, bearer)
}

func do(req *http.Request, bearer string) (string, error) {
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return "", fmt.Errorf("%s %s: %d %s", req.Method, req.URL, resp.StatusCode, b)
	}
	return strings.TrimSpace(string(b)), nil
}
