package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPluginTest runs `gatehouse plugin test` on every first-party plugin,
// every example and every fixture of host/testdata: the plugins pass, and
// each fault fixture fails with a line that says why.
func TestPluginTest(t *testing.T) {
	root := filepath.Join("..", "..")
	type want struct {
		pass bool
		// line is a substring of the first FAIL line (for a fixture that fails).
		line string
	}
	cases := map[string]want{
		"host/testdata/ok.wasm":                {pass: true},
		"host/testdata/entropy.wasm":           {pass: true},
		"host/testdata/cap-crypto.wasm":        {pass: true},
		"host/testdata/cap-http.wasm":          {pass: true},
		"examples/c-policy/plugin/policy.wasm": {pass: true},

		"host/testdata/abi-minor.wasm":       {line: "FAIL  load: module checks (exports, imports, marker, descriptor): built for ABI v1.99"},
		"host/testdata/abi-v2.wasm":          {line: "unsupported ABI version 2"},
		"host/testdata/bad-descriptor.wasm":  {line: "undecodable descriptor"},
		"host/testdata/cap-undeclared.wasm":  {line: `imports capability "crypto"`},
		"host/testdata/init-trap.wasm":       {line: "function[_initialize] failed"},
		"host/testdata/missing-hook.wasm":    {line: `does not export "gatehouse_password_check"`},
		"host/testdata/no-marker.wasm":       {line: `no "gatehouse_abi_v1" export`},
		"host/testdata/unknown-import.wasm":  {line: `imports unknown module "env"`},
		"host/testdata/wrong-namespace.wasm": {line: "not in its kind's namespace"},
		"host/testdata/wrong-signature.wasm": {line: "signature (i64) -> (i32)"},
		// Chosen by the password's last character: B status bad_input, E a denial
		// without a reason, T a trap, L a loop to the deadline, ...
		"host/testdata/chaos.wasm": {line: `FAIL  password_check: 101 hostile inputs get a verdict: password "Conformance-B"`},
		// G and R misuse the outbox capability, which traps.
		"host/testdata/cap-outbox.wasm": {line: `password "Conformance-G": plugin[password.cap-outbox] hook[password_check] PLUGIN_FAILED: host: write: undecodable request`},
	}
	built, _ := filepath.Glob(filepath.Join(root, "plugins", "wasm", "*.wasm"))
	examples, _ := filepath.Glob(filepath.Join(root, ".cache", "wasm", "examples_*.wasm"))
	if len(built) == 0 || len(examples) == 0 {
		t.Skip("no built plugins: run make plugins")
	}
	for _, p := range append(built, examples...) {
		rel, _ := filepath.Rel(root, p)
		cases[filepath.ToSlash(rel)] = want{pass: true}
	}
	fixtures, _ := filepath.Glob(filepath.Join(root, "host", "testdata", "*.wasm"))
	for _, p := range fixtures {
		if _, ok := cases["host/testdata/"+filepath.Base(p)]; !ok {
			t.Errorf("fixture %s has no expectation here", filepath.Base(p))
		}
	}
	for path, w := range cases {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code := pluginTest([]string{filepath.Join(root, path)}, &stdout, &stderr)
			out := stdout.String()
			var fail string
			for _, line := range strings.Split(out, "\n") {
				if strings.HasPrefix(line, "FAIL") {
					fail = line
					break
				}
			}
			switch {
			case w.pass && code != 0:
				t.Fatalf("exit %d, want 0:\n%s%s", code, out, stderr.String())
			case !w.pass && code != 1:
				t.Fatalf("exit %d, want 1:\n%s%s", code, out, stderr.String())
			case !w.pass && !strings.Contains(fail, w.line):
				t.Fatalf("first FAIL line %q does not say %q:\n%s", fail, w.line, out)
			}
			if !strings.Contains(out, " passed, ") {
				t.Fatalf("no closing count:\n%s", out)
			}
		})
	}
}

func TestPluginTestUsageAndJSON(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := pluginTest(nil, &stdout, &stderr); code != 2 {
		t.Fatalf("no file: exit %d, want 2", code)
	}
	if code := pluginTest([]string{"-config", "{not json", "x.wasm"}, &stdout, &stderr); code != 2 {
		t.Fatalf("bad -config: exit %d, want 2", code)
	}
	stdout.Reset()
	missing := filepath.Join(t.TempDir(), "missing.wasm")
	if code := pluginTest([]string{"-json", missing}, &stdout, &stderr); code != 1 {
		t.Fatalf("missing file: exit %d, want 1", code)
	}
	var reports []struct {
		Path   string
		Checks []struct{ Name, Verdict, Detail string }
	}
	if err := json.Unmarshal(stdout.Bytes(), &reports); err != nil || len(reports) != 1 || reports[0].Checks[0].Verdict != "FAIL" {
		t.Fatalf("json report: %v %s", err, stdout.Bytes())
	}
	if _, err := os.Stat(missing); err == nil {
		t.Fatal("the missing file exists")
	}
}
