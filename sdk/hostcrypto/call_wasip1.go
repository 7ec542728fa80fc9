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

//go:wasmimport gatehouse_crypto_v1 verify_signature
func hostVerifySignature(alg int32, key unsafe.Pointer, keyLen uint32, msg unsafe.Pointer, msgLen uint32, sig unsafe.Pointer, sigLen uint32) int32

// verifyNative has the host verify the signature: 1 valid, 0 invalid, -1
// unusable key or algorithm.
func verifyNative(alg Algorithm, key, msg, sig []byte) int32 {
	return hostVerifySignature(int32(alg),
		unsafe.Pointer(unsafe.SliceData(key)), uint32(len(key)),
		unsafe.Pointer(unsafe.SliceData(msg)), uint32(len(msg)),
		unsafe.Pointer(unsafe.SliceData(sig)), uint32(len(sig)))
}

//go:wasmimport gatehouse_crypto_v1 digest
func hostDigest(alg int32, msg unsafe.Pointer, msgLen uint32, out unsafe.Pointer, outLen uint32) int32

// digestInto has the host hash msg into out and returns the digest's length, or -1.
func digestInto(alg int32, msg, out []byte) int {
	return int(hostDigest(alg, unsafe.Pointer(unsafe.SliceData(msg)), uint32(len(msg)), unsafe.Pointer(unsafe.SliceData(out)), uint32(len(out))))
}
