package host

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/hashicorp/go-hclog"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// Descriptor is a plugin's descriptor: id, name, version, kind, hooks,
// capabilities, the reason codes it may return and its configuration schema.
type Descriptor = abi.Descriptor

func cloneDescriptor(d *abi.Descriptor) Descriptor {
	c := *d
	c.Hooks = slices.Clone(d.Hooks)
	c.Capabilities = slices.Clone(d.Capabilities)
	c.Codes = slices.Clone(d.Codes)
	if d.TwoFactor != nil {
		t := *d.TwoFactor
		t.SetupFields = slices.Clone(t.SetupFields)
		c.TwoFactor = &t
	}
	return c
}

// plugin is one loaded module: its runtime, compiled code and instance pool.
type plugin struct {
	host     *Host
	source   string
	sha256   string
	log      hclog.Logger
	rt       wazero.Runtime
	compiled wazero.CompiledModule
	modCfg   wazero.ModuleConfig
	desc     *abi.Descriptor
	descRaw  []byte // the descriptor as the first instance encoded it
	codes    map[string]bool
	config   []byte
	hooks    []string // hooks exported, so callable
	pool     *pool
	limiter  *lineLimiter

	// capsReady opens the capability host functions once the imports have
	// been checked against the descriptor and the grants. Until then (while
	// the first instance describes itself) they trap.
	capsReady atomic.Bool

	limitBytes     uint32
	highWaterBytes uint32

	calls, failures, created, discarded atomic.Uint64

	// The circuit breaker: after breakerThreshold failures in a row, calls fail fast until
	// openUntil (Unix nanoseconds), so a broken plugin stops costing an instance per call.
	consecutiveFailures atomic.Int32
	openUntil           atomic.Int64
}

// loadInfo is what load learned, even when it failed (for Status and Inspect).
type loadInfo struct {
	sha256   string
	major    int // from the marker export; 0 if none
	imports  []Import
	exports  []string
	caps     []string // capability modules imported
	desc     *abi.Descriptor
	wasmSize int
}

// Import is one function a module imports.
type Import struct {
	Module string `json:"module"`
	Name   string `json:"name"`
}

var (
	idPattern   = regexp.MustCompile(`^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)+$`)
	codePattern = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
)

const (
	maxIDLen     = 64
	maxCodeLen   = 64
	maxCodes     = 256
	maxTextField = 4096
)

func load(ctx context.Context, h *Host, source string, wasm []byte) (p *plugin, info loadInfo, err error) {
	info.sha256 = sha256hex(wasm)
	info.wasmSize = len(wasm)
	cfg := &h.cfg
	p = &plugin{
		host:           h,
		source:         source,
		sha256:         info.sha256,
		log:            h.log.With("source", source),
		limitBytes:     uint32(cfg.MemoryLimitMiB) << 20,
		highWaterBytes: uint32(cfg.HighWaterMiB) << 20,
	}
	p.limiter = newLineLimiter(cfg.LogLinesPerSecond)
	rtCfg := wazero.NewRuntimeConfig().
		WithCompilationCache(h.cache).
		WithCloseOnContextDone(true).
		WithMemoryLimitPages(uint32(cfg.MemoryLimitMiB) * 16)
	rt := wazero.NewRuntimeWithConfig(ctx, rtCfg)
	p.rt = rt
	defer func() {
		if err != nil {
			_ = rt.Close(context.Background())
		}
	}()

	cctx := experimental.WithCompilationWorkers(ctx, cfg.PoolSize)
	p.compiled, err = p.rt.CompileModule(cctx, wasm)
	if err != nil {
		return nil, info, fmt.Errorf("not a valid WebAssembly module: %w", err)
	}
	if err = checkModule(p.compiled, &info); err != nil {
		return nil, info, err
	}
	for _, hook := range info.exports {
		if strings.HasPrefix(hook, abi.ExportPrefix) {
			name := strings.TrimPrefix(hook, abi.ExportPrefix)
			if name != "describe" && name != "configure" {
				p.hooks = append(p.hooks, name)
			}
		}
	}

	if err = p.instantiateHostModules(ctx, info.caps); err != nil {
		return nil, info, err
	}
	p.modCfg = wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions(abi.ExportInitialize).
		WithArgs("plugin").
		WithSysWalltime().
		WithSysNanotime().
		WithNanosleep(boundedSleep).
		WithRandSource(rand.Reader).
		WithStdout(&logWriter{p: p, level: hclog.Info, stream: "stdout"}).
		WithStderr(&logWriter{p: p, level: hclog.Warn, stream: "stderr"})
	p.pool = newPool(cfg.PoolSize, p.newInstance, p.discardInstance)

	// The first instance describes the plugin; capabilities still trap.
	sctx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	defer cancel()
	first, err := p.instantiate(sctx)
	if err != nil {
		return nil, info, err
	}
	keep := false
	defer func() {
		if !keep {
			_ = first.mod.Close(context.Background())
		}
	}()
	raw, err := first.describe(sctx)
	if err != nil {
		return nil, info, err
	}
	desc := new(abi.Descriptor)
	if err = desc.Unmarshal(raw); err != nil {
		return nil, info, fmt.Errorf("describe: undecodable descriptor: %w", err)
	}
	info.desc = desc
	p.log = h.log.With("plugin", desc.ID)
	if err = validateDescriptor(desc, &info, p.hooks); err != nil {
		return nil, info, err
	}
	for _, c := range info.caps {
		if !slices.Contains(desc.Capabilities, c) {
			return nil, info, fmt.Errorf("imports capability %q (module %s) that its descriptor does not declare", c, abi.CapabilityModule(c))
		}
		if !cfg.granted(desc.ID, c) {
			return nil, info, fmt.Errorf("capability %q is not granted to %s by the operator", c, desc.ID)
		}
	}
	// Only declared hooks are called; an SDK may export more (Go cannot
	// export conditionally), and those are ignored.
	p.hooks = slices.Clone(desc.Hooks)
	p.desc, p.descRaw = desc, slices.Clone(raw)
	p.codes = make(map[string]bool, len(desc.Codes))
	for _, c := range desc.Codes {
		p.codes[c] = true
	}
	p.config = cfg.PluginConfig[desc.ID]
	if err = ValidateConfig(desc.ConfigSchema, p.config); err != nil {
		return nil, info, err
	}
	p.capsReady.Store(true)

	if err = first.configure(sctx, p.config); err != nil {
		return nil, info, err
	}
	p.created.Add(1)
	p.pool.seed(first)
	keep = true
	return p, info, nil
}

// checkModule checks exports, their signatures, the ABI marker and the
// imports, statically, before any instance exists.
func checkModule(cm wazero.CompiledModule, info *loadInfo) error {
	for _, def := range cm.ImportedFunctions() {
		mod, name, _ := def.Import()
		info.imports = append(info.imports, Import{Module: mod, Name: name})
	}
	if _, ok := cm.ExportedMemories()[abi.ExportMemory]; !ok {
		return errors.New(`missing export "memory"`)
	}
	var majors []int
	fns := cm.ExportedFunctions()
	for name, def := range fns {
		info.exports = append(info.exports, name)
		if v, ok := strings.CutPrefix(name, abi.MarkerPrefix); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return fmt.Errorf("export %q: not an ABI marker", name)
			}
			majors = append(majors, n)
			continue
		}
		switch {
		case name == abi.ExportInitialize:
			if len(def.ParamTypes()) != 0 || len(def.ResultTypes()) != 0 {
				return fmt.Errorf("export %q: signature %s, want () -> ()", name, signature(def))
			}
		case strings.HasPrefix(name, abi.ExportPrefix):
			if !isHookSignature(def) {
				return fmt.Errorf("export %q: signature %s, want (i32) -> (i32)", name, signature(def))
			}
		}
	}
	slices.Sort(info.exports)
	switch {
	case len(majors) == 0:
		return fmt.Errorf("not a Gatehouse plugin: no %q export", abi.MarkerExport)
	case len(majors) > 1:
		return fmt.Errorf("exports several ABI markers (versions %v)", majors)
	case majors[0] != abi.Major:
		info.major = majors[0]
		return fmt.Errorf("unsupported ABI version %d: this host speaks ABI v%d", majors[0], abi.Major)
	}
	info.major = majors[0]
	if _, ok := fns[abi.ExportDescribe]; !ok {
		return fmt.Errorf("missing export %q", abi.ExportDescribe)
	}

	core := coreFunctionTypes()
	for _, def := range cm.ImportedFunctions() {
		mod, name, _ := def.Import()
		switch {
		case mod == abi.WASIModule:
			// wazero checks names and signatures at instantiation.
		case mod == abi.HostModule:
			want, ok := core[name]
			if !ok {
				return fmt.Errorf("imports unknown host function %s.%s", mod, name)
			}
			if got := signature(def); got != want {
				return fmt.Errorf("imports %s.%s with signature %s, want %s", mod, name, got, want)
			}
		default:
			c, ok := capabilityOfModule(mod)
			if !ok {
				return fmt.Errorf("imports unknown module %q (function %s)", mod, name)
			}
			impl, ok := capabilityImpls[c]
			if !ok {
				return fmt.Errorf("imports capability %q, which this host does not provide yet", c)
			}
			want, ok := impl.types[name]
			if !ok {
				return fmt.Errorf("imports unknown function %s.%s", mod, name)
			}
			if got := signature(def); got != want {
				return fmt.Errorf("imports %s.%s with signature %s, want %s", mod, name, got, want)
			}
			if !slices.Contains(info.caps, c) {
				info.caps = append(info.caps, c)
			}
		}
	}
	for _, m := range cm.ImportedMemories() {
		mod, name, _ := m.Import()
		return fmt.Errorf("imports a memory (%s.%s): a plugin must define and export its own", mod, name)
	}
	slices.Sort(info.caps)
	return nil
}

func capabilityOfModule(mod string) (string, bool) {
	for _, c := range abi.Capabilities {
		if abi.CapabilityModule(c) == mod {
			return c, true
		}
	}
	return "", false
}

func isHookSignature(def api.FunctionDefinition) bool {
	p, r := def.ParamTypes(), def.ResultTypes()
	return len(p) == 1 && p[0] == api.ValueTypeI32 && len(r) == 1 && r[0] == api.ValueTypeI32
}

func signature(def api.FunctionDefinition) string {
	return typesString(def.ParamTypes()) + " -> " + typesString(def.ResultTypes())
}

func typesString(ts []api.ValueType) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = api.ValueTypeName(t)
	}
	return "(" + strings.Join(s, ", ") + ")"
}

// validateDescriptor checks the descriptor against the ABI and against the
// exports the module has.
func validateDescriptor(d *abi.Descriptor, info *loadInfo, exported []string) error {
	if d.ABIMinor > abi.Minor {
		return fmt.Errorf("built for ABI v%d.%d; this host speaks up to v%d.%d", abi.Major, d.ABIMinor, abi.Major, abi.Minor)
	}
	if len(d.ID) > maxIDLen || !idPattern.MatchString(d.ID) {
		return fmt.Errorf("descriptor: bad id %q (want kind.name, lower case, at most %d characters)", d.ID, maxIDLen)
	}
	specs, ok := abi.KindHooks[d.Kind]
	if !ok {
		return fmt.Errorf("descriptor: unknown kind %q", d.Kind)
	}
	if !strings.HasPrefix(d.ID, string(d.Kind)+".") {
		return fmt.Errorf("descriptor: id %q is not in its kind's namespace %q", d.ID, string(d.Kind)+".")
	}
	if d.Version == "" || len(d.Version) > 64 {
		return errors.New("descriptor: version missing or too long")
	}
	if len(d.Name) > 256 || len(d.Description) > maxTextField {
		return errors.New("descriptor: name or description too long")
	}
	for _, s := range specs {
		if s.Required && !slices.Contains(d.Hooks, s.Name) {
			return fmt.Errorf("descriptor: a %s plugin must implement hook %q", d.Kind, s.Name)
		}
	}
	for _, hk := range d.Hooks {
		if !slices.ContainsFunc(specs, func(s abi.HookSpec) bool { return s.Name == hk }) {
			return fmt.Errorf("descriptor: hook %q is not a %s hook", hk, d.Kind)
		}
		if !slices.Contains(exported, hk) {
			return fmt.Errorf("descriptor: declares hook %q but does not export %q", hk, abi.HookExport(hk))
		}
	}
	for _, c := range d.Capabilities {
		if !slices.Contains(abi.Capabilities, c) {
			return fmt.Errorf("descriptor: unknown capability %q", c)
		}
	}
	if len(d.Codes) > maxCodes {
		return fmt.Errorf("descriptor: more than %d codes", maxCodes)
	}
	for _, c := range d.Codes {
		if len(c) > maxCodeLen || !codePattern.MatchString(c) {
			return fmt.Errorf("descriptor: bad code %q (want UPPER_SNAKE_CASE)", c)
		}
	}
	if d.ConfigSchema != "" && !json.Valid([]byte(d.ConfigSchema)) {
		return errors.New("descriptor: config schema is not valid JSON")
	}
	if _, err := ResolveTwoFactorInfo(*d); err != nil {
		return err
	}
	return nil
}

func (p *plugin) instantiateHostModules(ctx context.Context, caps []string) error {
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, p.rt); err != nil {
		return fmt.Errorf("instantiate WASI: %w", err)
	}
	if err := p.instantiateCore(ctx); err != nil {
		return fmt.Errorf("instantiate %s: %w", abi.HostModule, err)
	}
	for _, c := range caps {
		if err := instantiateModule(ctx, p, abi.CapabilityModule(c), capabilityImpls[c].funcs, true); err != nil {
			return fmt.Errorf("instantiate %s: %w", abi.CapabilityModule(c), err)
		}
	}
	return nil
}

// boundedSleep is WASI's nanosleep: it sleeps at most 10 ms at a time, so a
// guest that sleeps keeps reaching the back-edge checks that enforce its
// deadline.
func boundedSleep(ns int64) {
	if ns > int64(10*time.Millisecond) {
		ns = int64(10 * time.Millisecond)
	}
	if ns > 0 {
		time.Sleep(time.Duration(ns))
	}
}

func (p *plugin) status() PluginStatus {
	return PluginStatus{
		ID:        p.desc.ID,
		Kind:      string(p.desc.Kind),
		Name:      p.desc.Name,
		Version:   p.desc.Version,
		Source:    p.source,
		SHA256:    p.sha256,
		Loaded:    !p.pool.isClosed(),
		Calls:     p.calls.Load(),
		Failures:  p.failures.Load(),
		Instances: p.pool.live(),
		Created:   p.created.Load(),
		Discarded: p.discarded.Load(),
	}
}

func (p *plugin) close(ctx context.Context) error {
	if p.pool != nil {
		p.pool.close()
	}
	return p.rt.Close(ctx)
}

func (p *plugin) name() string {
	if p.desc != nil {
		return p.desc.ID
	}
	return p.source
}
