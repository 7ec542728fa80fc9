package server

import (
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
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
