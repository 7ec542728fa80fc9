package host

import (
	"errors"
	"fmt"
	"time"
)

// Message codes of a PluginError. They are API: core puts them in the
// "message" of a 500 response, so they never change.
const (
	// CodeFailed: the plugin trapped, panicked, exited, reported its own
	// failure, or could not decode what the host sent it.
	CodeFailed = "PLUGIN_FAILED"
	// CodeTimeout: the call passed its deadline (the hook's or the caller's),
	// or no instance was free before it.
	CodeTimeout = "PLUGIN_TIMEOUT"
	// CodeUnavailable: no such plugin is loaded, it failed to load, it is of
	// another kind, the host is closed, or the plugin's circuit breaker is open
	// (it failed too often in a row; PluginError.RetryAfter says for how long).
	// It is the plugin's or the operator's fault, never the user's: core
	// answers it with 503.
	CodeUnavailable = "PLUGIN_UNAVAILABLE"
	// CodeBadOutput: the plugin returned an unknown status or output the host
	// cannot accept (undecodable, a denial without a reason, an undeclared
	// reason code, too large).
	CodeBadOutput = "PLUGIN_BAD_OUTPUT"
	// CodeMemoryLimit: the plugin failed with its memory at the limit.
	CodeMemoryLimit = "PLUGIN_MEMORY_LIMIT"
	// CodeRetry: a mailer asked to be retried later.
	CodeRetry = "PLUGIN_RETRY"
)

// Sentinel errors a PluginError may wrap.
var (
	// ErrNotLoaded is wrapped when no plugin with the id is loaded.
	ErrNotLoaded = errors.New("host: plugin not loaded")
	// ErrWrongKind is wrapped when a plugin is asked for a kind it is not.
	ErrWrongKind = errors.New("host: plugin is of another kind")
	// ErrClosed is wrapped once the host or the plugin is closed.
	ErrClosed = errors.New("host: closed")
	// ErrBadStatus is wrapped when a plugin returns a status the hook does not allow.
	ErrBadStatus = errors.New("host: unknown or disallowed status")
	// ErrCircuitOpen is wrapped when a plugin failed too often in a row and its calls fail
	// fast for a while (Config.BreakerThreshold, BreakerCooldown).
	ErrCircuitOpen = errors.New("host: circuit open: the plugin failed too often in a row")
	// ErrBadOutput is wrapped when a plugin's output is not acceptable.
	ErrBadOutput = errors.New("host: bad plugin output")
)

// PluginError is the error of every failed plugin call. A call that returns
// one never means "accepted": callers fail closed. Find it with errors.As and
// map Code to the response's message code.
type PluginError struct {
	// Plugin is the plugin's id (or its source, if it never loaded).
	Plugin string
	// Hook is the hook that was called, such as "password_check"; "" for
	// failures outside a call.
	Hook string
	// Code is one of the Code* constants.
	Code string
	// Err is the cause; it may match context.DeadlineExceeded,
	// context.Canceled, *sys.ExitError or one of this package's sentinels.
	Err error
	// RetryAfter, when positive, is how long the plugin's calls keep failing
	// fast (the rest of the circuit breaker's cooldown, with ErrCircuitOpen).
	RetryAfter time.Duration
}

// Error returns "plugin[id] hook[name] CODE: cause".
func (e *PluginError) Error() string {
	if e.Hook == "" {
		return fmt.Sprintf("plugin[%s] %s: %v", e.Plugin, e.Code, e.Err)
	}
	return fmt.Sprintf("plugin[%s] hook[%s] %s: %v", e.Plugin, e.Hook, e.Code, e.Err)
}

// Unwrap returns the cause.
func (e *PluginError) Unwrap() error { return e.Err }

// LoadError is returned by Load, LoadDir and LoadEmbedded for a plugin that
// cannot be loaded. The same text is in the plugin's Status.
type LoadError struct {
	// Source names where the module came from: a path, or "embedded:NAME".
	Source string
	// Plugin is the plugin's id if it got as far as describing itself.
	Plugin string
	// Err is the reason.
	Err error
}

// Error returns "plugin[source]: cause" or "plugin[id] (source): cause".
func (e *LoadError) Error() string {
	if e.Plugin == "" {
		return fmt.Sprintf("plugin[%s]: %v", e.Source, e.Err)
	}
	return fmt.Sprintf("plugin[%s] (%s): %v", e.Plugin, e.Source, e.Err)
}

// Unwrap returns the cause.
func (e *LoadError) Unwrap() error { return e.Err }
