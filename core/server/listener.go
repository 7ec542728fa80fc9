package server

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
)

// connLimits are the connection caps of the public listener.
type connLimits struct {
	// total caps the open connections; perIP caps those of one TCP peer address.
	total, perIP int
	// exempt reports the peers the per-IP cap does not apply to (the trusted proxies, which
	// carry many clients on their connections).
	exempt func(netip.Addr) bool
	// refusing bounds the refused connections being answered at once (each holds a file
	// descriptor for up to refuseLinger); beyond it a refused connection is just closed.
	refusing int
}

const (
	// acceptBackoffMin and acceptBackoffMax bound the pause after a failed accept.
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
	// refuseLinger is how long a refused connection is given to read its answer.
	refuseLinger = time.Second
	// lingerTime and lingerBytes bound what is read and thrown away, after the answer, from a
	// connection closed on a request error (a body over the limit sent without
	// `Expect: 100-continue`): closing a socket with unread data makes the kernel send a reset,
	// and most clients then report a connection error instead of the 413.
	lingerTime  = 5 * time.Second
	lingerBytes = 16 << 20
)

// limitListener is the public listener: it keeps accepting through temporary errors (EMFILE,
// ENFILE, ENOBUFS... with a backoff, where fasthttp's Serve would return and end the process)
// and caps connections in total and per TCP peer address. A connection over a cap is answered
// in the error envelope (503 over the total, 429 over the per-IP cap) and closed.
type limitListener struct {
	net.Listener
	log    hclog.Logger
	limits connLimits

	mu       sync.Mutex
	open     int
	perIP    map[netip.Addr]int
	refusing chan struct{}
	lastWarn map[string]time.Time
}

func newLimitListener(ln net.Listener, limits connLimits, log hclog.Logger) *limitListener {
	return &limitListener{Listener: ln, log: log, limits: limits, perIP: map[netip.Addr]int{},
		refusing: make(chan struct{}, max(limits.refusing, 1)), lastWarn: map[string]time.Time{}}
}

// retryableAccept reports an accept error that says nothing about the listener itself: out of
// file descriptors or memory, or a connection that died in the backlog.
func retryableAccept(err error) bool {
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
		syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EINTR, syscall.EAGAIN, syscall.EPROTO, syscall.EPERM} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Accept returns the next connection within the caps.
func (l *limitListener) Accept() (net.Conn, error) {
	var delay time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || !retryableAccept(err) {
				return nil, err
			}
			delay = min(max(2*delay, acceptBackoffMin), acceptBackoffMax)
			l.warn("accept", "accepting a connection failed: retrying", "error", err.Error(), "backoff", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		if tc := l.admit(c); tc != nil {
			return tc, nil
		}
	}
}

// warn logs at most once a second per kind, so a flood does not flood the log.
func (l *limitListener) warn(kind, msg string, args ...any) {
	l.mu.Lock()
	now := time.Now()
	quiet := now.Sub(l.lastWarn[kind]) < time.Second
	if !quiet {
		l.lastWarn[kind] = now
	}
	l.mu.Unlock()
	if !quiet {
		l.log.Warn(msg, args...)
	}
}

// peerAddr is the TCP peer's address (IPv4-mapped addresses unmapped).
func peerAddr(c net.Conn) netip.Addr {
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// admit counts c in, or answers and closes it when it is over a cap.
func (l *limitListener) admit(c net.Conn) net.Conn {
	ip := peerAddr(c)
	capped := l.limits.exempt == nil || !l.limits.exempt(ip)
	l.mu.Lock()
	switch {
	case l.open >= l.limits.total:
		l.mu.Unlock()
		l.warn("total", "connection refused: too many open connections", "max", l.limits.total)
		l.refuse(c, refusedTotal)
		return nil
	case capped && l.perIP[ip] >= l.limits.perIP:
		l.mu.Unlock()
		l.warn("perip", "connection refused: too many open connections from one address", "peer", ip.String(), "max", l.limits.perIP)
		l.refuse(c, refusedPerIP)
		return nil
	}
	l.open++
	l.perIP[ip]++
	l.mu.Unlock()
	return &limitedConn{Conn: c, l: l, ip: ip}
}

func (l *limitListener) release(ip netip.Addr) {
	l.mu.Lock()
	l.open--
	if l.perIP[ip]--; l.perIP[ip] <= 0 {
		delete(l.perIP, ip)
	}
	l.mu.Unlock()
}

// Open returns the connections counted in now.
func (l *limitListener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// refusal is the whole HTTP answer to a refused connection, in the error envelope.
func refusal(status int, reason string, retryAfter bool) []byte {
	body := fmt.Sprintf(`{"statusCode":%d,"error":%q,"message":"TOO_MANY_CONNECTIONS"`, status, reason)
	extra := ""
	if retryAfter {
		body += `,"retryAfter":1`
		extra = "Retry-After: 1\r\n"
	}
	body += "}"
	return fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: %d\r\n%sCache-Control: no-store\r\nConnection: close\r\n\r\n%s",
		status, reason, len(body), extra, body)
}

var (
	refusedTotal = refusal(503, "Service Unavailable", false)
	refusedPerIP = refusal(429, "Too many requests", true)
)

// refuse answers c with msg and closes it, in the background while a refusal slot is free
// (else at once: the descriptor matters more than the answer).
func (l *limitListener) refuse(c net.Conn, msg []byte) {
	select {
	case l.refusing <- struct{}{}:
	default:
		c.Close()
		return
	}
	go func() {
		defer func() { <-l.refusing }()
		_ = c.SetDeadline(time.Now().Add(refuseLinger))
		if _, err := c.Write(msg); err == nil {
			closeLingering(c, 64<<10)
			return
		}
		c.Close()
	}()
}

// closeLingering half-closes c after what was written, reads and throws away up to limit bytes
// (until the peer closes or the deadline set on c passes) and closes it: the peer's unread
// request bytes then do not turn the close into a reset that destroys the answer in flight.
func closeLingering(c net.Conn, limit int64) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		if cw.CloseWrite() == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(c, limit))
		}
	}
	c.Close()
}

// limitedConn is an admitted connection: closing it gives its place back.
type limitedConn struct {
	net.Conn
	l      *limitListener
	ip     netip.Addr
	linger atomic.Bool
	once   sync.Once
}

// LingerOnClose asks Close to half-close and drain the connection (bounded) before closing it,
// so that an error answer sent before the request was read reaches the client.
func (c *limitedConn) LingerOnClose() { c.linger.Store(true) }

// CloseWrite half-closes the underlying TCP connection.
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// Close closes the connection once and releases its place.
func (c *limitedConn) Close() error {
	var err error
	c.once.Do(func() {
		if c.linger.Load() {
			_ = c.Conn.SetDeadline(time.Now().Add(lingerTime))
			closeLingering(c.Conn, lingerBytes)
		} else {
			err = c.Conn.Close()
		}
		c.l.release(c.ip)
	})
	return err
}

// lingerer is a connection that can be asked to linger on close (a *limitedConn).
type lingerer interface{ LingerOnClose() }
