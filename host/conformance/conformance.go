// Package conformance is the test kit for a plugin in any language: it loads
// a .wasm into the real host, as an operator would (granting the
// capabilities the plugin declares, with test doubles behind smtp, http and
// outbox), and checks it against the ABI (host/ABI.md): the load checks,
// describe and configure, every declared hook with valid and hostile inputs,
// the round trip of a twofactor method's state and the replay-key rules.
//
// `gatehouse plugin test FILE.wasm` prints its report; sdktest.Conformance
// runs the same checks from a Go test.
package conformance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/host"
	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/hashicorp/go-hclog"
)

// Verdict is the result of one check.
type Verdict string

// Verdicts of a check.
const (
	// Pass: the plugin did what the ABI asks.
	Pass Verdict = "PASS"
	// Fail: it did not; Check.Detail says how.
	Fail Verdict = "FAIL"
	// Warn: allowed by the ABI but worth a look (the Go SDK does better).
	Warn Verdict = "WARN"
	// Skip: not run, because an earlier check failed or the plugin does not
	// declare what it needs.
	Skip Verdict = "SKIP"
)

// Check is one line of a Report.
type Check struct {
	Name    string  `json:"name"`
	Verdict Verdict `json:"verdict"`
	// Detail says why a check failed, was skipped or warns; "" for most passes.
	Detail string `json:"detail,omitempty"`
}

// Report is what Run found.
type Report struct {
	Path   string  `json:"path"`
	ID     string  `json:"id,omitempty"`
	Kind   string  `json:"kind,omitempty"`
	Checks []Check `json:"checks"`
}

// Failed returns the number of checks that failed.
func (r *Report) Failed() int {
	n := 0
	for _, c := range r.Checks {
		if c.Verdict == Fail {
			n++
		}
	}
	return n
}

// Write prints the report, one line per check, and a closing count.
func (r *Report) Write(w io.Writer) {
	for _, c := range r.Checks {
		line := fmt.Sprintf("%s  %s", c.Verdict, c.Name)
		if c.Detail != "" {
			line += ": " + c.Detail
		}
		fmt.Fprintln(w, line)
	}
	counts := map[Verdict]int{}
	for _, c := range r.Checks {
		counts[c.Verdict]++
	}
	fmt.Fprintf(w, "%s: %d passed, %d failed, %d warnings, %d skipped\n", r.Path, counts[Pass], counts[Fail], counts[Warn], counts[Skip])
}

// Options tune Run. The zero value is ready to use.
type Options struct {
	// Config is the operator's JSON configuration for the plugin, handed to
	// gatehouse_configure; nil for none.
	Config []byte
	// CacheDir holds wazero's compilation cache; "" compiles in memory.
	CacheDir string
	// CallTimeout bounds each call. Default 2 s (a plugin that loops is
	// caught at it).
	CallTimeout time.Duration
	// HTTPConnections are the names of the http connections the test
	// double answers on. Default "email-api" and "default".
	HTTPConnections []string
	// Logger receives the host's log lines. Default: none.
	Logger hclog.Logger
}

// kit runs the checks of one plugin.
type kit struct {
	rep  Report
	opts Options
	ctx  context.Context
}

func (k *kit) add(name string, v Verdict, detail string) {
	detail = strings.Join(strings.Fields(detail), " ") // one line per check, wasm stack traces included
	k.rep.Checks = append(k.rep.Checks, Check{Name: name, Verdict: v, Detail: detail})
}

// problems collects what went wrong over many inputs of one check.
type problems []string

func (p *problems) addf(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

// result records a check from its problems: at most three are shown.
func (k *kit) result(name string, p problems) {
	switch {
	case len(p) == 0:
		k.add(name, Pass, "")
	case len(p) <= 3:
		k.add(name, Fail, strings.Join(p, "; "))
	default:
		k.add(name, Fail, strings.Join(p[:3], "; ")+fmt.Sprintf("; and %d more", len(p)-3))
	}
}

// RunFile reads the .wasm at path and runs Run on it.
func RunFile(ctx context.Context, path string, opts Options) Report {
	wasm, err := os.ReadFile(path)
	if err != nil {
		return Report{Path: path, Checks: []Check{{Name: "read the module", Verdict: Fail, Detail: err.Error()}}}
	}
	return Run(ctx, path, wasm, opts)
}

// Run checks the module wasm (read from path, which names it in the report).
func Run(ctx context.Context, path string, wasm []byte, opts Options) Report {
	if opts.CallTimeout == 0 {
		opts.CallTimeout = 2 * time.Second
	}
	if len(opts.HTTPConnections) == 0 {
		opts.HTTPConnections = []string{"email-api", "default"}
	}
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	k := &kit{rep: Report{Path: path}, opts: opts, ctx: ctx}
	k.run(wasm)
	return k.rep
}

func (k *kit) run(wasm []byte) {
	ins, err := host.Inspect(k.ctx, wasm)
	if err != nil {
		k.add("load: module checks (exports, imports, marker, descriptor)", Fail, err.Error())
		return
	}
	if !ins.Loadable {
		k.add("load: module checks (exports, imports, marker, descriptor)", Fail, ins.Problem)
		return
	}
	k.add("load: module checks (exports, imports, marker, descriptor)", Pass, "")
	d := ins.Descriptor
	k.rep.ID, k.rep.Kind = d.ID, string(d.Kind)
	k.describe(d, ins)

	// The operator's side: grant what the plugin declares, with test doubles
	// behind the transport capabilities.
	smtp, err := newSMTPDouble()
	if err != nil {
		k.add("test doubles", Fail, err.Error())
		return
	}
	defer smtp.close()
	web := newHTTPDouble()
	defer web.Close()
	outbox, err := os.MkdirTemp("", "gatehouse-plugin-test-outbox-")
	if err != nil {
		k.add("test doubles", Fail, err.Error())
		return
	}
	defer os.RemoveAll(outbox)
	conns := map[string]host.HTTPConnection{}
	for _, name := range k.opts.HTTPConnections {
		conns[name] = host.HTTPConnection{BaseURL: web.URL, Methods: []string{"GET", "POST", "PUT"}}
	}
	cfg := host.Config{
		CacheDir:         k.opts.CacheDir,
		Logger:           k.opts.Logger,
		Grants:           map[string][]string{d.ID: d.Capabilities},
		CallTimeout:      k.opts.CallTimeout,
		PoolSize:         1,
		BreakerThreshold: 1 << 30, // every call is judged on its own
		SMTP:             host.SMTPConfig{Addr: smtp.addr, StartTLS: "never", Timeout: k.opts.CallTimeout},
		OutboxDir:        outbox,
		HTTPConnections:  conns,
	}
	if k.opts.Config != nil {
		cfg.PluginConfig = map[string][]byte{d.ID: k.opts.Config}
	}
	h, err := host.New(k.ctx, cfg)
	if err != nil {
		k.add("load: in a host granting the declared capabilities", Fail, err.Error())
		return
	}
	defer h.Close(context.Background())
	granted := "none"
	if len(d.Capabilities) > 0 {
		granted = strings.Join(d.Capabilities, ", ")
	}
	configured := "no configuration"
	if k.opts.Config != nil {
		configured = "the configuration given"
	}
	name := fmt.Sprintf("load and configure: granted %s, %s", granted, configured)
	if err := h.Load(k.ctx, path(k), wasm); err != nil {
		k.add(name, Fail, err.Error())
		return
	}
	k.add(name, Pass, "")
	k.undecodable(h, d)
	switch d.Kind {
	case abi.KindPassword:
		k.password(h, d)
	case abi.KindTwoFactor:
		k.twoFactor(h, d)
	case abi.KindMailer:
		k.mailer(h, d)
	}
}

func path(k *kit) string { return k.rep.Path }

// describe checks what the descriptor says beyond what the host enforces.
func (k *kit) describe(d *host.Descriptor, ins host.Report) {
	var p problems
	if d.Name == "" {
		p.addf("no name")
	}
	if d.Version == "" {
		p.addf("no version")
	}
	for _, c := range ins.Capabilities {
		if !contains(d.Capabilities, c) {
			p.addf("imports %s without declaring it", c)
		}
	}
	k.result("describe: the descriptor names, versions and declares the plugin", p)
	if d.Kind == abi.KindPassword && len(d.Codes) == 0 {
		k.add("describe: reason codes", Warn, "a password policy that declares no reason codes can never refuse a password")
	}
	var unused []string
	for _, c := range d.Capabilities {
		if !contains(ins.Capabilities, c) {
			unused = append(unused, c)
		}
	}
	if len(unused) > 0 {
		k.add("describe: declared capabilities are imported", Warn, "declared but not imported (an operator would grant them for nothing): "+strings.Join(unused, ", "))
	}
}

// undecodable calls configure and every declared hook with bytes that are
// not a message. The host never sends such input, so only a hang or a
// memory blow-up fails; the ABI's answer is status bad_input.
func (k *kit) undecodable(h *host.Host, d *host.Descriptor) {
	garbage := []byte{0xff, 0xff, 0xff, 0x0f}
	exports := []string{}
	for _, hook := range d.Hooks {
		exports = append(exports, abi.HookExport(hook))
	}
	var p, odd problems
	for _, export := range exports {
		status, _, err := h.CallRaw(k.ctx, d.ID, export, garbage)
		var pe *host.PluginError
		switch {
		case errors.As(err, &pe) && (pe.Code == host.CodeTimeout || pe.Code == host.CodeMemoryLimit):
			p.addf("%s: %s", export, pe.Error())
		case err != nil:
			odd = append(odd, fmt.Sprintf("%s traps", export))
		case status != abi.StatusBadInput:
			odd = append(odd, fmt.Sprintf("%s answers status %d (%s)", export, int32(status), status))
		}
	}
	const name = "hooks: undecodable input answers status bad_input"
	switch {
	case len(p) > 0:
		k.result(name, p)
	case len(odd) > 0:
		k.add(name, Warn, strings.Join(odd, "; ")+" (the ABI's answer is status 2, bad_input)")
	default:
		k.add(name, Pass, "")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// quote shows an input in a report line, cut short.
func quote(s string) string {
	if len(s) > 24 {
		return fmt.Sprintf("%q… (%d bytes)", s[:16], len(s))
	}
	return fmt.Sprintf("%q", s)
}

// hostile are strings a user controls, of odd shapes: empty, long, not
// ASCII, control characters, and one ending in each printable ASCII
// character.
func hostile() []string {
	return hostileUpTo(1 << 20)
}

// hostileUpTo is hostile with every string cut to at most n bytes (at a
// character boundary), for fields the host bounds before a plugin sees
// them, such as an email address.
func hostileUpTo(n int) []string {
	list := []string{"", strings.Repeat("Aa1!", 4096), "пароль-Ünïcødé-密码-🔑1A", "\x00\x01\x02 \t\n", "\uFFFD\u202e", strings.Repeat("é", 2000)}
	for c := byte(0x20); c < 0x7f; c++ {
		list = append(list, "Conformance-"+string(c))
	}
	for i, s := range list {
		for len(s) > n {
			_, size := utf8.DecodeLastRuneInString(s)
			s = s[:len(s)-size]
		}
		list[i] = s
	}
	return list
}
