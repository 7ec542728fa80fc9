// Package abi names everything the Gatehouse plugin ABI v1 fixes: the
// version, the exports a plugin provides, the host functions it may import,
// the status codes, the plugin kinds, hooks and capabilities, and the wire
// encoding of the messages that cross the boundary.
//
// It is the only package shared by the host (github.com/gatehouse/gatehouse/host)
// and the guest SDK (github.com/gatehouse/gatehouse/sdk). Besides the standard
// library it imports only google.golang.org/protobuf/encoding/protowire (the
// wire primitives, no reflection), and it builds for every GOOS, wasip1
// included.
//
// abi.proto in this folder is the schema of every message, the single
// definition that schema_test.go checks this codec against; host/ABI.md is the
// contract around it, written for authors in other languages.
package abi

// Major is the ABI major version. A plugin selects it by exporting the marker
// function named MarkerPrefix + Major ("gatehouse_abi_v1"). A host refuses a
// plugin whose major version it does not speak.
const Major = 1

// Minor is the newest ABI minor version this package describes. A plugin
// states the minor version it was built against in its descriptor; a host
// loads every plugin whose minor version is at most its own, so a plugin
// built for an older minor version keeps loading.
//
// Minor versions: 0, the first; 1 adds the twofactor method metadata
// (Descriptor.TwoFactor), TwoFactorRequest.Params, TwoFactorResult.ReplayKey
// and Public, and Message.To; 2 adds what richer methods (passkeys) need:
// TwoFactorInfo.JSONFields, ClientDataFields, Additive and
// OptionalSetupFields; the request's origins, relying party, public URL and
// ActiveState; TwoFactorResult.ClientData, Summary and UniqueKeys; the
// BAD_REQUEST reason; and the crypto capability's FuncVerifySignature and
// FuncDigest.
const Minor = 2

// Exports a plugin module provides.
const (
	// MarkerPrefix starts the name of the marker export that selects the ABI
	// major version. The marker is a function that takes and returns nothing;
	// the host never calls it.
	//
	// Example (WAT):
	//
	//	(func (export "gatehouse_abi_v1"))
	MarkerPrefix = "gatehouse_abi_v"

	// MarkerExport is the marker of ABI v1: "gatehouse_abi_v1".
	MarkerExport = "gatehouse_abi_v1"

	// ExportMemory is the plugin's linear memory, which it must export. The
	// plugin owns all of it: the host writes only into a buffer the plugin
	// names in a call to input_read, during that call.
	ExportMemory = "memory"

	// ExportInitialize is the reactor initialiser ("_initialize", as Go's
	// -buildmode=c-shared and clang's -mexec-model=reactor emit it). Optional;
	// when present the host calls it exactly once per instance, before any
	// other export. "_start" is never called.
	ExportInitialize = "_initialize"

	// ExportPrefix starts the name of every other export: "gatehouse_" +
	// "describe", "configure" or a hook name.
	ExportPrefix = "gatehouse_"

	// ExportDescribe returns the plugin's descriptor. Required.
	//
	// Signature: (in_len i32) -> (status i32).
	//
	// Input: HostInfo. Output: Descriptor. Status: StatusOK.
	// The host calls it once per instance, before configure and any hook, and
	// refuses a plugin whose instances do not all describe themselves the same.
	ExportDescribe = ExportPrefix + "describe"

	// ExportConfigure hands the plugin the operator's configuration for it, a
	// JSON document (possibly empty). Optional; a plugin that exports no
	// configure accepts only an empty configuration.
	//
	// Signature: (in_len i32) -> (status i32).
	//
	// Input: ConfigureRequest. Output: Result. Status: StatusOK, or
	// StatusDenied with reasons naming the bad field (the host refuses to load
	// the plugin and logs them).
	ExportConfigure = ExportPrefix + "configure"
)

// HookExport returns the export name of a hook: ExportPrefix + hook.
func HookExport(hook string) string { return ExportPrefix + hook }

// Host functions every plugin may import, from the module HostModule. They are
// always granted. Each traps (fails the call closed) when given a pointer or
// length outside the plugin's memory.
const (
	// HostModule is the import module of the core host functions.
	HostModule = "gatehouse_v1"

	// FuncInputRead copies the current call's input into the plugin's memory.
	//
	// Signature: (buf i32, limit i32) -> (in_len i32).
	//
	// Parameters: buf is the address of a buffer the plugin owns, limit its
	// size. The host copies min(limit, in_len) bytes of the input to buf and
	// returns in_len, the whole input's length (the same value the export got
	// as its argument). Calling it again copies from the start again.
	// Outside a call (during _initialize) the input is empty.
	//
	// Example:
	//
	//	        buf                 buf+in_len
	//	memory: |<---- input bytes ---->|..... limit .....|
	FuncInputRead = "input_read"

	// FuncOutputWrite appends bytes to the current call's output.
	//
	// Signature: (buf i32, len i32) -> ().
	//
	// Parameters: buf and len name bytes in the plugin's memory; the host copies
	// them before returning, so the plugin may reuse the buffer. Calls append,
	// so a plugin may write its output in pieces. Past MaxOutput bytes in one
	// call the host traps and the call fails.
	FuncOutputWrite = "output_write"

	// FuncLog writes one line to the host's log.
	//
	// Signature: (level i32, buf i32, len i32) -> ().
	//
	// Parameters: level is a Level; buf and len name UTF-8 text. The host
	// truncates long lines and drops lines past a rate limit per plugin. Never
	// log a secret.
	FuncLog = "log"

	// FuncLogEnabled reports whether a line at level would be written.
	//
	// Signature: (level i32) -> (enabled i32), 1 or 0.
	FuncLogEnabled = "log_enabled"
)

// WASIModule is the WASI preview 1 import module. A plugin may import any of
// its functions (Go's wasip1 port needs several). The host provides the real
// wall and monotonic clocks, a cryptographic random source, stdout and stderr
// to the log, and nothing else: no files, no environment, no arguments, no
// sockets.
const WASIModule = "wasi_snapshot_preview1"

// Status is the i32 every describe, configure and hook export returns.
// Anything not listed here fails the call closed.
type Status int32

// Status codes.
const (
	// StatusOK: the call succeeded; for a check, the candidate is accepted.
	StatusOK Status = 0
	// StatusDenied: a domain refusal (a password refused, a code wrong, a
	// configuration rejected). The output is a Result with at least one
	// Reason; hook-specific fields of the Result still apply (new state).
	StatusDenied Status = 1
	// StatusBadInput: the plugin could not decode its input. The host treats
	// it as a failure (the host or the ABI is at fault).
	StatusBadInput Status = 2
	// StatusFailed: the plugin failed on its own (a recovered panic, an
	// impossible state). Fails the call closed.
	StatusFailed Status = 3
	// StatusRetry: a transient failure worth retrying later; only mailer
	// hooks may return it. Fails the call closed.
	StatusRetry Status = 4
)

// String returns the status's name, such as "ok" or "denied".
func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusDenied:
		return "denied"
	case StatusBadInput:
		return "bad_input"
	case StatusFailed:
		return "failed"
	case StatusRetry:
		return "retry"
	}
	return "unknown"
}

// Kind is a plugin kind. A plugin's id starts with its kind and a dot
// ("password.default", "twofactor.totp", "mailer.smtp").
type Kind string

// Plugin kinds.
const (
	// KindPassword accepts or refuses candidate passwords.
	KindPassword Kind = "password"
	// KindTwoFactor is a second-factor method.
	KindTwoFactor Kind = "twofactor"
	// KindMailer delivers rendered email.
	KindMailer Kind = "mailer"
)

// Hooks: the plugin functions the host calls for each kind, each exported as
// HookExport(hook) with the signature (in_len i32) -> (status i32).
const (
	// HookPasswordCheck accepts or refuses a password.
	// Input: PasswordCheckRequest. Output: Result (reasons when denied).
	// Status: StatusOK (accepted) or StatusDenied (refused, with reasons).
	HookPasswordCheck = "password_check"

	// HookTwoFactorEnroll makes a new secret for a user (setup).
	// Input: TwoFactorRequest (no State; Params holds the setup fields).
	// Output: TwoFactorResult with the new State, what the user sees
	// (Secret, URI, Image) and any Messages to send.
	HookTwoFactorEnroll = "twofactor_enroll"
	// HookTwoFactorActivate checks the first code against the state enroll
	// made (enable). Input: TwoFactorRequest with State and Code. Output:
	// TwoFactorResult (ReplayKey and Public when accepted). Status: StatusOK
	// or StatusDenied, whose first reason's code is the API's message code.
	HookTwoFactorActivate = "twofactor_activate"
	// HookTwoFactorChallenge makes a code and asks for it to be sent
	// (an email OTP). Optional: declaring it is how a method says it sends
	// challenges. Input: TwoFactorRequest with State. Output:
	// TwoFactorResult with the new State and the Messages to send.
	HookTwoFactorChallenge = "twofactor_challenge"
	// HookTwoFactorVerify checks a code at login (authenticate). Input:
	// TwoFactorRequest with State and Code. Output: TwoFactorResult (the new
	// State even when denied; the ReplayKey when accepted). Status: StatusOK
	// or StatusDenied.
	HookTwoFactorVerify = "twofactor_verify"

	// HookMailerDeliver delivers one rendered message. Input:
	// DeliverRequest. Output: Result. Status: StatusOK, StatusDenied
	// (permanent failure) or StatusRetry.
	HookMailerDeliver = "mailer_deliver"
)

// KindHooks lists, for each kind, the hooks a plugin of that kind may
// implement, and whether each is required.
var KindHooks = map[Kind][]HookSpec{
	KindPassword: {
		{Name: HookPasswordCheck, Required: true},
	},
	KindTwoFactor: {
		{Name: HookTwoFactorEnroll, Required: true},
		{Name: HookTwoFactorActivate, Required: true},
		{Name: HookTwoFactorChallenge},
		{Name: HookTwoFactorVerify, Required: true},
	},
	KindMailer: {
		{Name: HookMailerDeliver, Required: true, MayRetry: true},
	},
}

// HookSpec describes one hook of a kind.
type HookSpec struct {
	// Name is the hook's name, such as "password_check".
	Name string
	// Required is true when every plugin of the kind must implement it.
	Required bool
	// MayRetry is true when the hook may return StatusRetry.
	MayRetry bool
}

// Capabilities: host function modules beyond HostModule. A plugin may import
// one only when its descriptor declares the capability and the operator
// grants it to the plugin's id; the host checks both from the module's import
// section before it makes the first instance.
const (
	// CapCrypto is native cryptography (HMAC), module "gatehouse_crypto_v1".
	CapCrypto = "crypto"
	// CapHTTP is HTTP requests through connections the operator configures
	// and names, module "gatehouse_http_v1" (FuncHTTPRequest).
	CapHTTP = "http"
	// CapSMTP is mail submission through the operator's relay,
	// module "gatehouse_smtp_v1" (FuncSMTPSend).
	CapSMTP = "smtp"
	// CapOutbox is writing messages as files into the operator's
	// development folder, module "gatehouse_outbox_v1" (FuncOutboxWrite).
	// ABI v1.1.
	CapOutbox = "outbox"
)

// Capabilities lists every capability ABI v1 defines.
var Capabilities = []string{CapCrypto, CapHTTP, CapSMTP, CapOutbox}

// CapabilityModule returns the import module name of a capability:
// "gatehouse_" + name + "_v1".
func CapabilityModule(name string) string { return "gatehouse_" + name + "_v1" }

// Functions of the crypto capability (module "gatehouse_crypto_v1").
const (
	// FuncHMAC computes an HMAC natively.
	//
	// Signature: (alg i32, key i32, key_len i32, msg i32, msg_len i32, out i32, out_len i32) -> (n i32).
	//
	// Parameters: alg is HMACSHA1, HMACSHA256 or HMACSHA512; key/key_len and
	// msg/msg_len name the key and the message; out/out_len a buffer for the
	// MAC. Result: the MAC's length, written to out; -1 for an unknown alg or
	// a buffer that is too small.
	FuncHMAC = "hmac"

	// FuncVerifySignature verifies a signature natively (ABI v1.2), so a guest
	// need not run big-number code under the host's deadline checks.
	//
	// Signature: (alg i32, key i32, key_len i32, msg i32, msg_len i32, sig i32, sig_len i32) -> (ok i32).
	//
	// Parameters: alg is SigES256, SigEd25519 or SigRS256; key/key_len is the
	// public key as a PKIX (X.509 SubjectPublicKeyInfo) DER encoding;
	// msg/msg_len the signed message (the host hashes it as the algorithm
	// says); sig/sig_len the signature (ASN.1 DER for ECDSA, as WebAuthn sends
	// it; 64 bytes for Ed25519; the modulus' length for RSA). Result: 1 for a
	// valid signature, 0 for an invalid one, -1 for an unknown alg, a key that
	// does not parse or is not of the alg's type.
	FuncVerifySignature = "verify_signature"

	// FuncDigest hashes a message natively (ABI v1.2).
	//
	// Signature: (alg i32, msg i32, msg_len i32, out i32, out_len i32) -> (n i32).
	//
	// Parameters: alg is DigestSHA256 or DigestSHA512; msg/msg_len the
	// message (at most MaxInput bytes); out/out_len a buffer for the digest.
	// Result: the digest's length, written to out; -1 for an unknown alg, a
	// message over the limit or a buffer that is too small.
	FuncDigest = "digest"
)

// Hash functions of FuncDigest.
const (
	DigestSHA256 = 1
	DigestSHA512 = 2
)

// Signature algorithms of FuncVerifySignature (their COSE names).
const (
	// SigES256 is ECDSA on P-256 with SHA-256.
	SigES256 = 1
	// SigEd25519 is EdDSA on Ed25519 (the message is not pre-hashed).
	SigEd25519 = 2
	// SigRS256 is RSASSA-PKCS1-v1_5 with SHA-256, keys of 2048 to 8192 bits.
	SigRS256 = 3
)

// ReasonBadRequest is the reason code of a twofactor denial that is not a
// wrong guess but a malformed request (ABI v1.2): a credential that does not
// parse, an oversized field. The host answers 400 with the reason's message
// and does not count it against the user's guess limit. A plugin that returns
// it must declare it in Descriptor.Codes like any other code.
const ReasonBadRequest = "BAD_REQUEST"

// HMAC algorithms of FuncHMAC.
const (
	HMACSHA1   = 1
	HMACSHA256 = 2
	HMACSHA512 = 3
)

// Level is a log level of FuncLog, numbered as go-hclog numbers them.
type Level int32

// Log levels.
const (
	LevelTrace Level = 1
	LevelDebug Level = 2
	LevelInfo  Level = 3
	LevelWarn  Level = 4
	LevelError Level = 5
)

// Size limits the host enforces in ABI v1.
const (
	// MaxInput is the largest input the host passes to a plugin, in bytes.
	MaxInput = 1 << 20
	// MaxOutput is the largest output a plugin may write in one call, in bytes.
	MaxOutput = 1 << 20
)
