package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
)

// instance is one instantiation of a plugin. It serves one call at a time:
// the pool hands it to one caller, who gives it back or throws it away.
type instance struct {
	mod   api.Module
	mem   api.Memory
	fns   map[string]api.Function // export name -> function
	stack []uint64
	calls int
	st    callState
	// idleSince is when the instance went back to the pool last.
	idleSince time.Time
}

// callState is what the core host functions see during one call.
type callState struct {
	input    []byte
	output   []byte
	overflow bool
	logLines int
	// reply is the reply of the last transport capability call (see
	// abi.FuncReplyRead); replied is true once there is one.
	reply   []byte
	replied bool
}

type stateKey struct{}

func stateFrom(ctx context.Context) *callState {
	st, _ := ctx.Value(stateKey{}).(*callState)
	return st
}

// instantiate makes an instance and runs _initialize.
func (p *plugin) instantiate(ctx context.Context) (*instance, error) {
	mod, err := p.rt.InstantiateModule(ctx, p.compiled, p.modCfg)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("instantiate: %w", errors.Join(ctx.Err(), err))
		}
		return nil, fmt.Errorf("instantiate: %w", err)
	}
	inst := &instance{mod: mod, mem: mod.ExportedMemory(abi.ExportMemory), stack: make([]uint64, 1)}
	inst.fns = map[string]api.Function{abi.ExportDescribe: mod.ExportedFunction(abi.ExportDescribe)}
	if fn := mod.ExportedFunction(abi.ExportConfigure); fn != nil {
		inst.fns[abi.ExportConfigure] = fn
	}
	for _, h := range p.hooks {
		inst.fns[abi.HookExport(h)] = mod.ExportedFunction(abi.HookExport(h))
	}
	return inst, nil
}

// newInstance makes a ready instance for the pool: instantiated, described
// the same as the first, and configured.
func (p *plugin) newInstance(ctx context.Context) (*instance, error) {
	inst, err := p.instantiate(ctx)
	if err != nil {
		return nil, err
	}
	raw, err := inst.describe(ctx)
	if err == nil && !bytes.Equal(raw, p.descRaw) {
		err = errors.New("describe: the instance described itself differently from the first")
	}
	if err == nil {
		err = inst.configure(ctx, p.config)
	}
	if err != nil {
		_ = inst.mod.Close(context.Background())
		return nil, err
	}
	p.created.Add(1)
	return inst, nil
}

func (p *plugin) discardInstance(inst *instance) {
	_ = inst.mod.Close(context.Background())
	p.discarded.Add(1)
}

// invoke calls an export with input and returns the status and the output,
// which stays valid until the instance's next call.
func (inst *instance) invoke(ctx context.Context, export string, input []byte) (abi.Status, []byte, error) {
	fn := inst.fns[export]
	if fn == nil {
		return 0, nil, fmt.Errorf("no export %q", export)
	}
	out := inst.st.output[:0]
	if cap(out) > 64<<10 {
		out = nil
	}
	inst.st = callState{input: input, output: out}
	inst.stack[0] = uint64(len(input))
	err := fn.CallWithStack(context.WithValue(ctx, stateKey{}, &inst.st), inst.stack)
	inst.st.input = nil
	if err == nil && ctx.Err() != nil {
		// The call can return right at the deadline; its result is not trusted.
		err = ctx.Err()
	}
	if err != nil {
		return 0, nil, err
	}
	return abi.Status(int32(uint32(inst.stack[0]))), inst.st.output, nil
}

func (inst *instance) describe(ctx context.Context) ([]byte, error) {
	in := (&abi.HostInfo{ABIMinor: abi.Minor, HostVersion: Version}).Marshal(nil)
	status, out, err := inst.invoke(ctx, abi.ExportDescribe, in)
	switch {
	case err != nil:
		return nil, fmt.Errorf("describe: %w", err)
	case status != abi.StatusOK:
		return nil, fmt.Errorf("describe: status %d (%s)", int32(status), status)
	}
	return bytes.Clone(out), nil
}

func (inst *instance) configure(ctx context.Context, config []byte) error {
	if inst.fns[abi.ExportConfigure] == nil {
		if len(bytes.TrimSpace(config)) > 0 && !bytes.Equal(bytes.TrimSpace(config), []byte("{}")) {
			return errors.New("configure: the plugin takes no configuration, but the operator gave one")
		}
		return nil
	}
	in := (&abi.ConfigureRequest{Config: config}).Marshal(nil)
	status, out, err := inst.invoke(ctx, abi.ExportConfigure, in)
	switch {
	case err != nil:
		return fmt.Errorf("configure: %w", err)
	case status == abi.StatusOK:
		return nil
	case status == abi.StatusDenied:
		var r abi.Result
		if err := r.Unmarshal(out); err != nil || len(r.Reasons) == 0 {
			return errors.New("configure: configuration refused, with no readable reason")
		}
		msgs := make([]string, len(r.Reasons))
		for i, reason := range r.Reasons {
			msgs[i] = reason.Code + ": " + reason.Message
		}
		return fmt.Errorf("configure: configuration refused: %s", joinLimited(msgs, 512))
	}
	return fmt.Errorf("configure: status %d (%s)", int32(status), status)
}

func joinLimited(s []string, limit int) string {
	var b bytes.Buffer
	for i, x := range s {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(x)
		if b.Len() > limit {
			return b.String()[:limit] + "…"
		}
	}
	return b.String()
}

// call runs one hook: it takes an instance from the pool under the hook's
// deadline, calls it, hands an OK or denied status and the output to accept
// (which decodes it; its error fails the call with PLUGIN_BAD_OUTPUT), then
// returns the instance to the pool or throws it away. Every failure is a
// *PluginError and leaves no instance behind that saw it.
func (p *plugin) call(ctx context.Context, hook string, input []byte, accept func(abi.Status, []byte) error) (err error) {
	p.calls.Add(1)
	if observe := p.host.cfg.Observer; observe != nil {
		start := time.Now()
		defer func() {
			code := ""
			var pe *PluginError
			if errors.As(err, &pe) {
				code = pe.Code
			}
			observe(p.name(), hook, time.Since(start), code)
		}()
	}
	if until := p.openUntil.Load(); until != 0 && time.Now().UnixNano() < until {
		p.failures.Add(1)
		pe := p.fail(hook, CodeUnavailable, ErrCircuitOpen)
		pe.RetryAfter = time.Duration(until - time.Now().UnixNano())
		return pe
	}
	ctx, cancel := context.WithTimeout(ctx, p.host.cfg.hookTimeout(hook))
	defer cancel()
	if hook != abi.HookMailerDeliver {
		select {
		case p.host.cpu <- struct{}{}:
			defer func() { <-p.host.cpu }()
		case <-ctx.Done():
			p.failures.Add(1)
			return p.fail(hook, CodeTimeout, fmt.Errorf("waiting for a free CPU slot: %w", ctx.Err()))
		}
	}
	defer func() { p.breaker(err) }()
	inst, err := p.pool.get(ctx)
	if err != nil {
		p.failures.Add(1)
		code := CodeFailed
		switch {
		case errors.Is(err, ErrClosed):
			code = CodeUnavailable
		case ctx.Err() != nil:
			code = CodeTimeout
			err = fmt.Errorf("waiting for an instance: %w", errors.Join(ctx.Err(), err))
		}
		return p.fail(hook, code, err)
	}
	perr := p.run(ctx, inst, hook, input, accept)
	discard := perr != nil && perr.Code != CodeRetry ||
		inst.calls >= p.host.cfg.RecycleAfter ||
		inst.mem.Size() > p.highWaterBytes
	p.pool.put(inst, discard)
	if perr != nil {
		p.failures.Add(1)
		// The cause on one line (a trap's "wasm error: ...", the plugin's own failure reason),
		// then the whole error (a trap's stack trace).
		log := p.log
		if id := callRequestID(ctx); id != "" {
			log = log.With("request_id", id)
		}
		log.Warn("plugin call failed", "hook", hook, "code", perr.Code, "cause", firstLine(perr.Err), "error", perr.Err)
		return perr
	}
	return nil
}

// breaker counts failures in a row and opens the circuit past the threshold. A mailer's "retry
// later" and a domain denial are not failures.
func (p *plugin) breaker(err error) {
	var pe *PluginError
	if err == nil || errors.As(err, &pe) && pe.Code == CodeRetry {
		p.consecutiveFailures.Store(0)
		return
	}
	if n := p.consecutiveFailures.Add(1); int(n) >= p.host.cfg.BreakerThreshold {
		p.openUntil.Store(time.Now().Add(p.host.cfg.BreakerCooldown).UnixNano())
		p.consecutiveFailures.Store(0)
		p.log.Error("plugin failing: calls fail fast for a while (PLUGIN_UNAVAILABLE)", "failures_in_a_row", n, "cooldown", p.host.cfg.BreakerCooldown,
			"last_error", firstLine(err))
	}
}

func (p *plugin) run(ctx context.Context, inst *instance, hook string, input []byte, accept func(abi.Status, []byte) error) *PluginError {
	inst.calls++
	status, out, err := inst.invoke(ctx, abi.HookExport(hook), input)
	if err != nil {
		return p.classify(ctx, inst, hook, err)
	}
	switch status {
	case abi.StatusOK, abi.StatusDenied:
		if err := accept(status, out); err != nil {
			return &PluginError{Plugin: p.name(), Hook: hook, Code: CodeBadOutput, Err: err}
		}
		return nil
	case abi.StatusBadInput:
		return &PluginError{Plugin: p.name(), Hook: hook, Code: CodeFailed, Err: errors.New("the plugin could not decode its input (status bad_input)")}
	case abi.StatusFailed:
		return &PluginError{Plugin: p.name(), Hook: hook, Code: CodeFailed, Err: fmt.Errorf("the plugin reported a failure%s", reasonSuffix(out))}
	case abi.StatusRetry:
		if hookMayRetry(hook) {
			return &PluginError{Plugin: p.name(), Hook: hook, Code: CodeRetry, Err: fmt.Errorf("temporary failure%s", reasonSuffix(out))}
		}
	}
	return &PluginError{Plugin: p.name(), Hook: hook, Code: CodeBadOutput, Err: fmt.Errorf("%w: status %d", ErrBadStatus, int32(status))}
}

func reasonSuffix(out []byte) string {
	var r abi.Result
	if r.Unmarshal(out) != nil || len(r.Reasons) == 0 {
		return ""
	}
	return ": " + r.Reasons[0].Code + " " + truncate(r.Reasons[0].Message, 200)
}

func hookMayRetry(hook string) bool {
	for _, specs := range abi.KindHooks {
		for _, s := range specs {
			if s.Name == hook {
				return s.MayRetry
			}
		}
	}
	return false
}

// classify turns the error of a call into a PluginError.
func (p *plugin) classify(ctx context.Context, inst *instance, hook string, err error) *PluginError {
	pe := &PluginError{Plugin: p.name(), Hook: hook, Code: CodeFailed, Err: err}
	var exit *sys.ExitError
	switch {
	case ctx.Err() != nil:
		pe.Code = CodeTimeout
		pe.Err = errors.Join(ctx.Err(), err)
	case errors.As(err, &exit) && (exit.ExitCode() == sys.ExitCodeDeadlineExceeded || exit.ExitCode() == sys.ExitCodeContextCanceled):
		pe.Code = CodeTimeout
	case inst.st.overflow:
		pe.Code = CodeBadOutput
		pe.Err = fmt.Errorf("%w: output over %d bytes", ErrBadOutput, abi.MaxOutput)
	case inst.mem.Size() > p.limitBytes-memorySlack:
		pe.Code = CodeMemoryLimit
		pe.Err = fmt.Errorf("memory at its limit of %d MiB: %w", p.limitBytes>>20, err)
	}
	return pe
}

// firstLine is the first line of err's text: wazero's trap errors go on with a stack trace.
func firstLine(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// memorySlack: a failure with memory within this of the limit is put down to
// the limit (Go's runtime grows its heap 4 MiB at a time).
const memorySlack = 4 << 20

func (p *plugin) fail(hook, code string, err error) *PluginError {
	return &PluginError{Plugin: p.name(), Hook: hook, Code: code, Err: err}
}

// pool is a bounded set of instances: at most size checked out or idle at
// once. get waits on the caller's context when all are busy (no busy wait);
// instances are made lazily and reused last-in first-out.
type pool struct {
	sem      chan struct{} // a token per instance checked out
	make     func(context.Context) (*instance, error)
	discard  func(*instance)
	mu       sync.Mutex
	idle     []*instance
	out      int
	closed   bool
	closedCh chan struct{}
}

func newPool(size int, mk func(context.Context) (*instance, error), discard func(*instance)) *pool {
	return &pool{sem: make(chan struct{}, size), make: mk, discard: discard, closedCh: make(chan struct{})}
}

// seed adds an instance made outside get (the first one, made at load).
func (p *pool) seed(inst *instance) {
	inst.idleSince = time.Now()
	p.mu.Lock()
	p.idle = append(p.idle, inst)
	p.mu.Unlock()
}

func (p *pool) get(ctx context.Context) (*instance, error) {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-p.closedCh:
		return nil, ErrClosed
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.sem
		return nil, ErrClosed
	}
	if n := len(p.idle); n > 0 {
		inst := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.out++
		p.mu.Unlock()
		return inst, nil
	}
	p.out++
	p.mu.Unlock()
	inst, err := p.make(ctx)
	if err != nil {
		p.mu.Lock()
		p.out--
		p.mu.Unlock()
		<-p.sem
		return nil, err
	}
	return inst, nil
}

func (p *pool) put(inst *instance, discard bool) {
	p.mu.Lock()
	p.out--
	if discard || p.closed {
		p.mu.Unlock()
		p.discard(inst)
	} else {
		inst.idleSince = time.Now()
		p.idle = append(p.idle, inst)
		p.mu.Unlock()
	}
	<-p.sem
}

// dropIdle throws away the instances that went unused since before cutoff (the oldest sit at
// the bottom of the stack: get takes the top) and returns how many it dropped. A plugin's
// next call makes a new one.
func (p *pool) dropIdle(cutoff time.Time) int {
	p.mu.Lock()
	n := 0
	for n < len(p.idle) && p.idle[n].idleSince.Before(cutoff) {
		n++
	}
	stale := slices.Clone(p.idle[:n])
	p.idle = slices.Delete(p.idle, 0, n)
	p.mu.Unlock()
	for _, inst := range stale {
		p.discard(inst)
	}
	return n
}

func (p *pool) live() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle) + p.out
}

func (p *pool) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

func (p *pool) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	idle := p.idle
	p.idle = nil
	close(p.closedCh)
	p.mu.Unlock()
	for _, inst := range idle {
		p.discard(inst)
	}
}
