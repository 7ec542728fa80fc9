// The guest SDK: what a plugin author depends on. It needs only the standard
// library and protowire (the wire primitives of abi.proto), never the host or
// the server: no fasthttp, Badger or wazero in a plugin's module graph.
module github.com/gatehouse/gatehouse/sdk

go 1.24

require google.golang.org/protobuf v1.36.12
