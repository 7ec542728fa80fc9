package host

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/hashicorp/go-hclog"
	"github.com/tetratelabs/wazero/api"
)

const (
	i32 = api.ValueTypeI32
)

// hostFunc is one host function: its signature and its Go implementation.
type hostFunc struct {
	params, results []api.ValueType
	fn              func(p *plugin) api.GoModuleFunc
}

func (f hostFunc) signature() string { return typesString(f.params) + " -> " + typesString(f.results) }

// misuse aborts the call: a bad pointer or length from the guest traps, the
// call fails closed and the instance is thrown away.
type misuse string

func (m misuse) Error() string { return "host: " + string(m) }

var coreFuncs = map[string]hostFunc{
	abi.FuncInputRead: {params: []api.ValueType{i32, i32}, results: []api.ValueType{i32}, fn: func(p *plugin) api.GoModuleFunc {
		return func(ctx context.Context, mod api.Module, stack []uint64) {
			buf, limit := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
			st := stateFrom(ctx)
			var in []byte
			if st != nil {
				in = st.input
			}
			n := uint32(len(in))
			if limit < n {
				n = limit
			}
			if !mod.Memory().Write(buf, in[:n]) {
				panic(misuse("input_read: buffer outside memory"))
			}
			stack[0] = api.EncodeU32(uint32(len(in)))
		}
	}},
	abi.FuncOutputWrite: {params: []api.ValueType{i32, i32}, fn: func(p *plugin) api.GoModuleFunc {
		return func(ctx context.Context, mod api.Module, stack []uint64) {
			buf, n := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
			st := stateFrom(ctx)
			if st == nil {
				panic(misuse("output_write outside a call"))
			}
			b, ok := mod.Memory().Read(buf, n)
			if !ok {
				panic(misuse("output_write: buffer outside memory"))
			}
			if len(st.output)+len(b) > abi.MaxOutput {
				st.overflow = true
				panic(misuse("output_write: output too large"))
			}
			st.output = append(st.output, b...)
		}
	}},
	abi.FuncLog: {params: []api.ValueType{i32, i32, i32}, fn: func(p *plugin) api.GoModuleFunc {
		return func(ctx context.Context, mod api.Module, stack []uint64) {
			level := hclog.Level(api.DecodeI32(stack[0]))
			buf, n := api.DecodeU32(stack[1]), api.DecodeU32(stack[2])
			b, ok := mod.Memory().Read(buf, n)
			if !ok {
				panic(misuse("log: buffer outside memory"))
			}
			if level < hclog.Trace || level > hclog.Error {
				level = hclog.Info
			}
			p.logLine(level, "log", b, callRequestID(ctx))
		}
	}},
	abi.FuncLogEnabled: {params: []api.ValueType{i32}, results: []api.ValueType{i32}, fn: func(p *plugin) api.GoModuleFunc {
		return func(ctx context.Context, mod api.Module, stack []uint64) {
			level := hclog.Level(api.DecodeI32(stack[0]))
			enabled := uint32(0)
			if p.log.GetLevel() <= level && level >= hclog.Trace && level <= hclog.Error {
				enabled = 1
			}
			stack[0] = api.EncodeU32(enabled)
		}
	}},
}

func coreFunctionTypes() map[string]string {
	m := make(map[string]string, len(coreFuncs))
	for name, f := range coreFuncs {
		m[name] = f.signature()
	}
	return m
}

func (p *plugin) instantiateCore(ctx context.Context) error {
	return instantiateModule(ctx, p, abi.HostModule, coreFuncs, false)
}

func instantiateModule(ctx context.Context, p *plugin, module string, funcs map[string]hostFunc, gated bool) error {
	b := p.rt.NewHostModuleBuilder(module)
	for name, f := range funcs {
		fn := f.fn(p)
		if gated {
			inner, capName := fn, module
			fn = func(ctx context.Context, mod api.Module, stack []uint64) {
				if !p.capsReady.Load() {
					panic(misuse(capName + ": capability used before the plugin was checked"))
				}
				inner(ctx, mod, stack)
			}
		}
		b.NewFunctionBuilder().WithGoModuleFunction(fn, f.params, f.results).Export(name)
	}
	_, err := b.Instantiate(ctx)
	return err
}

// capabilityImpl is the host side of one capability module.
type capabilityImpl struct {
	funcs map[string]hostFunc
	types map[string]string
}

// capabilityImpls are the capabilities this host provides: crypto here, and
// the transports smtp, outbox and http, registered by transport.go.
var capabilityImpls = map[string]capabilityImpl{
	abi.CapCrypto: newCapability(map[string]hostFunc{
		abi.FuncHMAC: {params: []api.ValueType{i32, i32, i32, i32, i32, i32, i32}, results: []api.ValueType{i32}, fn: func(p *plugin) api.GoModuleFunc {
			return func(ctx context.Context, mod api.Module, stack []uint64) {
				alg := api.DecodeI32(stack[0])
				mem := mod.Memory()
				key, ok1 := mem.Read(api.DecodeU32(stack[1]), api.DecodeU32(stack[2]))
				msg, ok2 := mem.Read(api.DecodeU32(stack[3]), api.DecodeU32(stack[4]))
				out, outLen := api.DecodeU32(stack[5]), api.DecodeU32(stack[6])
				if !ok1 || !ok2 {
					panic(misuse("hmac: buffer outside memory"))
				}
				var h func() hash.Hash
				switch alg {
				case abi.HMACSHA1:
					h = sha1.New
				case abi.HMACSHA256:
					h = sha256.New
				case abi.HMACSHA512:
					h = sha512.New
				default:
					stack[0] = api.EncodeI32(-1)
					return
				}
				m := hmac.New(h, key)
				m.Write(msg)
				sum := m.Sum(nil)
				if uint32(len(sum)) > outLen {
					stack[0] = api.EncodeI32(-1)
					return
				}
				if !mem.Write(out, sum) {
					panic(misuse("hmac: buffer outside memory"))
				}
				stack[0] = api.EncodeI32(int32(len(sum)))
			}
		}},
		abi.FuncVerifySignature: verifySignatureFunc,
		abi.FuncDigest:          digestFunc,
	}),
}

func newCapability(funcs map[string]hostFunc) capabilityImpl {
	c := capabilityImpl{funcs: funcs, types: map[string]string{}}
	for name, f := range funcs {
		c.types[name] = f.signature()
	}
	return c
}

// Logging from plugins: bounded line length, bounded lines per second per
// plugin, never blocking the guest.

const maxLogLine = 1024

func (p *plugin) logLine(level hclog.Level, stream string, b []byte, requestID string) {
	if p.log.GetLevel() > level {
		return
	}
	ok, dropped := p.limiter.allow()
	if dropped > 0 {
		p.log.Warn("plugin log lines dropped", "count", dropped)
	}
	if !ok {
		return
	}
	msg := truncate(strings.ToValidUTF8(string(b), "\uFFFD"), maxLogLine)
	if requestID != "" {
		p.log.Log(level, msg, "stream", stream, "request_id", requestID)
		return
	}
	p.log.Log(level, msg, "stream", stream)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// logWriter turns a plugin's stdout or stderr into log lines.
type logWriter struct {
	p      *plugin
	level  hclog.Level
	stream string
	mu     sync.Mutex
	buf    []byte
}

func (w *logWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(b)
	for len(b) > 0 {
		i := indexByte(b, '\n')
		if i < 0 {
			room := maxLogLine - len(w.buf)
			if room > 0 {
				w.buf = append(w.buf, b[:min(room, len(b))]...)
			}
			break
		}
		line := b[:i]
		if len(w.buf) > 0 {
			room := maxLogLine - len(w.buf)
			w.buf = append(w.buf, line[:max(0, min(room, len(line)))]...)
			line = w.buf
		}
		w.p.logLine(w.level, w.stream, line, "")
		w.buf = w.buf[:0]
		b = b[i+1:]
	}
	return n, nil
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// lineLimiter allows a number of lines per second, counting the rest.
type lineLimiter struct {
	mu      sync.Mutex
	perSec  int
	window  time.Time
	used    int
	dropped int
}

func newLineLimiter(perSec int) *lineLimiter { return &lineLimiter{perSec: perSec} }

// allow reports whether a line may be written now and, once per window, how
// many were dropped in the previous one.
func (l *lineLimiter) allow() (ok bool, droppedBefore int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if now.Sub(l.window) >= time.Second {
		l.window, l.used = now, 0
		droppedBefore, l.dropped = l.dropped, 0
	}
	if l.used >= l.perSec {
		l.dropped++
		return false, droppedBefore
	}
	l.used++
	return true, droppedBefore
}
