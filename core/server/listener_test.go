package server

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// flakyListener fails Accept with the queued errors, then accepts from a real listener.
type flakyListener struct {
	net.Listener
	errs []error
}

func (f *flakyListener) Accept() (net.Conn, error) {
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		return nil, err
	}
	return f.Listener.Accept()
}

func acceptErr(errno syscall.Errno) error {
	return &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", errno)}
}

func TestLimitListenerAcceptErrors(t *testing.T) {
	tests := []struct {
		name     string
		errs     []error
		wantConn bool
	}{
		{"EMFILE is retried", []error{acceptErr(syscall.EMFILE), acceptErr(syscall.EMFILE), acceptErr(syscall.EMFILE)}, true},
		{"ENFILE is retried", []error{acceptErr(syscall.ENFILE)}, true},
		{"ECONNABORTED is retried", []error{acceptErr(syscall.ECONNABORTED)}, true},
		{"ENOBUFS is retried", []error{acceptErr(syscall.ENOBUFS)}, true},
		{"a closed listener ends Serve", []error{fmt.Errorf("accept: %w", net.ErrClosed)}, false},
		{"EBADF ends Serve", []error{acceptErr(syscall.EBADF)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			real, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer real.Close()
			go func() {
				if c, err := net.Dial("tcp", real.Addr().String()); err == nil {
					defer c.Close()
					var b [1]byte
					_, _ = c.Read(b[:])
				}
			}()
			ln := newLimitListener(&flakyListener{Listener: real, errs: tt.errs}, connLimits{total: 10, perIP: 10}, hclog.NewNullLogger())
			c, err := ln.Accept()
			if tt.wantConn {
				if err != nil {
					t.Fatalf("Accept: %v, want a connection after the retries", err)
				}
				c.Close()
				return
			}
			if err == nil {
				c.Close()
				t.Fatal("Accept returned a connection, want the error")
			}
		})
	}
}

func TestLimitListenerCaps(t *testing.T) {
	proxy := netip.MustParseAddr("127.0.0.1")
	tests := []struct {
		name         string
		limits       connLimits
		dial         int
		wantAdmitted int
		wantRefusal  []byte
	}{
		{"total cap", connLimits{total: 3, perIP: 100, refusing: 8}, 5, 3, refusedTotal},
		{"per-IP cap", connLimits{total: 100, perIP: 2, refusing: 8}, 5, 2, refusedPerIP},
		{"trusted proxies are exempt from the per-IP cap", connLimits{total: 4, perIP: 1, refusing: 8, exempt: func(a netip.Addr) bool { return a == proxy }}, 6, 4, refusedTotal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			real, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ln := newLimitListener(real, tt.limits, hclog.NewNullLogger())
			defer ln.Close()
			admitted := make(chan net.Conn, tt.dial)
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					admitted <- c
				}
			}()
			var clients []net.Conn
			for range tt.dial {
				c, err := net.Dial("tcp", real.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				clients = append(clients, c)
			}
			// The refused clients read the answer in the envelope, then EOF.
			refused := 0
			for _, c := range clients[tt.wantAdmitted:] {
				b := make([]byte, 512)
				n, _ := c.Read(b)
				if string(b[:n]) != string(tt.wantRefusal) {
					t.Errorf("refusal %q, want %q", b[:n], tt.wantRefusal)
				}
				refused++
			}
			if got := ln.Open(); got != tt.wantAdmitted {
				t.Fatalf("open %d, want %d", got, tt.wantAdmitted)
			}
			// Closing an admitted connection gives its place back.
			first := <-admitted
			first.Close()
			first.Close() // twice: counted once
			if got := ln.Open(); got != tt.wantAdmitted-1 {
				t.Fatalf("after a close: open %d, want %d", got, tt.wantAdmitted-1)
			}
			for _, c := range clients {
				c.Close()
			}
			if refused != tt.dial-tt.wantAdmitted {
				t.Fatalf("refused %d", refused)
			}
		})
	}
}

func TestRetryableAccept(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{acceptErr(syscall.EMFILE), true},
		{acceptErr(syscall.ENFILE), true},
		{acceptErr(syscall.EINVAL), false},
		{errors.New("boom"), false},
	} {
		if got := retryableAccept(tt.err); got != tt.want {
			t.Errorf("retryableAccept(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
