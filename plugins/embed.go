// Package plugins holds the first-party plugins, each in a folder below. The
// gatehouse binary embeds one module of each:
//
//   - for those in AssemblyScript, the committed AssemblyScript build
//     <name>/as/<name>.wasm (sdk/assemblyscript/build.sh --check rebuilds it
//     byte for byte). The Go main package in <name>/ stays as the reference
//     implementation that tests/assemblyscript runs beside it; `make plugins`
//     builds it to .cache/wasm/, not into the binary.
//   - for the others, the Go main package in <name>/, built to WebAssembly by
//     `make plugins` (mk/plugins.mk) and embedded zstd-compressed as
//     wasm/<name>.wasm.zst (internal/wasmpack; a Go plugin compresses ~4x, which
//     keeps the binary within its size budget). Wasm decompresses it.
//
// On a fresh clone wasm/ holds only its README: everything still compiles,
// and host.LoadEmbedded reports each missing Go plugin in the host's Status.
package plugins

import (
	"embed"
	"fmt"
	"io/fs"
	"slices"

	"github.com/klauspost/compress/zstd"
)

// FirstParty lists the first-party plugins by folder name, in load order.
var FirstParty = []string{"password-default", "totp", "email-otp", "mailer-smtp", "mailer-outbox", "passkey"}

// AssemblyScript lists the first-party plugins embedded as their committed
// AssemblyScript build (mk/plugins.mk's PLUGINS_FIRST_PARTY_AS says the same).
var AssemblyScript = []string{"password-default", "totp", "email-otp", "mailer-smtp", "mailer-outbox", "passkey"}

//go:embed wasm
var wasmFS embed.FS

//go:embed password-default/as/password-default.wasm totp/as/totp.wasm email-otp/as/email-otp.wasm
//go:embed mailer-smtp/as/mailer-smtp.wasm mailer-outbox/as/mailer-outbox.wasm passkey/as/passkey.wasm
var asFS embed.FS

// Wasm returns the embedded module of a first-party plugin.
func Wasm(name string) ([]byte, error) {
	if slices.Contains(AssemblyScript, name) {
		return fs.ReadFile(asFS, name+"/as/"+name+".wasm")
	}
	packed, err := fs.ReadFile(wasmFS, "wasm/"+name+".wasm.zst")
	if err != nil {
		return nil, fmt.Errorf("plugins: %s is not built into this binary (run `make plugins`, then rebuild): %w", name, err)
	}
	// A decoder for this call only: a long-lived one keeps its last output (the whole module,
	// 10.7 MB for passkey) referenced as its history, for as long as the process runs.
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	b, err := dec.DecodeAll(packed, nil)
	if err != nil {
		return nil, fmt.Errorf("plugins: %s: embedded module undecodable: %w", name, err)
	}
	return b, nil
}
