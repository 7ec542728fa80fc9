// sdktest runs a plugin in the real Gatehouse host, so it depends on the
// server's module (host/ and its wazero); it is a module of its own so that
// the SDK module (..) does not. Plugin authors who want a test kit without Go
// use `gatehouse plugin test FILE.wasm` instead.
module github.com/gatehouse/gatehouse/sdk/sdktest

go 1.26.8

require (
	github.com/gatehouse/gatehouse v0.0.0-00010101000000-000000000000
	github.com/gatehouse/gatehouse/sdk v0.0.0-00010101000000-000000000000
	github.com/hashicorp/go-hclog v1.6.3
)

require (
	github.com/fatih/color v1.13.0 // indirect
	github.com/mattn/go-colorable v0.1.12 // indirect
	github.com/mattn/go-isatty v0.0.14 // indirect
	github.com/tetratelabs/wazero v1.12.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

replace (
	github.com/gatehouse/gatehouse => ../..
	github.com/gatehouse/gatehouse/sdk => ..
)
