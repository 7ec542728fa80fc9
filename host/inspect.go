package host

import (
	"context"
	"errors"
	"slices"
)

// Report is what Inspect finds in a module.
type Report struct {
	// Size is the module's size in bytes; SHA256 its hash, in hex.
	Size   int    `json:"size"`
	SHA256 string `json:"sha256"`
	// ABIMajor is the ABI major version its marker export selects (0: none).
	ABIMajor int `json:"abiMajor"`
	// Descriptor is what the plugin says about itself; nil if it could not
	// be asked (the module failed an earlier check).
	Descriptor *Descriptor `json:"descriptor,omitempty"`
	// Exports lists its exported functions; Imports the functions it imports.
	Exports []string `json:"exports"`
	Imports []Import `json:"imports"`
	// Capabilities lists the capabilities its imports use: an operator must
	// grant each to the plugin's id.
	Capabilities []string `json:"capabilities"`
	// Loadable reports whether this host can load it (given the grants
	// above); Problem says why not.
	Loadable bool   `json:"loadable"`
	Problem  string `json:"problem,omitempty"`
}

// Inspect checks a module as Load would, in a throwaway host that grants
// every capability the module imports, and reports what it found. The error
// is for failures of the inspection itself, not of the module.
func Inspect(ctx context.Context, wasm []byte) (Report, error) {
	h, err := New(ctx, Config{grantAll: true, PoolSize: 1})
	if err != nil {
		return Report{}, err
	}
	defer h.Close(ctx)
	p, info, err := load(ctx, h, "inspect", wasm)
	r := Report{
		Size:         info.wasmSize,
		SHA256:       info.sha256,
		ABIMajor:     info.major,
		Exports:      info.exports,
		Imports:      info.imports,
		Capabilities: slices.Clone(info.caps),
	}
	if info.desc != nil {
		d := cloneDescriptor(info.desc)
		r.Descriptor = &d
	}
	if err != nil {
		r.Problem = err.Error()
		return r, nil
	}
	r.Loadable = true
	return r, errors.Join(p.close(ctx))
}
