package api

import (
	"context"
	"net"
	"net/netip"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/valyala/fasthttp"

	"github.com/gatehouse/gatehouse/core/reqctx"
)

func prefixes(t *testing.T, cidrs ...string) TrustedProxies {
	t.Helper()
	var tp TrustedProxies
	for _, c := range cidrs {
		tp = append(tp, netip.MustParsePrefix(c))
	}
	return tp
}

func TestClientIP(t *testing.T) {
	proxies := []string{"10.0.0.0/8", "2001:db8:ffff::/48", "192.0.2.7/32"}
	tests := []struct {
		name    string
		trusted []string
		peer    string
		xff     []string
		want    string
	}{
		{"no trusted proxies: the peer, whatever it sends", nil, "203.0.113.9", []string{"1.2.3.4"}, "203.0.113.9"},
		{"untrusted peer: XFF ignored", proxies, "203.0.113.9", []string{"1.2.3.4"}, "203.0.113.9"},
		{"trusted peer, no XFF: the peer", proxies, "10.1.1.1", nil, "10.1.1.1"},
		{"trusted peer: the rightmost entry", proxies, "10.1.1.1", []string{"198.51.100.5"}, "198.51.100.5"},
		{"a spoofed left part is not believed", proxies, "10.1.1.1", []string{"6.6.6.6, 198.51.100.5"}, "198.51.100.5"},
		{"trusted hops are skipped from the right", proxies, "10.1.1.1", []string{"6.6.6.6, 198.51.100.5, 10.2.2.2, 192.0.2.7"}, "198.51.100.5"},
		{"several headers are one list in order", proxies, "10.1.1.1", []string{"6.6.6.6, 198.51.100.5", "10.2.2.2"}, "198.51.100.5"},
		{"every entry trusted: the leftmost", proxies, "10.1.1.1", []string{"10.3.3.3, 10.2.2.2"}, "10.3.3.3"},
		{"a malformed entry stops at the hop that wrote it", proxies, "10.1.1.1", []string{"198.51.100.5, garbage"}, "10.1.1.1"},
		{"a malformed entry behind a trusted hop", proxies, "10.1.1.1", []string{"garbage, 10.2.2.2"}, "10.2.2.2"},
		{"ports and brackets", proxies, "10.1.1.1", []string{"[2001:db8::1]:443, 198.51.100.5:4711"}, "198.51.100.5"},
		{"IPv6 entry", proxies, "2001:db8:ffff::1", []string{"2001:db8:1::5"}, "2001:db8:1::5"},
		{"bracketed IPv6 without port", proxies, "10.1.1.1", []string{"[2001:db8:1::5]"}, "2001:db8:1::5"},
		{"IPv4-mapped peer is unmapped", proxies, "::ffff:10.1.1.1", []string{"198.51.100.5"}, "198.51.100.5"},
		{"empty entries are skipped", proxies, "10.1.1.1", []string{"198.51.100.5,, "}, "198.51.100.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp := prefixes(t, tt.trusted...)
			var xff [][]byte
			for _, h := range tt.xff {
				xff = append(xff, []byte(h))
			}
			got := tp.ClientIP(netip.MustParseAddr(tt.peer), xff)
			if got != netip.MustParseAddr(tt.want) {
				t.Fatalf("ClientIP = %s, want %s", got, tt.want)
			}
		})
	}
}

// The use cases get the request's id, client address and user agent from the context they are
// called with.
func TestRequestContextCarriesClient(t *testing.T) {
	rt := NewRouter(nil, hclog.NewNullLogger())
	rt.SetTrustedProxies(prefixes(t, "127.0.0.0/8"))
	var got reqctx.Info
	var ok bool
	rt.Add(&Route{Method: "POST", Path: "/probe", Handle: func(req *Request) (Response, error) {
		var ctx context.Context = req.Ctx
		got, ok = reqctx.From(ctx)
		return Response{}, nil
	}})
	var req fasthttp.Request
	req.Header.SetMethod("POST")
	req.SetRequestURI("/probe")
	req.Header.Set("X-Forwarded-For", "6.6.6.6, 198.51.100.5")
	req.Header.Set("User-Agent", "probe/1")
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}, nil)
	rt.Handler(ctx)
	if !ok || got.ClientIP != netip.MustParseAddr("198.51.100.5") || got.UserAgent != "probe/1" || got.RequestID == "" {
		t.Fatalf("reqctx.From = %+v, %v", got, ok)
	}
	if _, ok := reqctx.From(context.Background()); ok {
		t.Fatal("outside a request: no Info")
	}
}
