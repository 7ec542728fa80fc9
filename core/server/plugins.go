package server

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/core/failure"
	"github.com/gatehouse/gatehouse/core/metrics"
	"github.com/gatehouse/gatehouse/core/password"
	"github.com/gatehouse/gatehouse/core/reqctx"
	"github.com/gatehouse/gatehouse/host"
	"github.com/gatehouse/gatehouse/sdk/abi"
)

// openPlugins starts the plugin host and loads the embedded first-party plugins and those of
// the plugins folder. A plugin that cannot load does not stop the server: it is logged, /readyz
// reports it, and every call that needs it fails closed.
func (s *Server) openPlugins(ctx context.Context) error {
	cacheDir := s.cfg.PluginCache
	if cacheDir == "" {
		cacheDir = filepath.Join(s.cfg.DataDir, "plugin-cache")
	}
	h, err := host.New(ctx, host.Config{
		CacheDir:        cacheDir,
		Logger:          s.log,
		Grants:          pluginGrants(s.cfg.PluginGrants),
		Clock:           time.Now,
		SMTP:            s.smtpConfig(),
		OutboxDir:       filepath.Join(s.cfg.DataDir, "outbox"),
		HTTPConnections: s.cfg.HTTPConnections,
		PluginConfig:    s.cfg.PluginConfig,
		MaxFileSize:     int64(s.cfg.PluginMaxSize),
		Observer:        metrics.ObservePluginCall,
		RequestID:       reqctx.ID, // every plugin call of a request names it
		IdleTimeout:     idleTimeout(s.cfg.PluginIdleTimeout),
		SkipEmbedded:    s.cfg.SkipPlugins,
	})
	if err != nil {
		return err
	}
	s.plugins = h
	start := time.Now()
	_ = h.LoadEmbedded(ctx) // failures are in Status and the log
	if s.cfg.PluginsDir != "" {
		_ = h.LoadDir(ctx, s.cfg.PluginsDir)
	}
	s.log.Info("plugins ready", "loaded", len(h.IDs("")), "duration", time.Since(start).Round(time.Millisecond))
	return s.checkConfiguredPlugins()
}

// checkConfiguredPlugins stops the start when a plugin the operator configured by id (in
// GATEHOUSE_PLUGIN_CONFIG or GATEHOUSE_PLUGIN_GRANTS) is not loaded: its configuration was
// refused (by its schema or its configure export: the error names the field), it failed to load,
// or no plugin has the id. A server that logs "ready" and then answers 500 helps nobody.
func (s *Server) checkConfiguredPlugins() error {
	loaded := map[string]bool{}
	for _, id := range s.plugins.IDs("") {
		loaded[id] = true
	}
	failed := map[string]string{}
	for _, st := range s.plugins.Status() {
		if !st.Loaded && st.ID != "" && failed[st.ID] == "" {
			failed[st.ID] = st.Error
		}
	}
	var errs []error
	check := func(setting string, ids []string) {
		for _, id := range ids {
			switch {
			case loaded[id]:
			case failed[id] != "":
				errs = append(errs, fmt.Errorf("server: plugin %s, configured in %s, did not load: %s", id, setting, failed[id]))
			default:
				where := "embedded"
				if s.cfg.PluginsDir != "" {
					where += " or in " + s.cfg.PluginsDir
				}
				errs = append(errs, fmt.Errorf("server: plugin %s, configured in %s, is not found (no plugin %s has that id; loaded: %s)", id, setting, where, strings.Join(s.plugins.IDs(""), ", ")))
			}
		}
	}
	check("GATEHOUSE_PLUGIN_CONFIG", sortedIDs(s.cfg.PluginConfig))
	check("GATEHOUSE_PLUGIN_GRANTS", sortedIDs(s.cfg.PluginGrants))
	return errors.Join(errs...)
}

func sortedIDs[V any](m map[string]V) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// pluginPolicy is a password-policy plugin as a password.Policy. The plugin is looked up at
// each call, so one that failed to load fails closed with PLUGIN_UNAVAILABLE.
type pluginPolicy struct {
	host *host.Host
	id   string
}

// Check implements password.Policy.
func (p pluginPolicy) Check(ctx context.Context, c password.Candidate) (password.Verdict, error) {
	pp, err := p.host.PasswordPolicy(p.id)
	if err != nil {
		return password.Verdict{}, err
	}
	reasons, err := pp.Check(ctx, abi.PasswordCheckRequest{Password: c.Password, Email: c.Email, Field: c.Field, ServiceName: c.ServiceName})
	if err != nil {
		return password.Verdict{}, err
	}
	v := password.Verdict{Accepted: reasons == nil}
	for _, r := range reasons {
		v.Reasons = append(v.Reasons, r.Message)
	}
	return v, nil
}

// passwordPolicies is the configured chain of password-policy plugins.
func (s *Server) passwordPolicies() password.Policy {
	var chain password.Chain
	for _, id := range s.cfg.PasswordPolicies {
		chain = append(chain, pluginPolicy{host: s.plugins, id: id})
	}
	return chain
}

// pluginsReady reports a plugin that did not load, or a configured one that is missing.
func (s *Server) pluginsReady() error {
	var problems []string
	for _, st := range s.plugins.Status() {
		if !st.Loaded {
			name := st.ID
			if name == "" {
				name = st.Source
			}
			problems = append(problems, name)
		}
	}
	loaded := map[string]bool{}
	for _, id := range s.plugins.IDs("") {
		loaded[id] = true
	}
	for _, id := range s.requiredPlugins() {
		if !loaded[id] {
			problems = append(problems, id)
		}
	}
	if len(problems) > 0 {
		return failure.Unavailable(fmt.Sprintf("PLUGIN_NOT_LOADED: %s", strings.Join(problems, ", ")))
	}
	return nil
}

// requiredPlugins are the plugin ids the configuration names.
func (s *Server) requiredPlugins() []string {
	return append(append([]string(nil), s.cfg.PasswordPolicies...), s.cfg.MailerPlugin())
}

// idleTimeout is the host's IdleTimeout for GATEHOUSE_PLUGIN_IDLE_TIMEOUT: 0 or less keeps idle
// instances (the host's -1).
func idleTimeout(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}
