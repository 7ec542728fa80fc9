package host_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/host"
)

func TestInspect(t *testing.T) {
	tests := []struct {
		fixture  string
		loadable bool
		id       string
		caps     []string
		problem  string
	}{
		{"ok", true, "password.wat-ok", nil, ""},
		{"cap-crypto", true, "password.cap-crypto", []string{"crypto"}, ""},
		{"abi-v2", false, "", nil, "unsupported ABI version 2"},
		{"cap-undeclared", false, "password.cap-undeclared", []string{"crypto"}, "does not declare"},
		{"cap-http", true, "password.cap-http", []string{"http"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			r, err := host.Inspect(context.Background(), fixture(t, tt.fixture))
			if err != nil {
				t.Fatal(err)
			}
			if r.Loadable != tt.loadable || !strings.Contains(r.Problem, tt.problem) || !slices.Equal(r.Capabilities, tt.caps) {
				t.Fatalf("report %+v", r)
			}
			if tt.id != "" && (r.Descriptor == nil || r.Descriptor.ID != tt.id) {
				t.Fatalf("descriptor %+v", r.Descriptor)
			}
			if len(r.SHA256) != 64 || r.Size == 0 || len(r.Exports) == 0 {
				t.Fatalf("report %+v", r)
			}
		})
	}
}
