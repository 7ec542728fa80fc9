package host_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/gatehouse/gatehouse/host"
	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

type testRequestKey struct{}

// requestIDHost is a host whose Config.RequestID reads testRequestKey, logging into the buffer.
func requestIDHost(t *testing.T) (*host.Host, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	h := newHost(t, host.Config{
		CacheDir:    sdktest.Config(t).CacheDir,
		CallTimeout: sdktest.Config(t).CallTimeout,
		Logger:      hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Debug}),
		RequestID: func(ctx context.Context) string {
			id, _ := ctx.Value(testRequestKey{}).(string)
			return id
		},
	})
	return h, logs
}

// logLine is the log line that holds msg, "" for none.
func logLine(logs, msg string) string {
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, msg) {
			return l
		}
	}
	return ""
}

func TestRequestIDReachesPasswordPolicy(t *testing.T) {
	wasm, err := os.ReadFile(sdktest.Build(t, "testdata/password-echo"))
	if err != nil {
		t.Fatal(err)
	}
	h, logs := requestIDHost(t)
	mustLoad(t, h, "password-echo.wasm", wasm)
	pp := policy(t, h, "password.echo")

	ctx := context.WithValue(context.Background(), testRequestKey{}, "req-pw-1")
	v, err := pp.Check(ctx, abi.PasswordCheckRequest{Password: "pw"})
	if err != nil || len(v) != 1 || v[0].Message != "request=req-pw-1" {
		t.Fatalf("the policy got another request id: %+v %v", v, err)
	}
	if l := logLine(logs.String(), "echo: checked a password"); !strings.Contains(l, "request_id=req-pw-1") {
		t.Fatalf("the plugin's log line does not name the request: %q\n%s", l, logs)
	}

	// A request id given in the input wins over the context's.
	v, err = pp.Check(ctx, abi.PasswordCheckRequest{Password: "pw", RequestID: "given-2"})
	if err != nil || len(v) != 1 || v[0].Message != "request=given-2" {
		t.Fatalf("given id: %+v %v", v, err)
	}
	// Outside a request: no id, and no request_id in the log line.
	before := len(logs.String())
	v, err = pp.Check(context.Background(), abi.PasswordCheckRequest{Password: "pw"})
	if err != nil || len(v) != 1 || v[0].Message != "request=" {
		t.Fatalf("no request: %+v %v", v, err)
	}
	if l := logLine(logs.String()[before:], "echo: checked a password"); l == "" || strings.Contains(l, "request_id") {
		t.Fatalf("outside a request: %q", l)
	}
}

func TestRequestIDReachesTwoFactor(t *testing.T) {
	h, logs := requestIDHost(t)
	mustLoad(t, h, "twofactor-chaos.wasm", chaos2FA(t))
	m := twoFactor(t, h, "twofactor.chaos")

	ctx := context.WithValue(context.Background(), testRequestKey{}, "req-2fa-1")
	o, _, err := m.Call(ctx, abi.HookTwoFactorEnroll, abi.TwoFactorRequest{UserID: "7", Params: []string{"mode", "echo"}})
	if err != nil || sdktest.Pairs(o.Public)["request"] != "req-2fa-1" {
		t.Fatalf("the method got another request id: %+v %v", o, err)
	}
	if l := logLine(logs.String(), "chaos: echo"); !strings.Contains(l, "request_id=req-2fa-1") {
		t.Fatalf("the plugin's log line does not name the request: %q\n%s", l, logs)
	}
	// A failed call's log line names the request too.
	if _, _, err := m.Call(ctx, abi.HookTwoFactorVerify, abi.TwoFactorRequest{State: []byte("st"), Code: "panic"}); err == nil {
		t.Fatal("panic: no error")
	}
	if l := logLine(logs.String(), "plugin call failed"); !strings.Contains(l, "request_id=req-2fa-1") {
		t.Fatalf("the failure's log line does not name the request: %q", l)
	}
}
