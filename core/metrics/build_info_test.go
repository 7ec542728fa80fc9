package metrics

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/core/buildinfo"
)

func TestBuildInfoMetric(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf); err != nil {
		t.Fatal(err)
	}
	b := buildinfo.Get()
	want := fmt.Sprintf(`gatehouse_build_info{goversion=%q,revision=%q,version=%q} 1`, b.GoVersion, b.Revision, b.Version)
	if !strings.Contains(buf.String(), want+"\n") {
		t.Fatalf("/metrics lacks %s", want)
	}
}
