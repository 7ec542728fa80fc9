package host

import (
	"bytes"
	"context"
	"fmt"

	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/tetratelabs/wazero/api"
)

// The transport capabilities (smtp, outbox, http) share one shape: a
// function that takes an encoded request, does blocking work natively with
// the operator's settings, and returns the length of an encoded reply, which
// the guest copies with reply_read. See abi.FuncReplyRead.

func init() {
	capabilityImpls[abi.CapSMTP] = transportCapability(abi.FuncSMTPSend, (*plugin).smtpSend)
	capabilityImpls[abi.CapOutbox] = transportCapability(abi.FuncOutboxWrite, (*plugin).outboxWrite)
	capabilityImpls[abi.CapHTTP] = transportCapability(abi.FuncHTTPRequest, (*plugin).httpRequest)
}

// transports holds what the transport capabilities need beyond the
// configuration: the HTTP clients of the named connections.
type transports struct {
	smtp  smtpRelay
	conns map[string]*httpConn
}

func newTransports(cfg *Config) (*transports, error) {
	t := &transports{smtp: newSMTPRelay(cfg.SMTP), conns: map[string]*httpConn{}}
	for name, c := range cfg.HTTPConnections {
		hc, err := newHTTPConn(name, c)
		if err != nil {
			return nil, fmt.Errorf("host: http connection %q: %w", name, err)
		}
		t.conns[name] = hc
	}
	return t, nil
}

func (t *transports) close() {
	for _, c := range t.conns {
		c.client.CloseIdleConnections()
	}
}

// transportCapability makes a capability module of one transport function
// and reply_read. do gets the request bytes (a copy) and returns the encoded
// reply; it must watch ctx (the hook call's deadline) while it blocks.
func transportCapability(name string, do func(p *plugin, ctx context.Context, req []byte) []byte) capabilityImpl {
	return newCapability(map[string]hostFunc{
		name: {params: []api.ValueType{i32, i32}, results: []api.ValueType{i32}, fn: func(p *plugin) api.GoModuleFunc {
			return func(ctx context.Context, mod api.Module, stack []uint64) {
				ptr, n := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
				st := stateFrom(ctx)
				if st == nil {
					panic(misuse(name + " outside a call"))
				}
				if n > abi.MaxTransportRequest {
					panic(misuse(fmt.Sprintf("%s: request over %d bytes", name, abi.MaxTransportRequest)))
				}
				b, ok := mod.Memory().Read(ptr, n)
				if !ok {
					panic(misuse(name + ": buffer outside memory"))
				}
				req := bytes.Clone(b)
				st.reply, st.replied = nil, false
				if err := ctx.Err(); err != nil {
					panic(err)
				}
				reply := do(p, ctx, req)
				if err := ctx.Err(); err != nil {
					// The hook's deadline passed while the host worked: abort
					// the guest now; the call fails with PLUGIN_TIMEOUT.
					panic(err)
				}
				if len(reply) > abi.MaxInput {
					panic(misuse(name + ": reply too large")) // a host bug: replies are bounded
				}
				st.reply, st.replied = reply, true
				stack[0] = api.EncodeU32(uint32(len(reply)))
			}
		}},
		abi.FuncReplyRead: {params: []api.ValueType{i32, i32}, results: []api.ValueType{i32}, fn: func(p *plugin) api.GoModuleFunc {
			return func(ctx context.Context, mod api.Module, stack []uint64) {
				buf, limit := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
				st := stateFrom(ctx)
				if st == nil || !st.replied {
					panic(misuse("reply_read before a capability call"))
				}
				n := min(uint32(len(st.reply)), limit)
				if !mod.Memory().Write(buf, st.reply[:n]) {
					panic(misuse("reply_read: buffer outside memory"))
				}
				stack[0] = api.EncodeU32(uint32(len(st.reply)))
			}
		}},
	})
}

// undecodable traps the call: the guest sent a malformed request.
func undecodable(fn string, err error) misuse {
	return misuse(fmt.Sprintf("%s: undecodable request: %v", fn, err))
}

// CallTransport runs a transport capability (abi.CapSMTP, abi.CapOutbox or
// abi.CapHTTP) for the plugin id on an encoded request and returns the
// encoded reply, as the capability's host function does for a plugin
// instance, with the same configuration and grants. sdk/sdktest uses it to
// run a plugin natively (in `go test`, without wasm) against the same relay,
// folder and connections as the .wasm. An ungranted capability, an unknown
// one or an undecodable request is an error.
func (h *Host) CallTransport(ctx context.Context, id, capability string, req []byte) (reply []byte, err error) {
	if !h.cfg.granted(id, capability) {
		return nil, fmt.Errorf("host: capability %q is not granted to %s by the operator", capability, id)
	}
	p := &plugin{host: h, source: "native:" + id, log: h.log.With("plugin", id), desc: &abi.Descriptor{ID: id}}
	var do func(*plugin, context.Context, []byte) []byte
	switch capability {
	case abi.CapSMTP:
		do = (*plugin).smtpSend
	case abi.CapOutbox:
		do = (*plugin).outboxWrite
	case abi.CapHTTP:
		do = (*plugin).httpRequest
	default:
		return nil, fmt.Errorf("host: %q is not a transport capability", capability)
	}
	defer func() {
		if r := recover(); r != nil {
			reply, err = nil, fmt.Errorf("host: %s: %v", capability, r)
		}
	}()
	return do(p, ctx, req), nil
}
