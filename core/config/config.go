// Package config builds Gatehouse's one configuration value: defaults, then GATEHOUSE_*
// environment variables, then command-line flags. It is validated once at start-up and passed
// down; nothing reads configuration by key at request time.
package config

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/host"
	"github.com/gatehouse/gatehouse/plugins"
)

// Config is the whole configuration of a Gatehouse server.
type Config struct {
	// Addr is the listen address. Default 127.0.0.1:8080.
	Addr string
	// DataDir is the data folder (Badger store, keys, caches). Default ./data.
	DataDir string
	// Store is where the data lives: "badger" (or empty) for the embedded store in DataDir, or
	// a postgres:// (postgresql://) URL of a PostgreSQL database shared by every node.
	Store string
	// StoreMaxConns bounds the PostgreSQL pool's connections (0: max(4, CPUs)).
	StoreMaxConns int
	// MasterKeyFile is the master key's file. Default <data>/master.key; created on first
	// start when absent. Every node on one database must use the same file.
	MasterKeyFile string
	// Issuer is the `iss` claim of every token. Default "gatehouse".
	Issuer string
	// DisplayName is the service's name as people see it: the issuer an authenticator app
	// shows next to the code, and the {{.Service}} of mail subjects and texts. Default "Gatehouse".
	DisplayName string
	// Registration is "open" or "closed". Default closed.
	Registration string
	// AdminToken is the admin secrets, comma-separated, each optionally "name:secret": a
	// client holding one may call the admin API (/admin/) and register users while registration
	// is closed. Empty: no admin API (it answers 404), except through the admin socket.
	AdminToken string
	// AdminAddr, when set, is the only listener of the admin API (host:port); the main listener
	// answers 404 there.
	AdminAddr string
	// AuditRetention is how long audit events are kept. Default 2160h (90 days).
	AuditRetention time.Duration
	// LogLevel is trace, debug, info, warn or error. Default info.
	LogLevel string
	// LogFormat is text or json. Default text.
	LogFormat string

	// RefreshTTL, AccessTTL, SudoTTL and PartialTTL are token lifetimes.
	// Defaults 336h (14 days), 5m, 5m, 5m.
	RefreshTTL time.Duration
	AccessTTL  time.Duration
	SudoTTL    time.Duration
	PartialTTL time.Duration

	// Argon2Memory is the argon2id memory in KiB. Default 19456 (19 MiB).
	Argon2Memory uint32
	// Argon2Time is the argon2id iteration count. Default 2.
	Argon2Time uint32
	// Argon2Threads is the argon2id parallelism. Default 1.
	Argon2Threads uint8
	// HashConcurrency bounds the password hashes computed at once. Default: the number of CPUs.
	HashConcurrency int
	// HashQueueTimeout is how long a request waits for a hashing slot before a 503. Default 10s.
	HashQueueTimeout time.Duration

	// BodyLimit is the largest request body in bytes; larger gets 413. Default 16384.
	BodyLimit int
	// ShutdownTimeout bounds the drain of in-flight requests on SIGTERM. Default 10s.
	ShutdownTimeout time.Duration

	// MaxConns caps the open client connections; one more is answered 503 and closed. The
	// server also keeps it below the process's open-file limit (RLIMIT_NOFILE) so the store
	// and plugins keep file descriptors. Default 4096.
	MaxConns int
	// MaxConnsPerIP caps the open connections of one TCP peer address (trusted proxies and
	// loopback peers are exempt: they carry many clients); one more is answered 429 and closed.
	// Default 128.
	MaxConnsPerIP int
	// TrustedProxies are the CIDRs (or single addresses) of the reverse proxies whose
	// X-Forwarded-For header is believed. Default none: the client is the TCP peer.
	TrustedProxies []string
	// PluginMaxSize is the largest .wasm file loaded from PluginsDir, in bytes. Default 64 MiB.
	PluginMaxSize int

	// PluginsDir is a folder of extra .wasm plugins to load. Default none.
	PluginsDir string
	// SkipPlugins are first-party plugins, by name (plugins.FirstParty: passkey, totp, ...), that
	// are not loaded: neither compiled nor given memory. Default none (all load).
	SkipPlugins []string
	// Mailer is the mailer plugin that delivers email: "outbox" (mailer.outbox, for
	// development: .eml files in <data>/outbox), "smtp" (mailer.smtp, through SMTPAddr), or the
	// id of a mailer plugin from PluginsDir (such as "mailer.httpapi"). Default outbox.
	Mailer string
	// SMTPAddr is the SMTP relay (host:port) of the smtp mailer.
	SMTPAddr string
	// SMTPFrom is the sender address. Default gatehouse@localhost.
	SMTPFrom string
	// SMTPUsername and SMTPPassword enable AUTH PLAIN (only over TLS or to localhost).
	SMTPUsername string
	SMTPPassword string
	// SMTPStartTLS is "auto" (when offered), "always" or "never". Default auto.
	SMTPStartTLS string
	// MailTemplates is a folder of template overrides. Default none.
	MailTemplates string
	// PublicURL is the base of links in emails when the request's origin is not allowed.
	// Default "": the server itself (http://<Addr>, see LinkBase), whose /account/ page opens
	// the reset link.
	PublicURL string
	// Origins are the origins allowed as the base of links in emails and to call the API from a
	// browser (CORS, with credentials). Default none.
	Origins []string
	// WebAuthnRPID is the relying party id passkeys are bound to: a host name that is the
	// public URL's host or a parent domain of it. Default: the public URL's host.
	WebAuthnRPID string
	// WebAuthnRPName is the relying party's name an authenticator shows. Default: DisplayName.
	WebAuthnRPName string
	// DenyDomains extend the shipped list of forbidden mail domains ("*.example" for subdomains).
	DenyDomains []string

	// BadgerMemTableMiB, BadgerBlockCacheMiB and BadgerIndexCacheMiB size the embedded store's
	// memory, in MiB. Defaults 16, 32 and 16: a small box; grow the caches for a big store.
	BadgerMemTableMiB   int
	BadgerBlockCacheMiB int
	BadgerIndexCacheMiB int
	// PluginIdleTimeout: a plugin instance unused this long is dropped (its memory freed) and
	// made again at the next call. Default 5 minutes; 0 or negative keeps idle instances.
	PluginIdleTimeout time.Duration
	// PluginCache is the folder of the plugins' compilation cache. Default <data>/plugin-cache.
	PluginCache string
	// PluginGrants are the capabilities granted to plugins, as plugin id → capabilities. The
	// first-party plugins get theirs without it (mailer.smtp: smtp, mailer.outbox: outbox,
	// twofactor.totp and twofactor.passkey: crypto).
	PluginGrants map[string][]string
	// HTTPConnections are the named destinations of the http capability, by name: a JSON
	// object, or the path of a file holding one. Default none.
	HTTPConnections map[string]host.HTTPConnection
	// PluginConfig is each plugin's configuration, by plugin id: a JSON object, validated at
	// start-up against the schema the plugin declares and handed to its configure export.
	// Given as a JSON object of objects, or @file holding one. Default none.
	PluginConfig map[string][]byte

	// PasswordPolicies are the password-policy plugin ids that run, in order; all must accept.
	// Default password.default.
	PasswordPolicies []string

	// Notices are the security notices mailed to an account's address (NoticeEvents), or
	// "none". Default all of them.
	Notices []string
	// VerifyEmail is "off" or "required": whether an account must confirm its address with a
	// mailed code before it can log in. Default off.
	VerifyEmail string
}

// NoticeEvents are the security notices Gatehouse can mail to an account's address, each named
// after the change that sends it.
var NoticeEvents = []string{
	"password-changed", "password-reset", "2fa-enabled", "2fa-disabled",
	"recovery-codes-reset", "recovery-code-used", "email-changed", "account-deleted",
}

// Default returns the default configuration: the single source for --help and the README.
func Default() Config {
	return Config{
		Addr:                "127.0.0.1:8080",
		DataDir:             "./data",
		Issuer:              "gatehouse",
		DisplayName:         "Gatehouse",
		Registration:        "closed",
		LogLevel:            "info",
		LogFormat:           "text",
		RefreshTTL:          14 * 24 * time.Hour,
		AccessTTL:           5 * time.Minute,
		SudoTTL:             5 * time.Minute,
		PartialTTL:          5 * time.Minute,
		Argon2Memory:        19 * 1024,
		Argon2Time:          2,
		Argon2Threads:       1,
		HashConcurrency:     runtime.NumCPU(),
		HashQueueTimeout:    10 * time.Second,
		BodyLimit:           16 * 1024,
		ShutdownTimeout:     10 * time.Second,
		MaxConns:            4096,
		MaxConnsPerIP:       128,
		PluginMaxSize:       64 << 20,
		PasswordPolicies:    []string{"password.default"},
		Mailer:              "outbox",
		SMTPFrom:            "gatehouse@localhost",
		SMTPStartTLS:        "auto",
		AuditRetention:      90 * 24 * time.Hour,
		Notices:             append([]string{}, NoticeEvents...),
		VerifyEmail:         "off",
		PluginIdleTimeout:   5 * time.Minute,
		BadgerMemTableMiB:   16,
		BadgerBlockCacheMiB: 32,
		BadgerIndexCacheMiB: 16,
	}
}

// LinkBase is the base of links in emails: PublicURL, or when it is empty the server itself at
// addr (the bound listen address; Addr before the server listens), an unspecified host (all
// interfaces) named by its loopback address.
func (c Config) LinkBase(addr string) string {
	if c.PublicURL != "" {
		return c.PublicURL
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// RegistrationOpen reports whether anyone may register.
func (c Config) RegistrationOpen() bool { return c.Registration == "open" }

// setting binds one field to a flag and an environment variable.
type setting struct {
	flag, env, usage string
	get              func(c *Config) string
	set              func(c *Config, v string) error
}

var settings = []setting{
	str("addr", "GATEHOUSE_ADDR", "listen address (host:port)", func(c *Config) *string { return &c.Addr }),
	str("data", "GATEHOUSE_DATA", "data folder: store, signing keys, plugin cache", func(c *Config) *string { return &c.DataDir }),
	str("store", "GATEHOUSE_STORE", "badger (the embedded store in the data folder) or a postgres:// URL of a PostgreSQL database shared by every node", func(c *Config) *string { return &c.Store }),
	num("badger-memtable-mib", "GATEHOUSE_BADGER_MEMTABLE_MIB", "embedded store: size of one memtable in MiB (up to five are kept)", func(c *Config) *int { return &c.BadgerMemTableMiB }),
	num("badger-block-cache-mib", "GATEHOUSE_BADGER_BLOCK_CACHE_MIB", "embedded store: cache of table blocks in MiB (grow it for a big store)", func(c *Config) *int { return &c.BadgerBlockCacheMiB }),
	num("badger-index-cache-mib", "GATEHOUSE_BADGER_INDEX_CACHE_MIB", "embedded store: cache of table indexes and bloom filters in MiB", func(c *Config) *int { return &c.BadgerIndexCacheMiB }),
	num("store-max-conns", "GATEHOUSE_STORE_MAX_CONNS", "PostgreSQL connections of this node at most (0: max(4, CPUs))", func(c *Config) *int { return &c.StoreMaxConns }),
	str("master-key-file", "GATEHOUSE_MASTER_KEY_FILE", "the master key's file, created when absent; the same on every node (empty: <data>/master.key)", func(c *Config) *string { return &c.MasterKeyFile }),
	str("issuer", "GATEHOUSE_ISSUER", "iss claim of issued tokens", func(c *Config) *string { return &c.Issuer }),
	str("display-name", "GATEHOUSE_DISPLAY_NAME", "the service's name shown in authenticator apps and emails", func(c *Config) *string { return &c.DisplayName }),
	str("registration", "GATEHOUSE_REGISTRATION", "open or closed: whether POST /user is open to anyone", func(c *Config) *string { return &c.Registration }),
	str("admin-token", "GATEHOUSE_ADMIN_TOKEN", "comma-separated admin bearer secrets, each secret or name:secret (the name, else the first 8 hex digits of the secret's SHA-256, is the actor of its audit events): the admin API and POST /user while registration is closed (empty: no admin API but through the admin socket)", func(c *Config) *string { return &c.AdminToken }),
	str("admin-addr", "GATEHOUSE_ADMIN_ADDR", "listen address (host:port) of the admin API alone; the main listener then answers 404 under /admin/ (empty: the main listener)", func(c *Config) *string { return &c.AdminAddr }),
	dur("audit-retention", "GATEHOUSE_AUDIT_RETENTION", "how long audit events are kept (the store expires them)", func(c *Config) *time.Duration { return &c.AuditRetention }),
	str("log-level", "GATEHOUSE_LOG_LEVEL", "trace, debug, info, warn or error", func(c *Config) *string { return &c.LogLevel }),
	str("log-format", "GATEHOUSE_LOG_FORMAT", "text or json", func(c *Config) *string { return &c.LogFormat }),
	dur("refresh-ttl", "GATEHOUSE_REFRESH_TTL", "lifetime of refresh tokens and sessions", func(c *Config) *time.Duration { return &c.RefreshTTL }),
	dur("access-ttl", "GATEHOUSE_ACCESS_TTL", "lifetime of access tokens", func(c *Config) *time.Duration { return &c.AccessTTL }),
	dur("sudo-ttl", "GATEHOUSE_SUDO_TTL", "lifetime of sudo tokens", func(c *Config) *time.Duration { return &c.SudoTTL }),
	dur("partial-ttl", "GATEHOUSE_PARTIAL_TTL", "lifetime of partial (2FA pending) tokens", func(c *Config) *time.Duration { return &c.PartialTTL }),
	u32("argon2-memory", "GATEHOUSE_ARGON2_MEMORY", "argon2id memory in KiB", func(c *Config) *uint32 { return &c.Argon2Memory }),
	u32("argon2-time", "GATEHOUSE_ARGON2_TIME", "argon2id iterations", func(c *Config) *uint32 { return &c.Argon2Time }),
	{flag: "argon2-threads", env: "GATEHOUSE_ARGON2_THREADS", usage: "argon2id parallelism (lanes)",
		get: func(c *Config) string { return strconv.Itoa(int(c.Argon2Threads)) },
		set: func(c *Config, v string) error {
			n, err := strconv.ParseUint(v, 10, 8)
			c.Argon2Threads = uint8(n)
			return err
		}},
	num("hash-concurrency", "GATEHOUSE_HASH_CONCURRENCY", "password hashes computed at once (bounds memory under a login flood)", func(c *Config) *int { return &c.HashConcurrency }),
	dur("hash-queue-timeout", "GATEHOUSE_HASH_QUEUE_TIMEOUT", "wait for a hashing slot before answering 503", func(c *Config) *time.Duration { return &c.HashQueueTimeout }),
	num("body-limit", "GATEHOUSE_BODY_LIMIT", "largest request body in bytes (413 above)", func(c *Config) *int { return &c.BodyLimit }),
	dur("shutdown-timeout", "GATEHOUSE_SHUTDOWN_TIMEOUT", "drain time for in-flight requests on SIGTERM/SIGINT", func(c *Config) *time.Duration { return &c.ShutdownTimeout }),
	num("max-conns", "GATEHOUSE_MAX_CONNS", "open client connections at most (503 above; also kept below the open-file limit)", func(c *Config) *int { return &c.MaxConns }),
	num("max-conns-per-ip", "GATEHOUSE_MAX_CONNS_PER_IP", "open connections of one TCP peer address at most (429 above; trusted proxies and loopback exempt)", func(c *Config) *int { return &c.MaxConnsPerIP }),
	list("trusted-proxies", "GATEHOUSE_TRUSTED_PROXIES", "comma-separated CIDRs of reverse proxies whose X-Forwarded-For is believed (empty: the client is the TCP peer)", func(c *Config) *[]string { return &c.TrustedProxies }),
	num("plugin-max-size", "GATEHOUSE_PLUGIN_MAX_SIZE", "largest .wasm file loaded from the plugins folder, in bytes", func(c *Config) *int { return &c.PluginMaxSize }),
	str("plugins-dir", "GATEHOUSE_PLUGINS_DIR", "folder of extra .wasm plugins to load (empty: none)", func(c *Config) *string { return &c.PluginsDir }),
	dur("plugin-idle-timeout", "GATEHOUSE_PLUGIN_IDLE_TIMEOUT", "a plugin instance unused this long is dropped, its memory freed, and made again at the next call (0: keep idle instances)", func(c *Config) *time.Duration { return &c.PluginIdleTimeout }),
	list("skip-plugins", "GATEHOUSE_SKIP_PLUGINS", "comma-separated first-party plugins not to load, by name ("+strings.Join(plugins.FirstParty, ", ")+"): a method no account uses costs no memory or start-up time", func(c *Config) *[]string { return &c.SkipPlugins }),
	str("plugin-cache", "GATEHOUSE_PLUGIN_CACHE", "folder of the plugins' compilation cache (empty: <data>/plugin-cache)", func(c *Config) *string { return &c.PluginCache }),
	{flag: "plugin-grants", env: "GATEHOUSE_PLUGIN_GRANTS", usage: "capabilities granted to plugins: id=cap+cap;id=cap (e.g. mailer.httpapi=http; the first-party mailer.smtp, mailer.outbox and twofactor.totp get theirs without it)",
		get: func(c *Config) string { return formatGrants(c.PluginGrants) },
		set: func(c *Config, v string) error {
			g, err := parseGrants(v)
			c.PluginGrants = g
			return err
		}},
	{flag: "http-connections", env: "GATEHOUSE_HTTP_CONNECTIONS",
		usage: `named connections of the http capability, as JSON or @file.json: {"name": {"baseURL": "https://api.example/v1", ` +
			`"headers": {"Authorization": "Bearer ..."}, "methods": ["POST"], "pathPrefix": "/", "plugins": ["mailer.httpapi"], "timeout": "10s", ` +
			`"maxResponseBytes": 262144}} (methods default POST, pathPrefix /, plugins: any granted http, timeout 10s; empty: none)`,
		get: func(c *Config) string { return formatConnections(c.HTTPConnections) },
		set: func(c *Config, v string) error {
			conns, err := parseConnections(v)
			c.HTTPConnections = conns
			return err
		}},
	{flag: "plugin-config", env: "GATEHOUSE_PLUGIN_CONFIG",
		usage: `configuration of plugins by id, as JSON or @file.json: {"password.nist": {"minLength": 12}, "mailer.httpapi": {"path": "/v3/send"}} ` +
			`(each checked at start-up against the JSON Schema the plugin declares; a refusal, or an id no plugin has, stops the start; empty: none)`,
		get: func(c *Config) string { return formatKeys(c.PluginConfig) },
		set: func(c *Config, v string) error {
			pc, err := parsePluginConfig(v)
			c.PluginConfig = pc
			return err
		}},
	list("password-policies", "GATEHOUSE_PASSWORD_POLICIES", "comma-separated password-policy plugin ids, run in order; all must accept", func(c *Config) *[]string { return &c.PasswordPolicies }),
	str("mailer", "GATEHOUSE_MAILER", "mailer plugin: outbox (.eml files in <data>/outbox, for development), smtp (the GATEHOUSE_SMTP_* relay) or a mailer plugin id from the plugins folder", func(c *Config) *string { return &c.Mailer }),
	str("smtp-addr", "GATEHOUSE_SMTP_ADDR", "SMTP relay host:port of the smtp mailer", func(c *Config) *string { return &c.SMTPAddr }),
	str("smtp-from", "GATEHOUSE_SMTP_FROM", "sender address of every email", func(c *Config) *string { return &c.SMTPFrom }),
	str("smtp-username", "GATEHOUSE_SMTP_USERNAME", "SMTP AUTH user name (empty: no AUTH)", func(c *Config) *string { return &c.SMTPUsername }),
	str("smtp-password", "GATEHOUSE_SMTP_PASSWORD", "SMTP AUTH password", func(c *Config) *string { return &c.SMTPPassword }),
	str("smtp-starttls", "GATEHOUSE_SMTP_STARTTLS", "auto (when offered), always or never", func(c *Config) *string { return &c.SMTPStartTLS }),
	str("mail-templates", "GATEHOUSE_MAIL_TEMPLATES", "folder of mail template overrides (empty: the shipped ones)", func(c *Config) *string { return &c.MailTemplates }),
	str("public-url", "GATEHOUSE_PUBLIC_URL", "base of links in emails when the request's origin is not allowed (empty: the server itself, http://<GATEHOUSE_ADDR>, whose /account/ page opens the reset link)", func(c *Config) *string { return &c.PublicURL }),
	list("notices", "GATEHOUSE_NOTICES", "comma-separated security notices mailed to the account's address ("+strings.Join(NoticeEvents, ", ")+"), or none", func(c *Config) *[]string { return &c.Notices }),
	str("verify-email", "GATEHOUSE_VERIFY_EMAIL", "off or required: whether a new account must confirm its address with a mailed code before it can log in", func(c *Config) *string { return &c.VerifyEmail }),
	list("origins", "GATEHOUSE_ORIGINS", "comma-separated origins allowed as the base of links in emails and to call the API from a browser (CORS)", func(c *Config) *[]string { return &c.Origins }),
	str("webauthn-rp-id", "GATEHOUSE_WEBAUTHN_RP_ID", "relying party id of passkeys: the public URL's host or a parent domain of it (empty: the public URL's host)", func(c *Config) *string { return &c.WebAuthnRPID }),
	str("webauthn-rp-name", "GATEHOUSE_WEBAUTHN_RP_NAME", "relying party name an authenticator shows for passkeys (empty: the display name)", func(c *Config) *string { return &c.WebAuthnRPName }),
	list("deny-domains", "GATEHOUSE_DENY_DOMAINS", "comma-separated extra forbidden mail domains (*.example: every subdomain)", func(c *Config) *[]string { return &c.DenyDomains }),
}

func list(name, env, usage string, field func(*Config) *[]string) setting {
	return setting{flag: name, env: env, usage: usage,
		get: func(c *Config) string { return strings.Join(*field(c), ",") },
		set: func(c *Config, v string) error { *field(c) = splitList(v); return nil }}
}

func splitList(v string) []string {
	var out []string
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func str(name, env, usage string, field func(*Config) *string) setting {
	return setting{flag: name, env: env, usage: usage,
		get: func(c *Config) string { return *field(c) },
		set: func(c *Config, v string) error { *field(c) = v; return nil }}
}

func dur(name, env, usage string, field func(*Config) *time.Duration) setting {
	return setting{flag: name, env: env, usage: usage,
		get: func(c *Config) string { return field(c).String() },
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			*field(c) = d
			return err
		}}
}

func num(name, env, usage string, field func(*Config) *int) setting {
	return setting{flag: name, env: env, usage: usage,
		get: func(c *Config) string { return strconv.Itoa(*field(c)) },
		set: func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			*field(c) = n
			return err
		}}
}

func u32(name, env, usage string, field func(*Config) *uint32) setting {
	return setting{flag: name, env: env, usage: usage,
		get: func(c *Config) string { return strconv.FormatUint(uint64(*field(c)), 10) },
		set: func(c *Config, v string) error {
			n, err := strconv.ParseUint(v, 10, 32)
			*field(c) = uint32(n)
			return err
		}}
}

// flagValue adapts a setting to flag.Value.
type flagValue struct {
	s   setting
	cfg *Config
}

func (f flagValue) String() string {
	if f.cfg == nil {
		return ""
	}
	return f.s.get(f.cfg)
}
func (f flagValue) Set(v string) error { return f.s.set(f.cfg, v) }

// Bind registers every setting as a flag of fs, with its environment variable and default in
// the usage line, and returns a function that finishes the configuration after fs.Parse:
// defaults, then environment (lookupEnv), then the flags that were set, then validation.
func Bind(fs *flag.FlagSet, lookupEnv func(string) (string, bool)) func() (Config, error) {
	parsed := Default()
	for _, s := range settings {
		fs.Var(flagValue{s: s, cfg: &parsed}, s.flag, fmt.Sprintf("%s (env %s)", s.usage, s.env))
	}
	return func() (Config, error) {
		cfg := Default()
		for _, s := range settings {
			if v, ok := lookupEnv(s.env); ok {
				if err := s.set(&cfg, v); err != nil {
					return cfg, fmt.Errorf("config: %s=%q: %w", s.env, v, err)
				}
			}
		}
		var errs []error
		fs.Visit(func(f *flag.Flag) {
			for _, s := range settings {
				if s.flag == f.Name {
					if err := s.set(&cfg, f.Value.String()); err != nil {
						errs = append(errs, fmt.Errorf("config: --%s: %w", s.flag, err))
					}
				}
			}
		})
		if len(errs) > 0 {
			return cfg, errors.Join(errs...)
		}
		return cfg, cfg.Validate()
	}
}

// FromEnvironment is Bind without flags: defaults, then the process environment.
func FromEnvironment() (Config, error) {
	fs := flag.NewFlagSet("gatehouse", flag.ContinueOnError)
	finish := Bind(fs, os.LookupEnv)
	return finish()
}

// EnvNames lists every environment variable Gatehouse reads, sorted.
func EnvNames() []string {
	names := make([]string, 0, len(settings))
	for _, s := range settings {
		names = append(names, s.env)
	}
	sort.Strings(names)
	return names
}

// Validate checks the configuration once, naming the setting at fault.
func (c Config) Validate() error {
	var errs []error
	bad := func(env, format string, args ...any) {
		errs = append(errs, fmt.Errorf("config: %s: %s", env, fmt.Sprintf(format, args...)))
	}
	if c.Addr == "" {
		bad("GATEHOUSE_ADDR", "must not be empty")
	}
	if c.DataDir == "" {
		bad("GATEHOUSE_DATA", "must not be empty")
	}
	if c.Store != "" && c.Store != "badger" && !strings.HasPrefix(c.Store, "postgres://") && !strings.HasPrefix(c.Store, "postgresql://") {
		bad("GATEHOUSE_STORE", "must be badger or a postgres:// URL")
	}
	for _, b := range []struct {
		env   string
		v     int
		least int
	}{{"GATEHOUSE_BADGER_MEMTABLE_MIB", c.BadgerMemTableMiB, 8}, {"GATEHOUSE_BADGER_BLOCK_CACHE_MIB", c.BadgerBlockCacheMiB, 1}, {"GATEHOUSE_BADGER_INDEX_CACHE_MIB", c.BadgerIndexCacheMiB, 1}} {
		// A memtable under 8 MiB cannot hold Badger's largest batch of 1 MiB values.
		if b.v < b.least || b.v > 1<<16 {
			bad(b.env, "must be %d to 65536 MiB, not %d", b.least, b.v)
		}
	}
	if c.StoreMaxConns < 0 {
		bad("GATEHOUSE_STORE_MAX_CONNS", "must not be negative")
	}
	if c.Issuer == "" {
		bad("GATEHOUSE_ISSUER", "must not be empty")
	}
	if err := checkDisplayName(c.DisplayName); err != nil {
		bad("GATEHOUSE_DISPLAY_NAME", "%v", err)
	}
	if rp := c.WebAuthnRPID; rp != "" {
		host := ""
		if u, err := url.Parse(c.LinkBase(c.Addr)); err == nil {
			host = u.Hostname()
		}
		if host != rp && !strings.HasSuffix(host, "."+rp) && !(rp == "localhost" && isLoopbackIP(host)) {
			bad("GATEHOUSE_WEBAUTHN_RP_ID", "%q is neither the host of GATEHOUSE_PUBLIC_URL (%q) nor a parent domain of it: browsers would refuse every passkey", rp, host)
		}
	}
	for _, name := range c.SkipPlugins {
		switch {
		case !slices.Contains(plugins.FirstParty, name):
			bad("GATEHOUSE_SKIP_PLUGINS", "%q is not a first-party plugin (%s)", name, strings.Join(plugins.FirstParty, ", "))
		case firstPartyName(c.MailerPlugin()) == name:
			bad("GATEHOUSE_SKIP_PLUGINS", "%q is the mailer in use (GATEHOUSE_MAILER)", name)
		case slices.ContainsFunc(c.PasswordPolicies, func(id string) bool { return firstPartyName(id) == name }):
			bad("GATEHOUSE_SKIP_PLUGINS", "%q is a password policy in use (GATEHOUSE_PASSWORD_POLICIES)", name)
		}
	}
	if c.Registration != "open" && c.Registration != "closed" {
		bad("GATEHOUSE_REGISTRATION", "must be open or closed, not %q", c.Registration)
	}
	switch c.LogLevel {
	case "trace", "debug", "info", "warn", "error":
	default:
		bad("GATEHOUSE_LOG_LEVEL", "must be trace, debug, info, warn or error, not %q", c.LogLevel)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("GATEHOUSE_LOG_FORMAT", "must be text or json, not %q", c.LogFormat)
	}
	for env, d := range map[string]time.Duration{
		"GATEHOUSE_REFRESH_TTL": c.RefreshTTL, "GATEHOUSE_ACCESS_TTL": c.AccessTTL,
		"GATEHOUSE_SUDO_TTL": c.SudoTTL, "GATEHOUSE_PARTIAL_TTL": c.PartialTTL,
		"GATEHOUSE_HASH_QUEUE_TIMEOUT": c.HashQueueTimeout, "GATEHOUSE_SHUTDOWN_TIMEOUT": c.ShutdownTimeout,
		"GATEHOUSE_AUDIT_RETENTION": c.AuditRetention,
	} {
		if d <= 0 {
			bad(env, "must be a positive duration")
		}
	}
	if c.Argon2Memory < 8*uint32(max(c.Argon2Threads, 1)) {
		bad("GATEHOUSE_ARGON2_MEMORY", "must be at least 8 KiB per thread")
	}
	if c.Argon2Time < 1 {
		bad("GATEHOUSE_ARGON2_TIME", "must be at least 1")
	}
	if c.Argon2Threads < 1 {
		bad("GATEHOUSE_ARGON2_THREADS", "must be at least 1")
	}
	if c.HashConcurrency < 1 {
		bad("GATEHOUSE_HASH_CONCURRENCY", "must be at least 1")
	}
	if c.BodyLimit < 256 {
		bad("GATEHOUSE_BODY_LIMIT", "must be at least 256 bytes")
	}
	if c.MaxConns < 1 {
		bad("GATEHOUSE_MAX_CONNS", "must be at least 1")
	}
	if c.MaxConnsPerIP < 1 {
		bad("GATEHOUSE_MAX_CONNS_PER_IP", "must be at least 1")
	}
	for _, p := range c.TrustedProxies {
		if _, err := ParsePrefix(p); err != nil {
			bad("GATEHOUSE_TRUSTED_PROXIES", "%v", err)
		}
	}
	if c.PluginMaxSize < 1 {
		bad("GATEHOUSE_PLUGIN_MAX_SIZE", "must be at least 1 byte")
	}
	switch c.Mailer {
	case "outbox":
	case "smtp":
		if c.SMTPAddr == "" {
			bad("GATEHOUSE_SMTP_ADDR", "must be set when GATEHOUSE_MAILER is smtp")
		}
	default:
		if !strings.HasPrefix(c.Mailer, "mailer.") {
			bad("GATEHOUSE_MAILER", "must be outbox, smtp or a mailer plugin id (mailer.<name>), not %q", c.Mailer)
		}
	}
	for _, name := range sortedKeys(c.HTTPConnections) {
		if err := c.HTTPConnections[name].Validate(name); err != nil {
			bad("GATEHOUSE_HTTP_CONNECTIONS", "%v", err)
		}
	}
	if c.SMTPStartTLS != "auto" && c.SMTPStartTLS != "always" && c.SMTPStartTLS != "never" {
		bad("GATEHOUSE_SMTP_STARTTLS", "must be auto, always or never, not %q", c.SMTPStartTLS)
	}
	if _, err := mailAddress(c.SMTPFrom); err != nil {
		bad("GATEHOUSE_SMTP_FROM", "%v", err)
	}
	if len(c.PasswordPolicies) == 0 {
		bad("GATEHOUSE_PASSWORD_POLICIES", "must name at least one policy")
	}
	for _, n := range c.Notices {
		if !slices.Contains(NoticeEvents, n) && !(n == "none" && len(c.Notices) == 1) {
			bad("GATEHOUSE_NOTICES", "%q is not a notice (%s, or none alone)", n, strings.Join(NoticeEvents, ", "))
		}
	}
	if c.VerifyEmail != "off" && c.VerifyEmail != "required" {
		bad("GATEHOUSE_VERIFY_EMAIL", "must be off or required, not %q", c.VerifyEmail)
	}
	return errors.Join(errs...)
}

// ParsePrefix reads one GATEHOUSE_TRUSTED_PROXIES entry: a CIDR ("10.0.0.0/8") or a single
// address ("192.0.2.1", "::1"), which is the prefix of that one address.
func ParsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR or an IP address", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR or an IP address", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func mailAddress(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", err
	}
	return a.Address, nil
}

// parseGrants reads "id=cap+cap;id2=cap".
func parseGrants(v string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, part := range strings.Split(v, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, caps, ok := strings.Cut(part, "=")
		if !ok || strings.TrimSpace(id) == "" {
			return nil, fmt.Errorf("want id=capability+capability, got %q", part)
		}
		for _, c := range strings.Split(caps, "+") {
			if c = strings.TrimSpace(c); c != "" {
				out[strings.TrimSpace(id)] = append(out[strings.TrimSpace(id)], c)
			}
		}
	}
	return out, nil
}

func formatGrants(g map[string][]string) string {
	ids := make([]string, 0, len(g))
	for id := range g {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	parts := make([]string, 0, len(ids))
	for _, id := range ids {
		parts = append(parts, id+"="+strings.Join(g[id], "+"))
	}
	return strings.Join(parts, ";")
}

// firstPartyName is the folder name a first-party plugin id has (twofactor.passkey: passkey,
// mailer.smtp: mailer-smtp, password.default: password-default).
func firstPartyName(id string) string {
	return strings.ReplaceAll(strings.TrimPrefix(id, "twofactor."), ".", "-")
}

// MailerPlugin returns the id of the mailer plugin Mailer names: mailer.outbox for "outbox",
// mailer.smtp for "smtp", else Mailer itself.
func (c Config) MailerPlugin() string {
	switch c.Mailer {
	case "outbox":
		return "mailer.outbox"
	case "smtp":
		return "mailer.smtp"
	}
	return c.Mailer
}

// connectionJSON is one connection as GATEHOUSE_HTTP_CONNECTIONS writes it: the timeout is a
// duration string ("10s").
type connectionJSON struct {
	BaseURL          string            `json:"baseURL"`
	Headers          map[string]string `json:"headers"`
	Methods          []string          `json:"methods"`
	PathPrefix       string            `json:"pathPrefix"`
	Plugins          []string          `json:"plugins"`
	Timeout          string            `json:"timeout"`
	MaxResponseBytes int               `json:"maxResponseBytes"`
}

// parseConnections reads GATEHOUSE_HTTP_CONNECTIONS: a JSON object of connections by name, or
// "@path" to a file holding one; "" for none.
func parseConnections(v string) (map[string]host.HTTPConnection, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	if path, ok := strings.CutPrefix(v, "@"); ok {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		v = string(b)
	}
	var raw map[string]connectionJSON
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("want a JSON object of connections by name (or @file): %w", err)
	}
	out := make(map[string]host.HTTPConnection, len(raw))
	for name, r := range raw {
		c := host.HTTPConnection{BaseURL: r.BaseURL, Headers: r.Headers, Methods: r.Methods, PathPrefix: r.PathPrefix,
			Plugins: r.Plugins, MaxResponseBytes: r.MaxResponseBytes}
		if r.Timeout != "" {
			d, err := time.ParseDuration(r.Timeout)
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("connection %q: timeout %q: want a positive duration such as 10s", name, r.Timeout)
			}
			c.Timeout = d
		}
		out[name] = c
	}
	return out, nil
}

// formatConnections names the connections without their URLs and headers (which may hold
// credentials).
// parsePluginConfig reads GATEHOUSE_PLUGIN_CONFIG: a JSON object whose members are the plugins'
// configurations (JSON objects), inline or in the file named after an @.
func parsePluginConfig(v string) (map[string][]byte, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	if path, ok := strings.CutPrefix(v, "@"); ok {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		v = string(b)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(v), &raw); err != nil {
		return nil, fmt.Errorf(`want a JSON object of configurations by plugin id, such as {"password.nist": {"minLength": 12}} (or @file): %w`, err)
	}
	out := make(map[string][]byte, len(raw))
	for id, r := range raw {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(r, &obj); err != nil || obj == nil {
			return nil, fmt.Errorf("plugin %q: its configuration must be a JSON object, not %s", id, truncateJSON(r))
		}
		out[id] = []byte(r)
	}
	return out, nil
}

func truncateJSON(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

func formatKeys[V any](m map[string]V) string {
	if len(m) == 0 {
		return ""
	}
	return "(" + strings.Join(sortedKeys(m), ", ") + ")"
}

// UnknownEnv returns a warning for each GATEHOUSE_* variable of environ ("NAME=value" entries,
// as os.Environ gives them) that is not a setting, with the closest setting's name when one is
// near: such a variable is a typo or an old name, and silently ignored otherwise.
func UnknownEnv(environ []string) []string {
	known := map[string]bool{}
	for _, n := range EnvNames() {
		known[n] = true
	}
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "GATEHOUSE_") || known[name] {
			continue
		}
		msg := name + " is not a setting of gatehouse (ignored)"
		if best := closest(name, EnvNames()); best != "" {
			msg += "; did you mean " + best + "?"
		}
		out = append(out, msg)
	}
	sort.Strings(out)
	return out
}

// closest is the name of names nearest to s by edit distance, if it is near enough to be a typo.
func closest(s string, names []string) string {
	best, bestD := "", 1<<30
	for _, n := range names {
		if d := editDistance(s, n); d < bestD {
			best, bestD = n, d
		}
	}
	if bestD > max(3, len(strings.TrimPrefix(s, "GATEHOUSE_"))/3) {
		return ""
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func formatConnections(m map[string]host.HTTPConnection) string {
	if len(m) == 0 {
		return ""
	}
	return "(" + strings.Join(sortedKeys(m), ", ") + ")"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// PublicOrigin is the origin of the public URL (LinkBase: GATEHOUSE_PUBLIC_URL, else the server
// at GATEHOUSE_ADDR), scheme://host[:port] in lower case; "" when it does not parse.
func (c *Config) PublicOrigin() string {
	u, err := url.Parse(c.LinkBase(c.Addr))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

// RelyingParty returns the id and name passkeys are bound to: GATEHOUSE_WEBAUTHN_RP_ID, else the
// public URL's host (LinkBase), "localhost" for a loopback address; GATEHOUSE_WEBAUTHN_RP_NAME,
// else the display name.
func (c *Config) RelyingParty() (id, name string) {
	id, name = c.WebAuthnRPID, c.WebAuthnRPName
	if id == "" {
		if u, err := url.Parse(c.LinkBase(c.Addr)); err == nil {
			id = u.Hostname()
		}
		// WebAuthn takes no IP address as a relying party id; on a loopback address (the
		// default) passkeys work from http://localhost, as browsers allow it.
		if isLoopbackIP(id) {
			id = "localhost"
		}
	}
	if name == "" {
		name = c.DisplayName
	}
	return id, name
}

// isLoopbackIP reports whether host is a loopback IP address (127.0.0.1, ::1).
func isLoopbackIP(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// LocalhostOrigin is, for an origin on a loopback IP address (http://127.0.0.1:8080), the same
// origin on localhost (http://localhost:8080), where passkeys work; "" for any other origin.
func LocalhostOrigin(origin string) string {
	u, err := url.Parse(origin)
	if err != nil || !isLoopbackIP(u.Hostname()) {
		return ""
	}
	host := "localhost"
	if p := u.Port(); p != "" {
		host += ":" + p
	}
	return u.Scheme + "://" + host
}
