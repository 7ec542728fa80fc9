package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPluginWalkthroughOutsideRepository follows the README's "Writing a
// plugin" in an empty folder outside this repository, as a plugin author
// would: go mod init, require the SDK module (replaced by this checkout's
// sdk/, as a published version would be fetched), write the README's plugin,
// build it for wasip1, then `gatehouse plugin inspect` and `plugin test` it.
// It shows the SDK module builds on its own: no fasthttp, Badger or wazero
// in the plugin's module graph.
func TestPluginWalkthroughOutsideRepository(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a plugin with the go tool")
	}
	gotool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool")
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	src := firstGoBlockAfter(string(readme), "## Writing a plugin")
	if src == "" {
		t.Fatal(`README.md: no Go code block under "## Writing a plugin"`)
	}
	sdkDir, err := filepath.Abs(filepath.Join("..", "..", "sdk"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	run := func(env []string, args ...string) string {
		t.Helper()
		cmd := exec.Command(gotool, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), append([]string{"GOFLAGS=", "GOWORK=off"}, env...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run(nil, "mod", "init", "example.com/twelve")
	run(nil, "mod", "edit", "-require=github.com/gatehouse/gatehouse/sdk@v0.0.0-00010101000000-000000000000",
		"-replace=github.com/gatehouse/gatehouse/sdk="+sdkDir)
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	run(nil, "mod", "tidy")
	graph := run(nil, "mod", "graph")
	for _, heavy := range []string{"fasthttp", "badger", "wazero", "github.com/gatehouse/gatehouse "} {
		if strings.Contains(graph, heavy) {
			t.Errorf("the plugin's module graph holds %s:\n%s", heavy, graph)
		}
	}
	run([]string{"GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0"}, "build", "-buildmode=c-shared", "-o", "twelve.wasm", ".")
	wasm := filepath.Join(dir, "twelve.wasm")

	var stdout, stderr bytes.Buffer
	if code := pluginInspect([]string{wasm}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "password.twelve") {
		t.Fatalf("plugin inspect: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	stdout.Reset()
	if code := pluginTest([]string{wasm}, &stdout, &stderr); code != 0 {
		t.Fatalf("plugin test: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	t.Logf("plugin test:\n%s", stdout.String())
}

// firstGoBlockAfter returns the first ```go block of a Markdown text after
// the heading, "" if none.
func firstGoBlockAfter(md, heading string) string {
	_, rest, ok := strings.Cut(md, "\n"+heading+"\n")
	if !ok {
		return ""
	}
	_, rest, ok = strings.Cut(rest, "\n```go\n")
	if !ok {
		return ""
	}
	block, _, ok := strings.Cut(rest, "\n```\n")
	if !ok {
		return ""
	}
	return block + "\n"
}
