//go:build wasip1

package hostcrypto

import "unsafe"

//go:wasmimport gatehouse_crypto_v1 hmac
func hostHMAC(alg int32, key unsafe.Pointer, keyLen uint32, msg unsafe.Pointer, msgLen uint32, out unsafe.Pointer, outLen uint32) int32

// hmacInto has the host write the MAC into out (len(out) is alg's size) and
// returns its length, or -1.
func hmacInto(alg Alg, key, msg, out []byte) int {
	return int(hostHMAC(int32(alg),
		unsafe.Pointer(unsafe.SliceData(key)), uint32(len(key)),
		unsafe.Pointer(unsafe.SliceData(msg)), uint32(len(msg)),
		unsafe.Pointer(unsafe.SliceData(out)), uint32(len(out))))
}
