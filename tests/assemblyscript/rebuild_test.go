package assemblyscript_test

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// TestCommittedModulesRebuildByteForByte rebuilds every committed AssemblyScript module from
// its source with the toolchain its package-lock.json pins (npm ci from the npm registry) and
// fails if a byte differs. It needs node and npm; -short skips it.
func TestCommittedModulesRebuildByteForByte(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no npm ci")
	}
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm not installed")
	}
	cmd := exec.Command("sh", filepath.Join("..", "..", "sdk", "assemblyscript", "build.sh"), "--check")
	out, err := cmd.CombinedOutput()
	t.Logf("build.sh --check:\n%s", out)
	if err != nil {
		t.Fatalf("build.sh --check: %v", err)
	}
}
