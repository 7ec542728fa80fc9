// Package buildinfo says which build of Gatehouse is running: its version, the Go toolchain
// that built it and the source revision. `gatehouse version`, the gatehouse_build_info metric
// and the OpenAPI document read it.
package buildinfo

import (
	"runtime/debug"
	"sync"
)

// Base is the version of this source tree, used when the build sets none (see Get).
const Base = "0.1.0"

// version and revision are set at link time (the Makefile does):
//
//	go build -ldflags "-X github.com/gatehouse/gatehouse/core/buildinfo.version=1.2.3 -X github.com/gatehouse/gatehouse/core/buildinfo.revision=$(git rev-parse HEAD)"
//
// The revision recorded by the go command (-buildvcs) wins over the linked one.
var version, revision string

// Info describes one build.
type Info struct {
	// Version is the -ldflags version, else the module version of a `go install`ed build,
	// else Base.
	Version string
	// GoVersion is the Go toolchain that built the binary, such as "go1.26.0".
	GoVersion string
	// Revision is the VCS commit the binary was built from ("unknown" when the build did not
	// record one), with "-dirty" when the work tree had uncommitted changes.
	Revision string
}

var (
	once sync.Once
	info Info
)

// Get returns the running binary's build information; it is computed once.
func Get() Info {
	once.Do(func() { info = read(version, revision, debug.ReadBuildInfo) })
	return info
}

// read derives Info from the link-time version and the embedded build information.
func read(linked, linkedRevision string, buildInfo func() (*debug.BuildInfo, bool)) Info {
	out := Info{Version: linked, GoVersion: "unknown", Revision: "unknown"}
	if linkedRevision != "" {
		out.Revision = linkedRevision
	}
	bi, ok := buildInfo()
	if !ok {
		if out.Version == "" {
			out.Version = Base
		}
		return out
	}
	out.GoVersion = bi.GoVersion
	if out.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		out.Version = bi.Main.Version
	}
	if out.Version == "" {
		out.Version = Base
	}
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			out.Revision = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && out.Revision != "unknown" {
		out.Revision += "-dirty"
	}
	return out
}
