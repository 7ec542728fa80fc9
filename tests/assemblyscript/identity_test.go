package assemblyscript_test

// The first-party plugins rewritten with the AssemblyScript SDK (plugins/<name>/as) against
// their Go reference implementations (plugins/<name>): both modules are loaded into the real
// host, fed the same inputs, and must give the same answers, field by field.

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	pqtotp "github.com/pquerna/otp/totp"

	"github.com/gatehouse/gatehouse/host"
	"github.com/gatehouse/gatehouse/plugins"
	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

// pair is one first-party plugin twice: the Go reference and the AssemblyScript rewrite, each
// in a host of its own (they have the same id), granted what it declares.
type pair struct {
	name   string
	goWasm string
	asWasm string
	goHost *host.Host
	asHost *host.Host
	id     string
}

// loadPair builds the Go plugin plugins/<name> (sdktest.Build, into .cache/wasm) and loads it
// and the committed plugins/<name>/as/<name>.wasm. The descriptors must be equal.
func loadPair(t testing.TB, name string, cfg func(*host.Config)) *pair {
	t.Helper()
	root := filepath.Join("..", "..")
	p := &pair{name: name,
		goWasm: sdktest.Build(t, filepath.Join(root, "plugins", name)),
		asWasm: filepath.Join(root, "plugins", name, "as", name+".wasm")}
	var ds [2]host.Descriptor
	for i, path := range []string{p.goWasm, p.asWasm} {
		wasm, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := host.Inspect(context.Background(), wasm)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		c := sdktest.Config(t)
		c.Grants = map[string][]string{rep.Descriptor.ID: rep.Capabilities}
		if cfg != nil {
			cfg(&c)
		}
		h := sdktest.NewHost(t, c)
		if err := h.Load(context.Background(), path, wasm); err != nil {
			t.Fatalf("loading %s: %v", path, err)
		}
		d, ok := h.Descriptor(rep.Descriptor.ID)
		if !ok {
			t.Fatalf("%s: no descriptor", path)
		}
		ds[i] = d
		if i == 0 {
			p.goHost, p.id = h, d.ID
		} else {
			p.asHost = h
		}
	}
	// The ABI minor version is the SDK's, not the plugin's behaviour: the Go SDK declares the
	// newest (1.2) and the AssemblyScript SDK the one it implements (1.1). Both load here.
	ds[0].ABIMinor, ds[1].ABIMinor = 0, 0
	if !reflect.DeepEqual(ds[0], ds[1]) {
		t.Fatalf("%s: descriptors differ:\n go %+v\n as %+v", name, ds[0], ds[1])
	}
	return p
}

// errString is an error's text without the module's file name (the two are named differently).
func errString(err error, p *pair) string {
	if err == nil {
		return ""
	}
	var pe *host.PluginError
	if errors.As(err, &pe) {
		return "plugin error " + pe.Code
	}
	s := strings.ReplaceAll(err.Error(), p.goWasm, "<wasm>")
	return strings.ReplaceAll(s, p.asWasm, "<wasm>")
}

func TestPasswordDefaultIdentical(t *testing.T) {
	p := loadPair(t, "password-default", nil)
	goPP, err := p.goHost.PasswordPolicy(p.id)
	if err != nil {
		t.Fatal(err)
	}
	asPP, err := p.asHost.PasswordPolicy(p.id)
	if err != nil {
		t.Fatal(err)
	}
	passwords := []string{
		// common passwords (the default policy has no blocklist: they pass or fail on composition)
		"password", "123456", "12345678", "qwerty", "letmein", "Password1", "P@ssw0rd", "Passw0rd",
		"iloveyou", "Welcome1", "admin", "abc123", "Qwerty123", "monkey", "dragon", "111111",
		// empty, short, the length bounds
		"", "a", "Ab1", "Abcde1x", "Abcdef1x", "Abcdefg1", strings.Repeat("a", 7),
		"A1" + strings.Repeat("b", 253), "A1" + strings.Repeat("b", 254), "A1" + strings.Repeat("b", 255),
		strings.Repeat("Aa1", 200), strings.Repeat("x", 5000),
		// composition
		"alllowercase1", "ALLUPPERCASE1", "NoDigitsHere", "12345678901", "!!!!!!!!!!", "        ",
		"Pass word 1", "Tab\there1", "new\nline1A",
		// unicode: counted in code points, classes are ASCII only
		"Éèçàùâêî", "ÉÈÇÀÙÂÊÎ1a", "Ünïcödé1", "пароль12", "ПАРОЛЬпароль1", "密码密码密码密码", "密码A1密码",
		"😀😀😀😀😀😀A1", "😀😀😀😀😀A1", "😀😀😀😀😀a", strings.Repeat("😀", 255) + "A", strings.Repeat("😀", 254) + "A1",
		"ａｂｃＡＢＣ１２３", "e\u0301e\u0301e\u0301Aa1", "\u0000\u0000Aa1xxxxx", "\uFFFDAa1bbbbb",
		"\xff\xfeAa1bbbbb", // invalid UTF-8: the host replaces it before the call
		// the email as context
		"user@example.com", "User@example.com1", "Example2024",
	}
	fields := []string{"", "password", "newPassword"}
	emails := []string{"", "user@example.com", "Jöns.Ünïcödé@example.org"}
	ctx := context.Background()
	n := 0
	for _, pw := range passwords {
		for _, f := range fields {
			for _, e := range emails {
				in := abi.PasswordCheckRequest{Password: pw, Email: e, Field: f, ServiceName: "Gatehouse", RequestID: "req-1"}
				gv, gerr := goPP.Check(ctx, in)
				av, aerr := asPP.Check(ctx, in)
				if !reflect.DeepEqual(gv, av) || errString(gerr, p) != errString(aerr, p) {
					t.Errorf("password %q field %q email %q:\n go %+v %v\n as %+v %v", pw, f, e, gv, gerr, av, aerr)
				}
				n++
			}
		}
	}
	t.Logf("%d checks, identical answers", n)
}

// The committed first-party AssemblyScript plugins pass `gatehouse plugin test`'s kit.
func TestFirstPartyASConformance(t *testing.T) {
	for _, name := range []string{"password-default", "totp", "email-otp", "mailer-outbox", "mailer-smtp", "passkey"} {
		t.Run(name, func(t *testing.T) {
			sdktest.Conformance(t, filepath.Join("..", "..", "plugins", name, "as", name+".wasm"))
		})
	}
}

// twoFactorPair returns the Go and AS methods of a pair.
// outcome is one twofactor call's answer as a value to compare: the result (zero after an
// error) and whether the plugin accepted.
type outcome struct {
	abi.TwoFactorResult
	Accepted bool
}

// call2FA runs hook on m and returns its answer as an outcome.
func call2FA(ctx context.Context, m *host.TwoFactorMethod, hook string, in abi.TwoFactorRequest) (outcome, error) {
	res, accepted, err := m.Call(ctx, hook, in)
	o := outcome{Accepted: accepted}
	if res != nil {
		o.TwoFactorResult = *res
	}
	return o, err
}

func twoFactorPair(t *testing.T, p *pair) (goM, asM *host.TwoFactorMethod) {
	t.Helper()
	var err error
	if goM, err = p.goHost.TwoFactor(p.id); err != nil {
		t.Fatal(err)
	}
	if asM, err = p.asHost.TwoFactor(p.id); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(goM.Info(), asM.Info()) {
		t.Fatalf("method info differs:\n go %+v\n as %+v", goM.Info(), asM.Info())
	}
	return goM, asM
}

func TestTOTPIdentical(t *testing.T) {
	p := loadPair(t, "totp", nil)
	goM, asM := twoFactorPair(t, p)
	ctx := context.Background()

	// Enroll: a new random secret each; everything else the same, the URL with that secret.
	var enrolled []string
	for _, u := range []struct{ service, email string }{
		{"Gatehouse", "user@example.com"}, {"My Service", "a+b@example.com"}, {"Ünïcödé & Co", "jöns@example.org"},
		{"a/b?c#d", "x y@z"}, {"", ""}, {"100% $ : = @ ~", "semi;colon,comma@example.com"},
	} {
		in := abi.TwoFactorRequest{Email: u.email, ServiceName: u.service, UserID: "u1", RequestID: "r1"}
		g, gerr := call2FA(ctx, goM, abi.HookTwoFactorEnroll, in)
		a, aerr := call2FA(ctx, asM, abi.HookTwoFactorEnroll, in)
		if gerr != nil || aerr != nil {
			t.Fatalf("enroll %+v: go %v, as %v", u, gerr, aerr)
		}
		for _, o := range []outcome{g, a} {
			if len(o.State) != 32 || strings.Trim(string(o.State), "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != "" {
				t.Fatalf("enroll %+v: state %q is not 160 bits of base32", u, o.State)
			}
		}
		for _, o := range []outcome{g, a} {
			if o.Secret != string(o.State) {
				t.Fatalf("enroll %+v: secret %q is not the state %q", u, o.Secret, o.State)
			}
		}
		g.URI = strings.Replace(g.URI, "secret="+string(g.State), "secret="+string(a.State), 1)
		g.Secret = a.Secret
		enrolled = append(enrolled, string(g.State), string(a.State))
		g.State = a.State
		if !reflect.DeepEqual(g, a) {
			t.Errorf("enroll %+v:\n go %+v\n as %+v", u, g, a)
		}
	}

	states := append(enrolled,
		"JBSWY3DPEHPK3PXP", "jbswy3dpehpk3pxp", "JBSWY3DPEHPK3PXP====", " JBSWY3DPEHPK3PXP\t\n", "\u00a0JBSWY3DPEHPK3PXP\u3000",
		"JBSWY3DP\nEHPK3PXP", "JBSWY3DP\r\nEHPK3PXP", "JBSW Y3DP EHPK 3PXP", "JBSWY3DPEHPK3PX", "JBSWY3DPEHPK3P", "JBSWY3DPEHPK3",
		"JBSWY3DPEHPK", "JBSWY3DPEH", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "GEZDGNBVGY3TQOJQ====", "AB======", "ABC=====",
		"A", "AB", "ABCD", "ABCDE", "ABCDEFG", "", "=", "========", "AB=CD", "JBSWY3DPEHPK3PX1", "JBSWY3DPEHPK3PX8",
		"jbswy3dpehpk3pxı", "JBSWY3DPEHPK3PXſ", "\xff\xfeJBSWY3DP", "JBSWY3DPEHPK3PXP\xff", "ÉÉÉÉÉÉÉÉ", "JBSWY3DPEHPK3PXP\n=======")
	times := []time.Time{
		// The epoch's first nanosecond: a request's Now of 0 is the host's clock.
		time.Unix(0, 1), time.Unix(10, 0), time.Unix(29, 999999999), time.Unix(30, 0), time.Unix(59, 0), time.Unix(60, 0),
		time.Unix(-1, 0), time.Unix(-31, 5), time.Unix(1111111109, 0), time.Unix(1234567890, 0), time.Unix(1700000000, 123456789),
		time.Unix(2000000000, 0), time.Unix(20000000000, 0),
	}
	wrong := []string{"000000", "123456", "999999", "12345", "1234567", "", "abcdef", "12345é", "１２３４５６", "12 345", "-12345"}
	calls, accepted := 0, 0
	for _, st := range states {
		for _, now := range times {
			codes := append([]string(nil), wrong...)
			for off := -2; off <= 2; off++ {
				if c, err := pqtotp.GenerateCodeCustom(st, now.Add(time.Duration(off)*30*time.Second),
					pqtotp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}); err == nil {
					codes = append(codes, c)
				}
			}
			for _, code := range codes {
				in := abi.TwoFactorRequest{Now: now.UnixNano(), Email: "user@example.com", ServiceName: "Gatehouse", UserID: "u1", State: []byte(st), Code: code}
				for _, hook := range []string{abi.HookTwoFactorActivate, abi.HookTwoFactorVerify} {
					g, gerr := call2FA(ctx, goM, hook, in)
					a, aerr := call2FA(ctx, asM, hook, in)
					calls++
					if a.Accepted {
						accepted++
					}
					if !reflect.DeepEqual(g, a) || errString(gerr, p) != errString(aerr, p) {
						t.Errorf("%s state %q at %v code %q:\n go %+v %v\n as %+v %v", hook, st, now.UnixNano(), code, g, gerr, a, aerr)
					}
				}
			}
		}
	}
	t.Logf("%d calls each (%d accepted), identical answers", calls, accepted)
	if accepted == 0 {
		t.Fatal("no call accepted a code: the table tests nothing")
	}
}

// emailOTPState encodes a state of twofactor.email-otp as the Go method does (field 1 the
// address, 2 the code, 3 the expiry in Unix nanoseconds, 4 the tries).
func emailOTPState(email, code string, expires int64, tries uint64) []byte {
	var e abi.Encoder
	e.String(1, email)
	e.String(2, code)
	e.Int(3, expires)
	e.Uint(4, tries)
	return e.Bytes()
}

// sentCode checks an outcome that sends a code (enroll, challenge): one message to `to` with
// the template, a fresh 6-digit code in Code, ExpiresMinutes 10, and the state of that code
// expiring 10 minutes after now with no tries. It returns the outcome with the code replaced
// by "<code>", so the Go and AS outcomes can be compared.
func sentCode(t *testing.T, who string, o outcome, template, to string, now time.Time) outcome {
	t.Helper()
	if len(o.Messages) != 1 {
		t.Fatalf("%s: %d messages", who, len(o.Messages))
	}
	m := o.Messages[0]
	vars := sdktest.Pairs(m.Vars)
	code := vars["Code"]
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		t.Fatalf("%s: code %q", who, code)
	}
	want := emailOTPState(to, code, now.Add(10*time.Minute).UnixNano(), 0)
	if !bytes.Equal(o.State, want) {
		t.Fatalf("%s: state %x, want %x", who, o.State, want)
	}
	if m.Template != template || m.To != to || vars["ExpiresMinutes"] != "10" || len(vars) != 2 || len(m.Vars) != 4 {
		t.Fatalf("%s: message %+v", who, m)
	}
	o.State = nil
	o.Messages = []abi.Message{{Template: m.Template, To: m.To, Vars: []string{"Code", "<code>", "ExpiresMinutes", "10"}}}
	return o
}

func TestEmailOTPIdentical(t *testing.T) {
	// Corrupt states fail calls: keep the host's breaker from failing the calls after them fast.
	p := loadPair(t, "email-otp", func(c *host.Config) { c.BreakerThreshold = 1 << 30 })
	goM, asM := twoFactorPair(t, p)
	ctx := context.Background()
	now := time.Unix(1700000000, 123456789)
	addresses := []string{"user@example.com", "Jöns.Ünïcödé@example.org", "a+b@[127.0.0.1]", "x"}

	// enroll: with each address, and without one.
	for _, addr := range append(addresses, "") {
		in := abi.TwoFactorRequest{Now: now.UnixNano(), Email: "account@example.com", ServiceName: "Gatehouse", UserID: "u1", Params: []string{"email", addr}}
		if addr == "" {
			in.Params = nil
		}
		g, gerr := call2FA(ctx, goM, abi.HookTwoFactorEnroll, in)
		a, aerr := call2FA(ctx, asM, abi.HookTwoFactorEnroll, in)
		if errString(gerr, p) != errString(aerr, p) {
			t.Fatalf("enroll %q: go %v, as %v", addr, gerr, aerr)
		}
		if addr != "" {
			g = sentCode(t, "go enroll", g, "email-otp-setup", addr, now)
			a = sentCode(t, "as enroll", a, "email-otp-setup", addr, now)
		}
		if !reflect.DeepEqual(g, a) {
			t.Errorf("enroll %q:\n go %+v\n as %+v", addr, g, a)
		}
	}

	// States: pending codes with each count of tries, expired, used up, corrupt.
	exp := now.Add(10 * time.Minute).UnixNano()
	states := [][]byte{nil, {}, {0xff}, {0x0a, 0x02, 0xc3, 0x28}, {0x08}, {0x0b, 0x00}, {0x0a, 0x05, 'a'},
		emailOTPState("", "123456", exp, 0), emailOTPState("user@example.com", "", 0, 0), emailOTPState("user@example.com", "", 0, 5),
		emailOTPState("user@example.com", "123456", now.UnixNano(), 0), emailOTPState("user@example.com", "123456", now.UnixNano()+1, 0),
		emailOTPState("user@example.com", "123456", -1, 0), emailOTPState("user@example.com", "123456", 1<<62, 0),
		emailOTPState("user@example.com", "123456", exp, 1<<63), emailOTPState("user@example.com", "123456", exp, 1<<64-1),
		emailOTPState("user@example.com", "12345é", exp, 0),
		append(emailOTPState("user@example.com", "123456", exp, 0), 0x2a, 0x01, 'z', 0x35, 1, 2, 3, 4), // unknown fields 5, 6
		append(emailOTPState("user@example.com", "123456", exp, 0), 0x12, 0x01, 0xff),                  // a second code, invalid UTF-8
		append(emailOTPState("user@example.com", "123456", exp, 0), 0x0a, 0x00),                        // a second, empty address
	}
	for _, addr := range addresses {
		for tries := uint64(0); tries <= 6; tries++ {
			states = append(states, emailOTPState(addr, "042042", exp, tries))
		}
	}
	codes := []string{"042042", "123456", "000000", "42042", "0420420", "", "12345é", "04204２"}
	// The last is the epoch's first nanosecond: a request's Now of 0 is the host's clock.
	times := []time.Time{now, now.Add(10*time.Minute - 1), now.Add(10 * time.Minute), now.Add(time.Hour), time.Unix(0, 1)}
	calls, accepted := 0, 0
	for _, st := range states {
		for _, at := range times {
			// challenge: a new code for the state's address.
			in := abi.TwoFactorRequest{Now: at.UnixNano(), Email: "account@example.com", UserID: "u1", State: st}
			g, gerr := call2FA(ctx, goM, abi.HookTwoFactorChallenge, in)
			a, aerr := call2FA(ctx, asM, abi.HookTwoFactorChallenge, in)
			if errString(gerr, p) != errString(aerr, p) {
				t.Fatalf("challenge state %x: go %v, as %v", st, gerr, aerr)
			}
			if gerr == nil {
				var s struct{ email string }
				d := abi.NewDecoder(st)
				for d.Next() {
					if d.Field() == 1 {
						s.email = d.String()
					}
				}
				g = sentCode(t, "go challenge", g, "email-otp-challenge", s.email, at)
				a = sentCode(t, "as challenge", a, "email-otp-challenge", s.email, at)
			}
			if !reflect.DeepEqual(g, a) {
				t.Errorf("challenge state %x:\n go %+v\n as %+v", st, g, a)
			}
			for _, code := range codes {
				in.Code = code
				for _, hook := range []string{abi.HookTwoFactorActivate, abi.HookTwoFactorVerify} {
					g, gerr := call2FA(ctx, goM, hook, in)
					a, aerr := call2FA(ctx, asM, hook, in)
					calls++
					if a.Accepted {
						accepted++
					}
					if !reflect.DeepEqual(g, a) || errString(gerr, p) != errString(aerr, p) {
						t.Errorf("%s state %x at %d code %q:\n go %+v %v\n as %+v %v", hook, st, at.UnixNano(), code, g, gerr, a, aerr)
					}
				}
			}
		}
	}
	t.Logf("%d calls each (%d accepted), identical answers", calls, accepted)
	if accepted == 0 {
		t.Fatal("no call accepted a code: the table tests nothing")
	}
}

// Every first-party plugin the binary embeds as AssemblyScript is the committed module.
func TestEmbeddedASModulesAreTheCommittedOnes(t *testing.T) {
	for _, name := range plugins.AssemblyScript {
		want, err := os.ReadFile(filepath.Join("..", "..", "plugins", name, "as", name+".wasm"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := plugins.Wasm(name)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: the embedded module is not plugins/%s/as/%s.wasm (%v)", name, name, name, err)
		}
	}
}

// mailCases are the messages both implementations of a mailer deliver: plain and multipart,
// long and unicode subjects and names, every line-end form and quoted-printable edge, odd
// message ids, and addresses the composer refuses.
func mailCases() []abi.DeliverRequest {
	long := strings.Repeat("0123456789", 9)
	from := "Gatehouse <gatehouse@example.com>"
	to := []string{"user@example.com"}
	var ms []abi.DeliverRequest
	add := func(id, from string, to []string, subject, text, html string) {
		ms = append(ms, abi.DeliverRequest{MessageID: id, From: from, To: to, Subject: subject, Text: text, HTML: html})
	}
	add("m1", from, to, "Your code", "Your code is 123456.\nIt expires in 10 minutes.\n", "")
	add("m2", from, to, "Your code", "Text part\r\n", "<p>HTML part</p>\n")
	add("m3", "gatehouse@example.com", []string{"a@example.com", "B <b@example.com>", "<c@example.com>", `"Q \"x\" \\ y" <d@example.com>`},
		"Bienvenue, Jöns Ünïcödé — votre code de connexion est prêt à être utilisé aujourd'hui même", "é\n", "<b>é</b>")
	add("m4", "Jöns Ünïcödé <j@example.org>", []string{"Ünï <u@example.org>", "  spaced@example.org  "},
		"Line\r\nbreaks\n\n and   spaces\u00a0here\u3000too", "", "")
	add("m5", from, to, "=?utf-8?q?already?= _under_ score? equals= tab\there", "a=b\tc \nd\t\n", "")
	add("m6", from, to, long, long+long+"\n"+long[:75]+"\n"+long[:76]+"\n"+long[:77]+"\n"+strings.Repeat("é", 40)+"\n", "")
	add("m7", from, to, "x", "trailing space \ntrailing tab\t\nlone\rcr\nlone\n\nlf\r\r\n\r\nend  ", "")
	add("m8", from, to, "x", strings.Repeat("a", 74)+"= b"+strings.Repeat(" ", 80)+"\n"+strings.Repeat("=", 30), "")
	add("m9", from, to, "x", "ctrl \x00\x01\x7f bytes and emoji 😀 and \u2028 separators", "")
	add("id.with.dots", from, to, "x", "y", "")
	add(".leading-dot", from, to, "x", "y", "")
	add("trailing-dot.", from, to, "x", "y", "")
	add("odd/chars?#!{}~id", from, to, "x", "y", "z")
	add("ünïcödé-id", from, to, "x", "y", "")
	add(strings.Repeat("k", 129), from, to, "x", "y", "")
	add("", from, to, "x", "y", "")
	add("m10", from, nil, "x", "y", "")
	add("m11", "not-an-address", to, "x", "y", "")
	add("m12", from, []string{"@example.com"}, "x", "y", "")
	add("m13", from, []string{"user@"}, "x", "y", "")
	add("m14", from, []string{"a b@example.com"}, "x", "y", "")
	add("m15", from, []string{"Name <bad>"}, "x", "y", "")
	add("m16", from, []string{">"}, "x", "y", "")
	add("m17", from, []string{"a@b>"}, "x", "y", "")
	add("m18", from, []string{strings.Repeat("l", 310) + "@example.com"}, "x", "y", "")
	add("m19", "Bad\rName <x@example.com>", to, "x", "y", "")
	add("m20", from, []string{"ok@example.com", "Ünï\u00a0\"q\" <bad address@x>"}, "x", "y", "")
	add("m21", from, []string{"tab\there@example.com"}, "x", "y", "")
	add("m22", "<x@example.com>", []string{"a@example.com, b@example.com"}, "x", "y", "")
	return ms
}

// mailTimes are the clocks the messages are composed at (the Date header).
var mailTimes = []time.Time{
	time.Unix(1700000000, 123456789), time.Unix(0, 0), time.Unix(-1, 0), time.Unix(951782400, 0), // 2000-02-29
	time.Unix(1709164800, 0), time.Unix(-2208988800, 0), time.Unix(9000000000, 999999999), // 1900-01-01, 2255
}

// mailerPair loads a mailer pair with the host's clock set by *now and cfg applied.
func mailerPair(t *testing.T, name string, now *time.Time, cfg func(i int, c *host.Config)) (*pair, *host.Mailer, *host.Mailer) {
	t.Helper()
	i := 0
	p := loadPair(t, name, func(c *host.Config) {
		c.Clock = func() time.Time { return *now }
		c.BreakerThreshold = 1 << 30
		cfg(i, c)
		i++
	})
	goM, err := p.goHost.Mailer(p.id)
	if err != nil {
		t.Fatal(err)
	}
	asM, err := p.asHost.Mailer(p.id)
	if err != nil {
		t.Fatal(err)
	}
	return p, goM, asM
}

// mailErr is a delivery's error without the plugin's file name.
func mailErr(err error, p *pair) string {
	var r *host.Refused
	if errors.As(err, &r) {
		return "refused " + strings.Join(r.Codes, ",") + ": " + strings.Join(r.Reasons, " | ")
	}
	return errString(err, p)
}

func TestMailerOutboxIdentical(t *testing.T) {
	now := mailTimes[0]
	dirs := [2]string{t.TempDir(), t.TempDir()}
	p, goM, asM := mailerPair(t, "mailer-outbox", &now, func(i int, c *host.Config) { c.OutboxDir = dirs[i] })
	ctx := context.Background()
	written, refused := 0, 0
	seen := map[string]bool{}
	for _, at := range mailTimes {
		now = at
		for _, m := range mailCases() {
			gerr := goM.Deliver(ctx, m)
			aerr := asM.Deliver(ctx, m)
			if mailErr(gerr, p) != mailErr(aerr, p) {
				t.Errorf("deliver %q at %v:\n go %v\n as %v", m.MessageID, at.Unix(), mailErr(gerr, p), mailErr(aerr, p))
			}
			if gerr != nil {
				refused++
				seen[mailErr(gerr, p)] = true
			}
			g, _ := os.ReadFile(filepath.Join(dirs[0], m.MessageID+".eml"))
			a, _ := os.ReadFile(filepath.Join(dirs[1], m.MessageID+".eml"))
			if !bytes.Equal(g, a) {
				t.Errorf("deliver %q at %v: the files differ:\n go %q\n as %q", m.MessageID, at.Unix(), g, a)
			}
			if len(g) > 0 {
				written++
			}
			_ = os.Remove(filepath.Join(dirs[0], m.MessageID+".eml"))
			_ = os.Remove(filepath.Join(dirs[1], m.MessageID+".eml"))
		}
	}
	t.Logf("%d files written identically, %d deliveries refused identically:", written, refused)
	for e := range seen {
		t.Log("  " + e)
	}
	if written == 0 {
		t.Fatal("nothing written: the table tests nothing")
	}
}

func TestMailerSMTPIdentical(t *testing.T) {
	now := mailTimes[0]
	relays := [2]*sdktest.SMTPServer{sdktest.NewSMTPServer(t), sdktest.NewSMTPServer(t)}
	p, goM, asM := mailerPair(t, "mailer-smtp", &now, func(i int, c *host.Config) {
		c.SMTP = host.SMTPConfig{Addr: relays[i].Addr, StartTLS: "never", Timeout: 5 * time.Second}
	})
	ctx := context.Background()
	sent, refused := 0, 0
	seen := map[string]bool{}
	deliver := func(m abi.DeliverRequest, what string) {
		t.Helper()
		before := [2]int{len(relays[0].Messages()), len(relays[1].Messages())}
		gerr := goM.Deliver(ctx, m)
		aerr := asM.Deliver(ctx, m)
		if mailErr(gerr, p) != mailErr(aerr, p) {
			t.Errorf("%s %q at %v:\n go %v\n as %v", what, m.MessageID, now.Unix(), mailErr(gerr, p), mailErr(aerr, p))
		}
		if gerr != nil {
			refused++
			seen[mailErr(gerr, p)] = true
		}
		g, a := relays[0].Messages()[before[0]:], relays[1].Messages()[before[1]:]
		if !reflect.DeepEqual(g, a) {
			t.Errorf("%s %q at %v: the relays got different mail:\n go %q\n as %q", what, m.MessageID, now.Unix(), g, a)
		}
		sent += len(g)
	}
	for _, at := range mailTimes {
		now = at
		for _, m := range mailCases() {
			deliver(m, "deliver")
		}
	}
	// The relay refusing (5xx: permanent) or deferring (4xx: temporary, retried) each step.
	now = mailTimes[0]
	m := mailCases()[1]
	for _, step := range []string{"MAIL", "RCPT", "DATA"} {
		for _, reply := range []string{"550 5.7.1 refused here", "451 4.3.0 try again later", "554 no"} {
			relays[0].Answer(step, reply)
			relays[1].Answer(step, reply)
			deliver(m, step+" "+reply)
		}
	}
	t.Logf("%d messages relayed identically, %d deliveries refused or deferred identically:", sent, refused)
	for e := range seen {
		t.Log("  " + e)
	}
	if sent == 0 {
		t.Fatal("nothing relayed: the table tests nothing")
	}
}
