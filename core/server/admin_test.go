package server

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/valyala/fasthttp"
)

// The admin socket is never reachable by others, not even for an instant: a watcher that
// looks at the path while the socket is made again and again never sees it with a mode other
// than 0600 (binding then chmod-ing left it at the umask's mode until the chmod). The umask is
// cleared so that a socket bound in place would be 0777.
func TestAdminSocketNeverOpenToOthers(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, AdminSocket)
	var stop atomic.Bool
	var seen, open atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			if fi, err := os.Lstat(path); err == nil {
				seen.Add(1)
				if fi.Mode().Perm()&0o077 != 0 {
					open.Add(1)
				}
			}
		}
	}()
	for range 300 {
		ln, err := listenPrivateUnix(path)
		if err != nil {
			t.Fatal(err)
		}
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatalf("dial the socket at its path: %v", err)
		}
		c.Close()
		ln.Close()
		os.Remove(path)
	}
	stop.Store(true)
	wg.Wait()
	if open.Load() > 0 {
		t.Fatalf("the socket was seen %d times (of %d) with a mode open to others", open.Load(), seen.Load())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("left behind: %v", entries)
	}
}

// The runtime's profiles are served on the admin socket (owner only), never on the public
// listener.
func TestAdminSocketProfiles(t *testing.T) {
	base, srv := startServerWith(t, nil)
	c, err := DialAdmin(srv.cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want func([]byte) bool
	}{
		{"/debug/pprof/heap", func(b []byte) bool { return len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b }}, // gzipped protobuf
		{"/debug/pprof/", func(b []byte) bool { return bytes.Contains(b, []byte("goroutine")) }},
		{"/debug/pprof/goroutine?debug=1", func(b []byte) bool { return bytes.Contains(b, []byte("core/server")) }},
	}
	for _, tt := range tests {
		resp, err := c.http.Get("http://admin" + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !tt.want(b) {
			t.Errorf("GET %s through the admin socket: %d, %d bytes %.60q", tt.path, resp.StatusCode, len(b), b)
		}
	}
	pub := client{tb: t, base: base, c: &fasthttp.Client{}}
	if code, body := pub.do("GET", "/debug/pprof/heap", "", ""); code != http.StatusNotFound {
		t.Errorf("GET /debug/pprof/heap on the public listener: %d %s", code, body)
	}
}
