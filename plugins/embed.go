// Package plugins holds the first-party plugins: each folder below is a main
// package built to WebAssembly by `make plugins` (mk/plugins.mk) into wasm/,
// and this package embeds wasm/ so the gatehouse binary carries them.
//
// On a fresh clone wasm/ holds only its README: everything still compiles,
// and host.LoadEmbedded reports each missing plugin in the host's Status.
package plugins

import (
	"embed"
	"fmt"
	"io/fs"
)

// FirstParty lists the first-party plugins by folder name, in load order.
var FirstParty = []string{"password-default", "totp", "email-otp", "mailer-smtp", "mailer-outbox"}

//go:embed wasm
var wasmFS embed.FS

// Wasm returns the embedded module of a first-party plugin.
func Wasm(name string) ([]byte, error) {
	b, err := fs.ReadFile(wasmFS, "wasm/"+name+".wasm")
	if err != nil {
		return nil, fmt.Errorf("plugins: %s is not built into this binary (run `make plugins`, then rebuild): %w", name, err)
	}
	return b, nil
}
