package host

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"

	"github.com/tetratelabs/wazero/api"

	"github.com/gatehouse/gatehouse/sdk/abi"
	"github.com/gatehouse/gatehouse/sdk/abi/sigverify"
)

// Limits of verify_signature's inputs: a PKIX key of an 8192-bit RSA modulus is about 1.1 KB,
// its signature 1 KB; a WebAuthn signed message is the authenticator data and a hash.
const (
	maxSignatureKey = 2048
	maxSignature    = 1024
	maxSignedData   = 64 << 10
)

// verifySignatureFunc is the crypto capability's verify_signature (ABI v1.2).
var verifySignatureFunc = hostFunc{params: []api.ValueType{i32, i32, i32, i32, i32, i32, i32}, results: []api.ValueType{i32}, fn: func(p *plugin) api.GoModuleFunc {
	return func(ctx context.Context, mod api.Module, stack []uint64) {
		alg := api.DecodeI32(stack[0])
		keyLen, msgLen, sigLen := api.DecodeU32(stack[2]), api.DecodeU32(stack[4]), api.DecodeU32(stack[6])
		if keyLen > maxSignatureKey || msgLen > maxSignedData || sigLen > maxSignature {
			stack[0] = api.EncodeI32(-1)
			return
		}
		mem := mod.Memory()
		key, ok1 := mem.Read(api.DecodeU32(stack[1]), keyLen)
		msg, ok2 := mem.Read(api.DecodeU32(stack[3]), msgLen)
		sig, ok3 := mem.Read(api.DecodeU32(stack[5]), sigLen)
		if !ok1 || !ok2 || !ok3 {
			panic(misuse("verify_signature: buffer outside memory"))
		}
		stack[0] = api.EncodeI32(sigverify.Verify(alg, key, msg, sig))
	}
}}

// digestFunc is the crypto capability's digest (ABI v1.2).
var digestFunc = hostFunc{params: []api.ValueType{i32, i32, i32, i32, i32}, results: []api.ValueType{i32}, fn: func(p *plugin) api.GoModuleFunc {
	return func(ctx context.Context, mod api.Module, stack []uint64) {
		alg := api.DecodeI32(stack[0])
		msgLen, out, outLen := api.DecodeU32(stack[2]), api.DecodeU32(stack[3]), api.DecodeU32(stack[4])
		if msgLen > abi.MaxInput {
			stack[0] = api.EncodeI32(-1)
			return
		}
		msg, ok := mod.Memory().Read(api.DecodeU32(stack[1]), msgLen)
		if !ok {
			panic(misuse("digest: buffer outside memory"))
		}
		var sum []byte
		switch alg {
		case abi.DigestSHA256:
			s := sha256.Sum256(msg)
			sum = s[:]
		case abi.DigestSHA512:
			s := sha512.Sum512(msg)
			sum = s[:]
		default:
			stack[0] = api.EncodeI32(-1)
			return
		}
		if uint32(len(sum)) > outLen {
			stack[0] = api.EncodeI32(-1)
			return
		}
		if !mod.Memory().Write(out, sum) {
			panic(misuse("digest: buffer outside memory"))
		}
		stack[0] = api.EncodeI32(int32(len(sum)))
	}
}}
