package api

import (
	"bytes"
	"net"
	"net/netip"

	"github.com/valyala/fasthttp"
)

// TrustedProxies are the reverse proxies whose X-Forwarded-For header is believed.
type TrustedProxies []netip.Prefix

// Contains reports whether a is one of the trusted proxies.
func (tp TrustedProxies) Contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range tp {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientIP returns the client's address for a request from the TCP peer peer carrying the
// X-Forwarded-For header values xff (in the order received). The header is believed only as far
// as trusted proxies wrote it: from the peer, the chain is walked from the right; each trusted
// hop's entry names the hop before it; the first address that is not a trusted proxy is the
// client. A malformed entry stops the walk at the hop that wrote it (its word is not taken).
// Every entry trusted: the leftmost is the client. An untrusted peer: the peer, whatever it
// sends.
func (tp TrustedProxies) ClientIP(peer netip.Addr, xff [][]byte) netip.Addr {
	client := peer.Unmap()
	if len(tp) == 0 || !tp.Contains(client) {
		return client
	}
	for i := len(xff) - 1; i >= 0; i-- {
		list := xff[i]
		for len(list) > 0 {
			var entry []byte
			if j := bytes.LastIndexByte(list, ','); j >= 0 {
				entry, list = list[j+1:], list[:j]
			} else {
				entry, list = list, nil
			}
			entry = bytes.TrimSpace(entry)
			if len(entry) == 0 {
				continue
			}
			a, ok := parseForwardedAddr(entry)
			if !ok {
				return client
			}
			client = a
			if !tp.Contains(a) {
				return a
			}
		}
	}
	return client
}

// parseForwardedAddr reads one X-Forwarded-For entry: an address, optionally with a port
// ("192.0.2.1:4711", "[2001:db8::1]:4711").
func parseForwardedAddr(b []byte) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(string(b)); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(string(b)); err == nil {
		return ap.Addr().Unmap(), true
	}
	if len(b) > 2 && b[0] == '[' && b[len(b)-1] == ']' {
		if a, err := netip.ParseAddr(string(b[1 : len(b)-1])); err == nil {
			return a.Unmap(), true
		}
	}
	return netip.Addr{}, false
}

// peerIP is the TCP peer's address of a request.
func peerIP(ctx *fasthttp.RequestCtx) netip.Addr {
	if ta, ok := ctx.RemoteAddr().(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// clientIP is the request's client address (see TrustedProxies.ClientIP).
func (rt *Router) clientIP(ctx *fasthttp.RequestCtx) netip.Addr {
	peer := peerIP(ctx)
	if len(rt.proxies) == 0 {
		return peer
	}
	return rt.proxies.ClientIP(peer, ctx.Request.Header.PeekAll("X-Forwarded-For"))
}

// SetTrustedProxies sets the proxies whose X-Forwarded-For is believed (none by default).
func (rt *Router) SetTrustedProxies(tp TrustedProxies) { rt.proxies = tp }
