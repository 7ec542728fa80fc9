// Package server assembles a Gatehouse server from its configuration: store, keys, plugins,
// use cases and the HTTP API, and runs it until it is told to stop.
package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/valyala/fasthttp"

	"github.com/gatehouse/gatehouse/core/admin"
	"github.com/gatehouse/gatehouse/core/api"
	"github.com/gatehouse/gatehouse/core/audit"
	"github.com/gatehouse/gatehouse/core/auth"
	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/failure"
	"github.com/gatehouse/gatehouse/core/limit"
	"github.com/gatehouse/gatehouse/core/mail"
	"github.com/gatehouse/gatehouse/core/maildomain"
	"github.com/gatehouse/gatehouse/core/otp"
	"github.com/gatehouse/gatehouse/core/password"
	"github.com/gatehouse/gatehouse/core/recovery"
	"github.com/gatehouse/gatehouse/core/seal"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/core/token"
	"github.com/gatehouse/gatehouse/core/twofactor"
	"github.com/gatehouse/gatehouse/host"
)

// NewLogger returns the process logger for cfg.
func NewLogger(cfg config.Config) hclog.Logger {
	return newLoggerTo(cfg.LogFormat, cfg.LogLevel, redactingWriter{os.Stderr}) // never a token or a secret in the log
}

func newLoggerTo(format, level string, w io.Writer) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:       "gatehouse",
		Level:      hclog.LevelFromString(level),
		JSONFormat: format == "json",
		Output:     w,
	})
}

// newAuditLogger is the logger of the audit events' "gatehouse.audit" lines: the process log
// (module gatehouse.audit), at info, so written unless GATEHOUSE_LOG_LEVEL is warn or error.
func newAuditLogger(log hclog.Logger) hclog.Logger {
	return log.Named("audit")
}

// Admin returns the operators' use cases (for tests and admin commands).
func (s *Server) Admin() *admin.Service { return s.admin }

// Server is an assembled Gatehouse.
type Server struct {
	cfg   config.Config
	log   hclog.Logger
	store store.Store
	auth  *auth.Service
	// twoFactor is the 2FA framework.
	twoFactor *twofactor.Service
	outbox    *mail.Outbox
	plugins   *host.Host
	sealer    *seal.Sealer
	router    *api.Router
	http      *fasthttp.Server
	closed    atomic.Bool
	keysMu    sync.Mutex // serialises reloads of the signing keys
	// proxies are the trusted reverse proxies (GATEHOUSE_TRUSTED_PROXIES).
	proxies api.TrustedProxies
	// audit records the security events; admin runs the operators' use cases.
	audit *audit.Log
	admin *admin.Service
	// adminHTTP serves the admin API on GATEHOUSE_ADMIN_ADDR when it is set.
	adminHTTP *fasthttp.Server
	// steps times the start-up (debug log lines), until the listener is open.
	steps *stepTimer
	// pluginsLoaded waits until the plugins Open loads beside the store are loaded.
	pluginsLoaded func() error
}

// Open builds a server from cfg: opens the store, loads or creates the keys, and registers the
// routes. It does not listen yet.
func Open(cfg config.Config, log hclog.Logger) (*Server, error) {
	steps := newStepTimer(log)
	s := &Server{cfg: cfg, log: log, steps: steps}
	// The plugins load (compiled, or read from the compilation cache, then instantiated and
	// described) while the store opens and the keys load: neither needs the other.
	loaded := make(chan struct{})
	var pluginsErr error
	go func() {
		defer close(loaded)
		pluginsErr = s.openPlugins(context.Background())
	}()
	s.pluginsLoaded = func() error { <-loaded; return pluginsErr }
	closePlugins := func() {
		_ = s.pluginsLoaded()
		if s.plugins != nil {
			s.plugins.Close(context.Background())
		}
	}
	st, err := openStore(cfg, log.Named("store"))
	if err != nil {
		closePlugins()
		return nil, err
	}
	steps.step("store open")
	s.store = st
	if err := s.assemble(); err != nil {
		closePlugins()
		st.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) assemble() error {
	cfg := s.cfg
	for _, p := range cfg.TrustedProxies {
		prefix, err := config.ParsePrefix(p)
		if err != nil {
			return fmt.Errorf("server: GATEHOUSE_TRUSTED_PROXIES: %w", err)
		}
		s.proxies = append(s.proxies, prefix)
	}
	sealer, err := loadSealer(cfg, s.store)
	if err != nil {
		return err
	}
	s.sealer = sealer
	s.steps.step("master key")
	now := time.Now
	keys, err := token.EnsureKeys(s.store, sealer, now())
	if err != nil {
		return err
	}
	minter, err := token.NewMinter(cfg.Issuer, token.Lifetimes{
		token.Refresh: cfg.RefreshTTL, token.Access: cfg.AccessTTL,
		token.Sudo: cfg.SudoTTL, token.Partial: cfg.PartialTTL,
	}, keys, now)
	if err != nil {
		return err
	}
	s.steps.step("signing keys")
	if err := s.pluginsLoaded(); err != nil {
		return err
	}
	s.steps.step("plugins (loaded beside the store; the wait for them)")
	policy := s.passwordPolicies()
	limiter := limit.New(s.store, limit.DefaultPolicy, now)
	limiter.SetUnknownKey(sealer.Derive("limiter buckets of unknown subjects"))
	// Only the configured origins get templates of their own (an origin named in a request
	// never grows the template cache).
	templates, err := mail.NewTemplates(cfg.MailTemplates, append([]string{cfg.LinkBase(cfg.Addr)}, cfg.Origins...)...)
	if err != nil {
		return err
	}
	transport, err := s.mailTransport()
	if err != nil {
		return err
	}
	nodeID, err := nodeID(cfg.DataDir)
	if err != nil {
		return err
	}
	s.steps.step("mail templates and node id")
	s.outbox = &mail.Outbox{Store: s.store, Templates: templates, Mailer: transport, Sealer: sealer, NodeID: nodeID, From: cfg.SMTPFrom, Now: now, Log: s.log.Named("mail")}
	s.auth = &auth.Service{
		Store:                s.store,
		Hasher:               password.NewHasher(password.Params{Memory: cfg.Argon2Memory, Time: cfg.Argon2Time, Threads: cfg.Argon2Threads}, cfg.HashConcurrency, cfg.HashQueueTimeout),
		Policy:               policy,
		Limiter:              limiter,
		Minter:               minter,
		DenyList:             maildomain.Shipped(cfg.DenyDomains...),
		Mail:                 mailQueue{s.outbox},
		Codes:                otp.New(sealer.Derive("mailed codes")),
		Links:                auth.Links{PublicURL: cfg.LinkBase(cfg.Addr), Origins: cfg.Origins},
		Now:                  now,
		Log:                  s.log.Named("auth"),
		RegistrationOpen:     cfg.RegistrationOpen(),
		ServiceName:          cfg.DisplayName,
		DeviceKey:            sealer.Derive("device tokens"),
		NoticesOff:           noticesOff(cfg.Notices),
		RequireVerifiedEmail: cfg.VerifyEmail == "required",
	}
	s.twoFactor = &twofactor.Service{
		Store:    s.store,
		Sealer:   sealer,
		Limiter:  limiter,
		Recovery: recovery.NewKeeper(sealer.Derive("recovery codes")),
		Auth:     s.auth,
		Now:      now,
		Log:      s.log.Named("2fa"),
		Site:     site(cfg),
	}
	s.auth.SecondFactors = s.twoFactor
	s.steps.step("use cases")
	// The caches follow the store's change notices, from this process and any other on the
	// same store; so do the signing keys (a rotation through another node).
	s.auth.WatchChanges()
	s.twoFactor.WatchChanges()
	s.store.Subscribe(store.TopicKeys, func(string) { go s.reloadKeys() })
	s.steps.step("change notices")
	s.registerTwoFactorPlugins() // one method per loaded twofactor plugin (plugin_twofactor.go)
	s.steps.step("2FA methods")
	s.router = api.NewRouter(s.auth, s.log.Named("api"))
	s.router.SetCORS(api.NewCORS(cfg.Origins))
	s.router.SetTrustedProxies(s.proxies)
	admins, err := api.ParseAdminTokens(cfg.AdminToken)
	if err != nil {
		return fmt.Errorf("server: GATEHOUSE_ADMIN_TOKEN: %w", err)
	}
	s.audit = &audit.Log{Retention: cfg.AuditRetention, Logger: newAuditLogger(s.log), Now: now}
	s.auth.Audit = s.audit
	s.admin = &admin.Service{Store: s.store, Auth: s.auth, TwoFactor: s.twoFactor, Outbox: s.outbox, Audit: s.audit}
	s.router.SetAdmin(admins, cfg.AdminAddr != "")
	s.router.Add(api.AuthRoutes(s.auth, admins)...)
	s.router.Add(api.TwoFactorRoutes(s.twoFactor)...)
	s.router.Add(api.MailRoutes(s.auth)...)
	s.router.Add(api.AccountRoutes(s.auth, s.admin.Erase)...)
	s.router.Add(api.AdminRoutes(s.admin)...)
	s.router.Add(api.OperationRoutes(s)...)
	s.router.Add(api.DocRoutes(s.router, Version, ownURL(cfg))...)
	s.router.Add(api.AccountPageRoutes(api.AccountPage{ServiceName: cfg.DisplayName, RegistrationOpen: cfg.RegistrationOpen(), VerifyEmail: cfg.VerifyEmail == "required"})...)
	s.registerMetrics()
	s.steps.step("routes")
	// Compiling and instantiating the plugins leaves garbage (tens of MiB with a Go plugin) that
	// an idle server would otherwise hold until the next GC cycle: give it back now, once.
	debug.FreeOSMemory()
	s.steps.step("start-up garbage returned")
	return nil
}

// noticesOff is the set of security notices GATEHOUSE_NOTICES leaves out.
func noticesOff(on []string) map[string]bool {
	off := map[string]bool{}
	for _, e := range config.NoticeEvents {
		if !slices.Contains(on, e) {
			off[e] = true
		}
	}
	return off
}

// nodeID returns this node's id, kept in the data folder (created on the first start): the same
// across restarts, different for each node sharing a store.
func nodeID(dataDir string) (string, error) {
	path := filepath.Join(dataDir, "node.id")
	if b, err := os.ReadFile(path); err == nil && len(bytes.TrimSpace(b)) > 0 {
		return string(bytes.TrimSpace(b)), nil
	}
	id := token.RandomID()
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("server: node id: %w", err)
	}
	return id, nil
}

// mailTransport returns the configured mailer plugin as the outbox's mail.Mailer.
func (s *Server) mailTransport() (mail.Mailer, error) {
	id := s.cfg.MailerPlugin()
	if id == "mailer.outbox" {
		s.log.Info("mail is written to the outbox folder, not sent", "dir", filepath.Join(s.cfg.DataDir, "outbox"))
	}
	return pluginMailer{host: s.plugins, id: id}, nil
}

// mailQueue adapts the outbox to auth.Mailer.
type mailQueue struct{ o *mail.Outbox }

func (m mailQueue) Enqueue(txn store.Txn, out mail.Outgoing) error { return m.o.Enqueue(txn, out) }

func (m mailQueue) Check(purpose, origin, language string) error {
	_, err := m.o.Templates.Render(purpose, origin, language, nil)
	return err
}

// Auth returns the use-case service (for admin commands).
func (s *Server) Auth() *auth.Service { return s.auth }

// Store returns the store (for admin commands).
func (s *Server) Store() store.Store { return s.store }

// Ready implements api.Health.
func (s *Server) Ready() error {
	if s.closed.Load() {
		return failure.Unavailable("STORE_CLOSED")
	}
	if r, ok := s.store.(store.Readier); ok {
		if err := r.Ready(); err != nil {
			return failure.Unavailable("STORE_UNAVAILABLE")
		}
	}
	return s.pluginsReady()
}

// Serve listens on cfg.Addr and serves until ctx is done, then stops accepting, drains
// in-flight requests (bounded by the shutdown timeout) and closes the store. ready, if not
// nil, receives the bound address once the listener is open.
func (s *Server) Serve(ctx context.Context, ready func(addr net.Addr)) error {
	tcp, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		s.Close()
		return fmt.Errorf("server: listen %s: %w", s.cfg.Addr, err)
	}
	// Without GATEHOUSE_PUBLIC_URL the links in emails lead to this server as bound (a port 0
	// made concrete); set before the first request is served.
	s.auth.Links.PublicURL = s.cfg.LinkBase(tcp.Addr().String())
	limits := s.connLimits()
	ln := newLimitListener(tcp, limits, s.log.Named("http"))
	s.http = &fasthttp.Server{
		Handler:               s.router.Handler,
		ErrorHandler:          parseErrorHandler,
		Name:                  "gatehouse",
		MaxRequestBodySize:    s.cfg.BodyLimit,
		ReadBufferSize:        16 << 10, // headers up to 16 KiB: an id_token cookie may be 4 KiB
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           2 * time.Minute,
		NoDefaultServerHeader: true,
		CloseOnShutdown:       true,
		Logger:                fasthttpLogger{s.log.Named("http")},
	}
	s.log.Info("listening", "addr", ln.Addr().String(), "data", s.cfg.DataDir, "registration", s.cfg.Registration,
		"max_conns", limits.total, "max_conns_per_ip", limits.perIP, "trusted_proxies", len(s.proxies))
	s.steps.step("listening")
	stopAdmin, err := s.serveAdmin(ctx)
	if err != nil {
		ln.Close()
		s.Close()
		return err
	}
	defer stopAdmin()
	stopAdminAPI, err := s.serveAdminAPI()
	if err != nil {
		ln.Close()
		stopAdmin()
		s.Close()
		return err
	}
	// Ready once every listener is: the public one, the admin socket (a CLI command run right
	// after start dials it) and the admin API's own.
	if ready != nil {
		ready(ln.Addr())
	}
	defer stopAdminAPI()
	mailCtx, stopMail := context.WithCancel(context.Background())
	mailDone := s.outbox.Start(mailCtx)
	defer func() { stopMail(); <-mailDone }()
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(ln) }()
	select {
	case err := <-errc:
		stopMail()
		<-mailDone
		s.Close()
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down: draining requests")
	drainCtx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := s.http.ShutdownWithContext(drainCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		s.log.Warn("shutdown", "error", err)
	}
	stopMail()
	<-mailDone
	stopAdmin()
	return s.Close()
}

// Close closes the store (and plugins). It is safe to call twice.
func (s *Server) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	var errs []error
	if s.plugins != nil {
		errs = append(errs, s.plugins.Close(context.Background()))
	}
	errs = append(errs, s.store.Close())
	err := errors.Join(errs...)
	s.log.Info("stopped")
	return err
}

// parseErrorHandler answers a request fasthttp could not read (a body over the limit, a
// malformed header) in the error envelope, then has the connection linger on close: the request
// is not read to its end, and closing a socket with unread bytes resets it, which destroys the
// answer before most clients (those that do not send `Expect: 100-continue`) read it.
func parseErrorHandler(ctx *fasthttp.RequestCtx, err error) {
	api.ParseErrorHandler(ctx, err)
	if l, ok := ctx.Conn().(lingerer); ok {
		l.LingerOnClose()
	}
}

// connLimits are the caps of the public listener: the configured ones, the total kept below the
// open-file limit with room for the store, the plugins and the refusals.
func (s *Server) connLimits() connLimits {
	// Loopback peers and trusted proxies are exempt from the per-IP cap: behind a reverse proxy
	// on the same machine every connection comes from 127.0.0.1 or ::1.
	exempt := func(a netip.Addr) bool { return a.IsLoopback() || s.proxies.Contains(a) }
	limits := connLimits{total: s.cfg.MaxConns, perIP: s.cfg.MaxConnsPerIP, exempt: exempt, refusing: 32}
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil && rl.Cur < 1<<30 {
		files := int(rl.Cur)
		reserve := min(256, files/2) // the store, the plugin cache, the admin socket, SMTP...
		limits.refusing = max(1, min(32, reserve/4))
		if room := max(files-reserve, 1); room < limits.total {
			s.log.Warn("the open-file limit caps the connections below GATEHOUSE_MAX_CONNS", "open_files", files, "max_conns", room, "configured", limits.total)
			limits.total = room
		}
	}
	return limits
}

type fasthttpLogger struct{ l hclog.Logger }

func (f fasthttpLogger) Printf(format string, args ...any) { f.l.Debug(fmt.Sprintf(format, args...)) }

// site is what a 2FA method learns of the server (ABI v1.2): the accepted origins (the public
// URL's first, then GATEHOUSE_ORIGINS, each once), the relying party and the public URL.
func site(cfg config.Config) twofactor.Site {
	st := twofactor.Site{PublicURL: cfg.LinkBase(cfg.Addr)}
	st.RPID, st.RPName = cfg.RelyingParty()
	// The public URL's origin first; on a loopback address also its localhost twin, where a
	// browser may use passkeys (RelyingParty names localhost then).
	origins := []string{cfg.PublicOrigin(), config.LocalhostOrigin(cfg.PublicOrigin())}
	for _, o := range append(origins, cfg.Origins...) {
		o = strings.ToLower(strings.TrimRight(o, "/"))
		if o != "" && !slices.Contains(st.Origins, o) {
			st.Origins = append(st.Origins, o)
		}
	}
	return st
}
