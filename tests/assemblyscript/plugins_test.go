package assemblyscript_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/host/conformance"
)

// The committed AssemblyScript plugins, each built from the source beside it by
// sdk/assemblyscript/build.sh (which `build.sh --check` verifies byte for byte).
var committed = []string{
	"examples/as-totp/as-totp.wasm",
}

// TestCommittedPluginsPassConformance runs `gatehouse plugin test`'s kit on every committed
// AssemblyScript plugin: no check may fail.
func TestCommittedPluginsPassConformance(t *testing.T) {
	for _, p := range committed {
		t.Run(p, func(t *testing.T) {
			rep := conformance.RunFile(context.Background(), filepath.Join("..", "..", p), conformance.Options{CacheDir: t.TempDir()})
			var b strings.Builder
			rep.Write(&b)
			t.Log("\n" + b.String())
			if rep.Failed() > 0 {
				t.Fatalf("%d conformance checks failed", rep.Failed())
			}
		})
	}
}
