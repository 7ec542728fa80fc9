// Package host loads Gatehouse plugins (WebAssembly modules speaking ABI v1,
// see ABI.md) and calls them.
//
// Each plugin gets its own wazero runtime with a memory limit, a bounded pool
// of instances (one call at a time per instance), per-hook deadlines, the
// real clock and a cryptographic random source. Any fault in a call (a trap,
// a deadline, the memory limit, bad output) fails that call closed with a
// *PluginError and throws the instance away; the next call gets a fresh one.
//
// Lifecycle: New, then Load / LoadDir / LoadEmbedded at start-up, then typed
// handles such as PasswordPolicy used concurrently, then Close.
package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/plugins"
	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/hashicorp/go-hclog"
	"github.com/tetratelabs/wazero"
)

// Version is the host's version, given to plugins in describe (for logs).
const Version = "gatehouse-host/1.0"

// Config configures a Host. The zero value of each field selects its default.
type Config struct {
	// CacheDir is the folder of the on-disk compilation cache (created 0700:
	// it holds native code). Compiling a Go plugin takes ~1 s; loading it from
	// the cache ~50 ms. The default "" keeps compiled code in memory only.
	CacheDir string

	// Logger receives host logs and plugins' log lines, stdout and stderr.
	// The default discards them.
	Logger hclog.Logger

	// Grants maps a plugin id to the capabilities the operator grants it
	// (such as "crypto"). A plugin that imports a capability it is not granted
	// does not load. The default grants nothing.
	Grants map[string][]string

	// PluginConfig maps a plugin id to its configuration, a JSON document
	// handed to the plugin's configure export at load. The default gives each
	// plugin an empty configuration.
	PluginConfig map[string][]byte

	// MemoryLimitMiB caps each instance's linear memory, in MiB. Default 64.
	MemoryLimitMiB int

	// MaxFileSize caps the size of a .wasm file LoadDir reads, in bytes. Default 64 MiB.
	MaxFileSize int64

	// HighWaterMiB: an instance whose memory is above this after a call is
	// thrown away (wasm memory never shrinks). Default: half of MemoryLimitMiB.
	HighWaterMiB int

	// PoolSize is the most instances of one plugin alive at once, so the most
	// concurrent calls into it. Default: the number of CPUs.
	PoolSize int

	// MaxConcurrentCalls bounds the hook calls running at once across every plugin (mailer
	// deliveries, which mostly wait on the network, are not counted). Guest code is not
	// preempted by Go's scheduler, so this keeps a looping plugin from taking every CPU the
	// server's other requests need. Default: the number of CPUs.
	MaxConcurrentCalls int

	// BreakerThreshold is the number of failed calls in a row after which a plugin's calls
	// fail fast for BreakerCooldown (PLUGIN_FAILED, "circuit open"); the first call after the
	// cooldown tries the plugin again. Defaults 5 and 1 s.
	BreakerThreshold int
	BreakerCooldown  time.Duration

	// RecycleAfter: an instance is thrown away after this many calls.
	// Default 100000.
	RecycleAfter int

	// IdleTimeout: an instance unused this long is thrown away, so a plugin
	// that serves nothing holds no linear memory (a Go plugin's runtime holds
	// tens of MiB); its next call makes a new one (instantiation: about a
	// millisecond for an AssemblyScript plugin, tens of milliseconds for a Go
	// one). Checked every IdleTimeout/2 (at most every 30 s). Default 5
	// minutes; negative keeps idle instances forever.
	IdleTimeout time.Duration

	// CallTimeout is the deadline of one hook call, including waiting for an
	// instance and making one. Default 1 s; HookTimeouts overrides it per hook.
	CallTimeout time.Duration

	// HookTimeouts maps a hook name (such as "mailer_deliver") to its
	// deadline. Default: 30 s for mailer_deliver, CallTimeout for the others.
	HookTimeouts map[string]time.Duration

	// StartTimeout bounds making one instance at load (instantiation,
	// _initialize, describe and configure). Default 30 s.
	StartTimeout time.Duration

	// LogLinesPerSecond caps the lines one plugin may log (log calls, stdout
	// and stderr together) per second; the rest are counted and dropped.
	// Default 50.
	LogLinesPerSecond int

	// Clock gives the "now" passed in every request. Default time.Now.
	Clock func() time.Time

	// Observer, when set, is told of every hook call: the plugin, the hook, how long the call
	// took (waiting for an instance included) and the PluginError code, "" on success. It
	// feeds metrics; it must be fast and must not block.
	Observer func(plugin, hook string, d time.Duration, code string)

	// SMTP is the relay of the smtp capability. Default: none (every send
	// fails temporarily).
	SMTP SMTPConfig

	// OutboxDir is the folder the outbox capability writes messages into
	// (created 0700). Default "": every write fails temporarily.
	OutboxDir string

	// HTTPConnections are the named destinations of the http capability,
	// by name; New refuses an invalid one. Default none.
	HTTPConnections map[string]HTTPConnection

	// RequestID returns the id of the request a hook call is made for, read
	// from the call's context (the server reads core/reqctx). It fills the
	// request_id of every call whose input names none, and the host's and the
	// plugin's log lines of the call carry it as request_id. Default: none.
	RequestID func(context.Context) string

	// SkipEmbedded are first-party plugins, by name (plugins.FirstParty), that LoadEmbedded
	// does not load. Default none.
	SkipEmbedded []string

	// grantAll grants every capability a module imports (Inspect only).
	grantAll bool
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = hclog.NewNullLogger()
	}
	if c.MemoryLimitMiB <= 0 {
		c.MemoryLimitMiB = 64
	}
	if c.MemoryLimitMiB > 4096 {
		c.MemoryLimitMiB = 4096
	}
	if c.HighWaterMiB <= 0 || c.HighWaterMiB > c.MemoryLimitMiB {
		c.HighWaterMiB = c.MemoryLimitMiB / 2
	}
	cpus := min(runtime.NumCPU(), runtime.GOMAXPROCS(0))
	if c.PoolSize <= 0 {
		c.PoolSize = cpus
	}
	if c.MaxConcurrentCalls <= 0 {
		c.MaxConcurrentCalls = cpus
	}
	if c.BreakerThreshold <= 0 {
		c.BreakerThreshold = 5
	}
	if c.BreakerCooldown <= 0 {
		c.BreakerCooldown = time.Second
	}
	if c.RecycleAfter <= 0 {
		c.RecycleAfter = 100000
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 5 * time.Minute
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = time.Second
	}
	hooks := map[string]time.Duration{abi.HookMailerDeliver: 30 * time.Second}
	for k, v := range c.HookTimeouts {
		if v > 0 {
			hooks[k] = v
		}
	}
	c.HookTimeouts = hooks
	if c.StartTimeout <= 0 {
		c.StartTimeout = 30 * time.Second
	}
	if c.LogLinesPerSecond <= 0 {
		c.LogLinesPerSecond = 50
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	return c
}

func (c *Config) hookTimeout(hook string) time.Duration {
	if d, ok := c.HookTimeouts[hook]; ok {
		return d
	}
	return c.CallTimeout
}

func (c *Config) granted(id, capability string) bool {
	if c.grantAll {
		return true
	}
	for _, g := range c.Grants[id] {
		if g == capability {
			return true
		}
	}
	return false
}

// Host holds the loaded plugins. Its methods are safe for concurrent use.
type Host struct {
	cfg   Config
	log   hclog.Logger
	cache wazero.CompilationCache
	// transports serve the smtp, outbox and http capabilities.
	transports *transports

	// cpu holds one token per hook call running guest code (MaxConcurrentCalls).
	cpu chan struct{}

	mu      sync.RWMutex
	plugins map[string]*plugin // loaded, by id
	order   []*plugin          // loaded, in load order
	failed  []PluginStatus     // loads that failed
	closed  bool
	// stopReaper ends the goroutine that drops idle instances (IdleTimeout).
	stopReaper chan struct{}
}

// New returns a host with no plugins loaded.
func New(ctx context.Context, cfg Config) (*Host, error) {
	cfg = cfg.withDefaults()
	h := &Host{cfg: cfg, log: cfg.Logger.Named("plugins"), plugins: map[string]*plugin{}, cpu: make(chan struct{}, cfg.MaxConcurrentCalls)}
	t, err := newTransports(&h.cfg)
	if err != nil {
		return nil, err
	}
	h.transports = t
	if cfg.CacheDir != "" {
		if err := os.MkdirAll(cfg.CacheDir, 0o700); err != nil {
			return nil, fmt.Errorf("host: compilation cache: %w", err)
		}
		if err := os.Chmod(cfg.CacheDir, 0o700); err != nil {
			return nil, fmt.Errorf("host: compilation cache: %w", err)
		}
		c, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("host: compilation cache: %w", err)
		}
		h.cache = c
	} else {
		h.cache = wazero.NewCompilationCache()
	}
	if cfg.IdleTimeout > 0 {
		h.stopReaper = make(chan struct{})
		go h.dropIdleInstances(cfg.IdleTimeout)
	}
	return h, nil
}

// dropIdleInstances throws away, every timeout/2 (at most every 30 s), the instances that
// went unused for timeout, until Close.
func (h *Host) dropIdleInstances(timeout time.Duration) {
	t := time.NewTicker(min(timeout/2, 30*time.Second))
	defer t.Stop()
	for {
		select {
		case <-h.stopReaper:
			return
		case now := <-t.C:
			h.mu.RLock()
			ps := slices.Clone(h.order)
			h.mu.RUnlock()
			for _, p := range ps {
				if n := p.pool.dropIdle(now.Add(-timeout)); n > 0 {
					p.log.Debug("idle instances dropped", "count", n)
				}
			}
		}
	}
}

// Load validates and compiles one plugin module and makes its first
// instance. source names it in logs and Status (a path, or "embedded:NAME").
// A plugin that cannot load is recorded in Status with the reason, and the
// same reason is returned as a *LoadError; the host stays usable.
func (h *Host) Load(ctx context.Context, source string, wasm []byte) error {
	h.mu.RLock()
	closed := h.closed
	h.mu.RUnlock()
	if closed {
		return &LoadError{Source: source, Err: ErrClosed}
	}
	p, info, err := load(ctx, h, source, wasm)
	if err == nil {
		h.mu.Lock()
		switch prev, dup := h.plugins[p.desc.ID]; {
		case h.closed:
			err = ErrClosed
		case dup:
			err = fmt.Errorf("duplicate plugin id %q, already loaded from %s", p.desc.ID, prev.source)
		default:
			h.plugins[p.desc.ID] = p
			h.order = append(h.order, p)
		}
		h.mu.Unlock()
		if err != nil {
			p.close(ctx)
		}
	}
	if err != nil {
		le := &LoadError{Source: source, Err: err}
		st := PluginStatus{Source: source, Error: err.Error(), SHA256: info.sha256}
		if info.desc != nil {
			le.Plugin = info.desc.ID
			st.ID, st.Kind, st.Name, st.Version = info.desc.ID, string(info.desc.Kind), info.desc.Name, info.desc.Version
			st.desc = info.desc
		}
		h.mu.Lock()
		h.failed = append(h.failed, st)
		h.mu.Unlock()
		h.log.Error("plugin not loaded", "source", source, "plugin", le.Plugin, "error", err)
		return le
	}
	h.log.Info("plugin loaded", "plugin", p.desc.ID, "version", p.desc.Version, "source", source)
	return nil
}

// LoadDir loads every *.wasm file in dir, in name order. It goes on past a
// plugin that fails and returns the failures joined.
//
// Only regular files (or symlinks to regular files) named *.wasm, not hidden, are plugins.
// Everything else in the folder (a README, an editor's backup, a macOS ._ file, a folder, a
// FIFO or a device, even named *.wasm) is ignored: logged once here, and not reported by
// Status, so a stray file does not make the server unready. A plugin file is opened without
// blocking (a FIFO swapped in cannot hang the start), checked again on the open descriptor,
// and read up to Config.MaxFileSize: a larger one fails to load.
func (h *Host) LoadDir(ctx context.Context, dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("host: plugins folder: %w", err)
	}
	var notRegular, ignored []string
	var loadErrs []error
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".wasm") || strings.HasPrefix(name, ".") {
			ignored = append(ignored, name)
			continue
		}
		path := filepath.Join(dir, name)
		if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
			notRegular = append(notRegular, name)
			continue
		}
		wasm, err := readPluginFile(path, h.maxFileSize())
		if errors.Is(err, errNotRegular) {
			notRegular = append(notRegular, name)
			continue
		}
		if err != nil {
			loadErrs = append(loadErrs, h.recordFailure(path, err))
			continue
		}
		if err := h.Load(ctx, path, wasm); err != nil {
			loadErrs = append(loadErrs, err)
		}
	}
	if len(ignored) > 0 {
		h.log.Info("plugins folder: not plugins, ignored", "dir", dir, "files", strings.Join(ignored, ", "))
	}
	if len(notRegular) > 0 {
		h.log.Warn("plugins folder: not regular files, ignored", "dir", dir, "files", strings.Join(notRegular, ", "))
	}
	return errors.Join(loadErrs...)
}

// errNotRegular: the path is not a regular file (a FIFO, a device, a folder).
var errNotRegular = errors.New("not a regular file")

func (h *Host) maxFileSize() int64 {
	if h.cfg.MaxFileSize > 0 {
		return h.cfg.MaxFileSize
	}
	return 64 << 20
}

// readPluginFile reads a regular file of at most limit bytes. It opens with O_NONBLOCK, so
// opening a FIFO returns at once, and checks the open descriptor (not the path, which may have
// changed since) is a regular file before reading.
func readPluginFile(path string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errNotRegular
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%d bytes: larger than the limit of %d bytes (GATEHOUSE_PLUGIN_MAX_SIZE)", fi.Size(), limit)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("larger than the limit of %d bytes (GATEHOUSE_PLUGIN_MAX_SIZE)", limit)
	}
	return b, nil
}

// LoadEmbedded loads the first-party plugins built into the binary (see
// package plugins). A plugin missing from this build (the binary was built
// without `make plugins`) is recorded in Status and reported as an error.
func (h *Host) LoadEmbedded(ctx context.Context) error {
	var errs []error
	for _, name := range plugins.FirstParty {
		if slices.Contains(h.cfg.SkipEmbedded, name) {
			h.log.Info("first-party plugin skipped (GATEHOUSE_SKIP_PLUGINS)", "name", name)
			continue
		}
		source := "embedded:" + name
		wasm, err := plugins.Wasm(name)
		if err != nil {
			errs = append(errs, h.recordFailure(source, err))
			continue
		}
		if err := h.Load(ctx, source, wasm); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (h *Host) recordFailure(source string, err error) error {
	h.mu.Lock()
	h.failed = append(h.failed, PluginStatus{Source: source, Error: err.Error()})
	h.mu.Unlock()
	h.log.Error("plugin not loaded", "source", source, "error", err)
	return &LoadError{Source: source, Err: err}
}

// PluginStatus describes one plugin for /readyz and the logs.
type PluginStatus struct {
	ID      string `json:"id,omitempty"`
	Kind    string `json:"kind,omitempty"`
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
	Source  string `json:"source"`
	SHA256  string `json:"sha256,omitempty"`
	// Loaded is false for a plugin that could not load; Error says why.
	Loaded bool   `json:"loaded"`
	Error  string `json:"error,omitempty"`
	// Calls and Failures count hook calls since load.
	Calls    uint64 `json:"calls"`
	Failures uint64 `json:"failures"`
	// Instances is the number alive now; Created and Discarded count them
	// since load (Discarded counts recycling as well as faults).
	Instances int    `json:"instances"`
	Created   uint64 `json:"created"`
	Discarded uint64 `json:"discarded"`

	// desc is the descriptor of a plugin that described itself and then failed to load.
	desc *abi.Descriptor
}

// Status lists the loaded plugins in load order, then the ones that failed.
func (h *Host) Status() []PluginStatus {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]PluginStatus, 0, len(h.order)+len(h.failed))
	for _, p := range h.order {
		out = append(out, p.status())
	}
	return append(out, h.failed...)
}

// UnloadedDescriptors returns the descriptors of the plugins of a kind ("" for all) that
// described themselves and then failed to load (a capability not granted, a configuration
// refused, a bad descriptor), whose id no loaded plugin has, in the order they failed. The
// server serves such a 2FA method's routes with 503 PLUGIN_UNAVAILABLE, so that a user who had
// enabled it is told why instead of 404.
func (h *Host) UnloadedDescriptors(kind string) []Descriptor {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var out []Descriptor
	seen := map[string]bool{}
	for _, st := range h.failed {
		if st.desc == nil || seen[st.ID] || h.plugins[st.ID] != nil || kind != "" && st.Kind != kind {
			continue
		}
		seen[st.ID] = true
		out = append(out, cloneDescriptor(st.desc))
	}
	return out
}

// Descriptor returns the descriptor of a loaded plugin.
func (h *Host) Descriptor(id string) (Descriptor, bool) {
	p, err := h.get(id, "")
	if err != nil {
		return Descriptor{}, false
	}
	return cloneDescriptor(p.desc), true
}

// IDs returns the ids of the loaded plugins of a kind ("" for all), sorted.
func (h *Host) IDs(kind string) []string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var ids []string
	for id, p := range h.plugins {
		if kind == "" || string(p.desc.Kind) == kind {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

func (h *Host) get(id string, kind abi.Kind) (*plugin, error) {
	h.mu.RLock()
	p, ok := h.plugins[id]
	closed := h.closed
	h.mu.RUnlock()
	switch {
	case closed:
		return nil, &PluginError{Plugin: id, Code: CodeUnavailable, Err: ErrClosed}
	case !ok:
		return nil, &PluginError{Plugin: id, Code: CodeUnavailable, Err: ErrNotLoaded}
	case kind != "" && p.desc.Kind != kind:
		return nil, &PluginError{Plugin: id, Code: CodeUnavailable,
			Err: fmt.Errorf("%w: %s, not %s", ErrWrongKind, p.desc.Kind, kind)}
	}
	return p, nil
}

// Close closes every plugin (calls in flight fail with PLUGIN_UNAVAILABLE or
// PLUGIN_FAILED) and the compilation cache. It is safe to call twice.
func (h *Host) Close(ctx context.Context) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	ps := h.order
	if h.stopReaper != nil {
		close(h.stopReaper)
	}
	h.mu.Unlock()
	var errs []error
	for _, p := range ps {
		errs = append(errs, p.close(ctx))
	}
	errs = append(errs, h.cache.Close(ctx))
	h.transports.close()
	return errors.Join(errs...)
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
