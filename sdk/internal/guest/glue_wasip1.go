//go:build wasip1

package guest

import (
	"runtime/debug"
	"unsafe"

	"github.com/gatehouse/gatehouse/sdk/abi"
)

// A plugin instance's linear memory never shrinks, and the host keeps instances warm: a lower
// GC target keeps a warm Go instance near 5 MiB instead of ~10 MiB at the same speed (measured,
// shared/notes/wasm-host.md).
func init() { debug.SetGCPercent(25) }

//go:wasmimport gatehouse_v1 input_read
func inputRead(buf unsafe.Pointer, limit uint32) uint32

//go:wasmimport gatehouse_v1 output_write
func outputWrite(buf unsafe.Pointer, n uint32)

//go:wasmimport gatehouse_v1 log
func hostLog(level int32, buf unsafe.Pointer, n uint32)

//go:wasmimport gatehouse_v1 log_enabled
func hostLogEnabled(level int32) uint32

// The guest owns its memory: input is copied into inBuf, output is built in
// outBuf and copied out by output_write. One call at a time per instance, so
// the buffers are reused.
var inBuf, outBuf []byte

// Call runs one export: it pulls the input, dispatches, pushes the output
// and returns the status.
func Call(inLen int32, fn func(in, out []byte) (abi.Status, []byte)) int32 {
	if inLen < 0 || inLen > abi.MaxInput {
		return int32(abi.StatusBadInput)
	}
	if cap(inBuf) < int(inLen) {
		inBuf = make([]byte, inLen)
	}
	in := inBuf[:inLen]
	if inLen > 0 {
		if n := inputRead(unsafe.Pointer(unsafe.SliceData(in)), uint32(inLen)); n != uint32(inLen) {
			return int32(abi.StatusBadInput)
		}
	}
	status, out := fn(in, outBuf[:0])
	if len(out) > 0 {
		outputWrite(unsafe.Pointer(unsafe.SliceData(out)), uint32(len(out)))
	}
	if cap(out) <= 64<<10 {
		outBuf = out[:0]
	}
	return int32(status)
}

//go:wasmexport gatehouse_abi_v1
func abiV1() {}

//go:wasmexport gatehouse_describe
func describe(inLen int32) int32 { return Call(inLen, Describe) }

//go:wasmexport gatehouse_configure
func configure(inLen int32) int32 { return Call(inLen, Configure) }

// Log writes a line to the host's log.
func Log(level abi.Level, msg string) {
	if len(msg) == 0 {
		return
	}
	hostLog(int32(level), unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
}

// LogEnabled reports whether the host writes lines at level.
func LogEnabled(level abi.Level) bool { return hostLogEnabled(int32(level)) != 0 }
