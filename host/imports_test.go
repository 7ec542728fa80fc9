package host_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports enforces the layering of DESIGN.md: nothing under host/ or
// sdk/ depends on core/, the guest side of sdk/ does not depend on host/,
// and nothing under sdk/ pulls in the server's libraries.
func TestImports(t *testing.T) {
	const mod = "github.com/gatehouse/gatehouse/"
	// The SDK is a module of its own (sdk/go.mod), named by import path: a relative pattern
	// would name the main module's (absent) folder.
	const sdk = mod + "sdk"
	forbidden := []struct {
		pkgs   string // a package pattern
		dep    string // a forbidden dependency prefix
		reason string
	}{
		{"./...", mod + "core", "the host is a library core uses, never the reverse"},
		{sdk + "/...", mod + "core", "plugins never see the server"},
		{sdk + "/...", "github.com/valyala/fasthttp", "the SDK is linked into plugins: no HTTP server"},
		{sdk + "/...", "github.com/dgraph-io/badger", "the SDK is linked into plugins: no store"},
		{sdk, mod + "host", "the guest SDK shares only sdk/abi with the host"},
		{sdk + "/abi", mod + "host", "sdk/abi is the leaf both sides import"},
		{sdk + "/password", mod + "host", "the guest SDK shares only sdk/abi with the host"},
		{sdk + "/twofactor", mod + "host", "the guest SDK shares only sdk/abi with the host"},
		{sdk + "/mailer", mod + "host", "the guest SDK shares only sdk/abi with the host"},
		{sdk + "/abi", "github.com/", "sdk/abi imports nothing outside the standard library"},
	}
	for _, goos := range []string{"", "wasip1"} {
		for _, f := range forbidden {
			if goos == "wasip1" && strings.HasPrefix(f.pkgs, "./") {
				continue // the host does not build for wasip1
			}
			cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", f.pkgs)
			if goos != "" {
				cmd.Env = append(cmd.Environ(), "GOOS="+goos, "GOARCH=wasm")
			}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("go list %s: %v\n%s", f.pkgs, err, out)
			}
			for _, dep := range strings.Fields(string(out)) {
				if dep == mod+"sdk/abi" && f.pkgs == sdk+"/abi" {
					continue // itself
				}
				if strings.HasPrefix(dep, f.dep) {
					t.Errorf("%s (GOOS=%s) depends on %s: %s", f.pkgs, goos, dep, f.reason)
				}
			}
		}
	}
}
