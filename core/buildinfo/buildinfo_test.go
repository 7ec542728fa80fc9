package buildinfo

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestRead(t *testing.T) {
	withSettings := func(main string, settings ...debug.BuildSetting) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			return &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: main}, Settings: settings}, true
		}
	}
	tests := []struct {
		name   string
		linked string
		rev    string
		bi     func() (*debug.BuildInfo, bool)
		want   Info
	}{
		{"no build info", "", "", func() (*debug.BuildInfo, bool) { return nil, false }, Info{Base, "unknown", "unknown"}},
		{"ldflags version wins", "1.2.3", "", withSettings("v9.9.9", debug.BuildSetting{Key: "vcs.revision", Value: "abc"}), Info{"1.2.3", "go1.26.0", "abc"}},
		{"go install version", "", "", withSettings("v0.2.0"), Info{"v0.2.0", "go1.26.0", "unknown"}},
		{"devel build", "", "", withSettings("(devel)", debug.BuildSetting{Key: "vcs.revision", Value: "abc"}), Info{Base, "go1.26.0", "abc"}},
		{"dirty tree", "", "", withSettings("", debug.BuildSetting{Key: "vcs.revision", Value: "abc"}, debug.BuildSetting{Key: "vcs.modified", Value: "true"}), Info{Base, "go1.26.0", "abc-dirty"}},
		{"linked revision without -buildvcs", "", "def", withSettings(""), Info{Base, "go1.26.0", "def"}},
		{"recorded revision wins over the linked one", "", "def", withSettings("", debug.BuildSetting{Key: "vcs.revision", Value: "abc"}), Info{Base, "go1.26.0", "abc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := read(tt.linked, tt.rev, tt.bi); got != tt.want {
				t.Fatalf("read = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestGetIsThisBinary(t *testing.T) {
	if got := Get(); got.GoVersion != runtime.Version() || got.Version == "" {
		t.Fatalf("Get() = %+v, want the Go version %s and a version", got, runtime.Version())
	}
}
