// Command wasmpack compresses a first-party Go plugin for embedding: zstd at its best level, one
// goroutine, so the same module always gives the same bytes. package plugins decompresses it
// at load (Wasm). A Go plugin is mostly code and compresses ~4x (passkey: 10.7 MB -> 2.5 MB),
// which keeps the binary within its budget (BENCHMARKS.md).
//
// Usage: go run ./internal/wasmpack IN.wasm OUT.wasm.zst   (mk/plugins.mk runs it)
package main

import (
	"fmt"
	"os"

	"github.com/klauspost/compress/zstd"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: wasmpack IN.wasm OUT.wasm.zst")
		os.Exit(2)
	}
	if err := pack(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "wasmpack:", err)
		os.Exit(1)
	}
}

func pack(in, out string) error {
	wasm, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBestCompression), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return err
	}
	packed := enc.EncodeAll(wasm, nil)
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, packed, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}
