package host_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/host"
	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

func TestValidateConfig(t *testing.T) {
	const nist = `{"type":"object","properties":{"minLength":{"type":"integer","minimum":8,"maximum":64}},"additionalProperties":false}`
	const mailer = `{"type":"object","required":["connection"],"properties":{"connection":{"type":"string","minLength":1,"maxLength":8},"path":{"type":"string","pattern":"^/"},"mode":{"enum":["a","b"]}}}`
	for _, c := range []struct {
		schema, config, err string
	}{
		{nist, ``, ""},
		{nist, `{}`, ""},
		{nist, `{"minLength": 12}`, ""},
		{nist, `{"minLength": 5}`, `config field "/minLength": must be at least 8`},
		{nist, `{"minLength": 65}`, `config field "/minLength": must be at most 64`},
		{nist, `{"minLength": 12.5}`, `config field "/minLength": must be of type integer, not number`},
		{nist, `{"minLength": "12"}`, `config field "/minLength": must be of type integer, not string`},
		{nist, `{"minLenght": 12}`, `config field "/minLenght": is not a setting of this plugin (it takes: minLength)`},
		{nist, `[]`, `config: must be of type object, not array`},
		{mailer, `{"connection":"api","path":"/x","extra":1}`, ""},
		{mailer, `{"path":"/x"}`, `config field "/connection": is required`},
		{mailer, `{"connection":""}`, `config field "/connection": must have at least 1 characters`},
		{mailer, `{"connection":"123456789"}`, `config field "/connection": must have at most 8 characters`},
		{mailer, `{"connection":"a","path":"x"}`, `config field "/path": must match "^/"`},
		{mailer, `{"connection":"a","mode":"c"}`, `config field "/mode": must be one of ["a","b"]`},
		{"", `{"anything": true}`, ""},
	} {
		err := host.ValidateConfig(c.schema, []byte(c.config))
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != c.err {
			t.Errorf("%s against %s: %q, want %q", c.config, c.schema, got, c.err)
		}
		var ce *host.ConfigError
		if c.err != "" && strings.HasPrefix(c.err, "config field") && !errors.As(err, &ce) {
			t.Errorf("%s: not a *ConfigError: %v", c.config, err)
		}
	}
}

// TestLoadValidatesConfig: a configuration its schema refuses stops the plugin's load, naming
// the field, before the plugin sees it; one it accepts reaches configure.
func TestLoadValidatesConfig(t *testing.T) {
	wasm, err := os.ReadFile(sdktest.Build(t, "../examples/nist-policy"))
	if err != nil {
		t.Fatal(err)
	}
	h := newHost(t, host.Config{PluginConfig: map[string][]byte{"password.nist": []byte(`{"minLength": 5}`)}})
	err = h.Load(t.Context(), "nist", wasm)
	if err == nil || !strings.Contains(err.Error(), `plugin[password.nist]`) || !strings.Contains(err.Error(), `config field "/minLength": must be at least 8`) {
		t.Fatalf("nist with minLength 5: %v", err)
	}
	h = newHost(t, host.Config{PluginConfig: map[string][]byte{"password.nist": []byte(`{"minLength": 12}`)}})
	mustLoad(t, h, "nist", wasm)
	v, err := policy(t, h, "password.nist").Check(t.Context(), abi.PasswordCheckRequest{Password: "elevenchars"})
	if err != nil || v == nil {
		t.Fatalf("minLength 12 reached the plugin: an 11-character password %+v %v", v, err)
	}
}
