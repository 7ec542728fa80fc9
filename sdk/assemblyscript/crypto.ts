// The `crypto` capability (module gatehouse_crypto_v1): HMAC computed natively by the host,
// much faster than in the guest under the host's deadline checks. Importing this file declares
// the capability in the descriptor; the operator grants it (GATEHOUSE_PLUGIN_GRANTS, e.g.
// `twofactor.mine=crypto`).

import { declareCapability } from "./plugin";

// @ts-ignore: decorator
@external("gatehouse_crypto_v1", "hmac")
declare function host_hmac(alg: i32, key: usize, keyLen: i32, msg: usize, msgLen: i32, out: usize, outLen: i32): i32;

declareCapability("crypto");

/** HMAC algorithms of the crypto capability. */
export namespace Hash {
  export const SHA1: i32 = 1;
  export const SHA256: i32 = 2;
  export const SHA512: i32 = 3;
}

function macSize(alg: i32): i32 {
  if (alg == Hash.SHA1) return 20;
  if (alg == Hash.SHA256) return 32;
  return 64;
}

/** HMAC-`alg` of `msg` under `key`. An unknown `alg` traps. */
export function hmac(alg: i32, key: Uint8Array, msg: Uint8Array): Uint8Array {
  const out = new Uint8Array(macSize(alg));
  const n = host_hmac(alg, key.dataStart, key.length, msg.dataStart, msg.length, out.dataStart, out.length);
  if (n != out.length) unreachable();
  return out;
}

/**
 * HMAC into `out` (no allocation); returns the MAC's length, or -1 for an unknown `alg` or an
 * `out` too small.
 */
export function hmacInto(alg: i32, key: Uint8Array, msg: Uint8Array, out: Uint8Array): i32 {
  return host_hmac(alg, key.dataStart, key.length, msg.dataStart, msg.length, out.dataStart, out.length);
}

// ---- ABI v1.2: signatures and digests ----

// @ts-ignore: decorator
@external("gatehouse_crypto_v1", "verify_signature")
declare function host_verify_signature(alg: i32, key: usize, keyLen: i32, msg: usize, msgLen: i32, sig: usize, sigLen: i32): i32;

// @ts-ignore: decorator
@external("gatehouse_crypto_v1", "digest")
declare function host_digest(alg: i32, msg: usize, msgLen: i32, out: usize, outLen: i32): i32;

/** Signature algorithms of `verifySignature` (ABI v1.2). */
export namespace Sig {
  /** ECDSA on P-256 with SHA-256; the signature in ASN.1 DER, as WebAuthn sends it. */
  export const ES256: i32 = 1;
  /** EdDSA on Ed25519 (the message is not pre-hashed); a 64-byte signature. */
  export const Ed25519: i32 = 2;
  /** RSASSA-PKCS1-v1_5 with SHA-256, keys of 2048 to 8192 bits. */
  export const RS256: i32 = 3;
}

/** Hash functions of `digest` (ABI v1.2). */
export namespace Digest {
  export const SHA256: i32 = 1;
  export const SHA512: i32 = 2;
}

/**
 * Verifies `sig` over `msg` (hashed by the host as `alg` says) under `key`, a PKIX
 * (SubjectPublicKeyInfo) DER public key (ABI v1.2; the host's limits: key 2 KiB, msg 64 KiB,
 * sig 1 KiB). Returns 1 for a valid signature, 0 for an invalid one, -1 for an unknown `alg`,
 * a key that does not parse or is not of `alg`'s type, or an input over a limit. A plugin
 * calling it needs a v1.2 host: declare it with `Info.withABIMinor(2)`.
 */
export function verifySignature(alg: i32, key: Uint8Array, msg: Uint8Array, sig: Uint8Array): i32 {
  return host_verify_signature(alg, key.dataStart, key.length, msg.dataStart, msg.length, sig.dataStart, sig.length);
}

/**
 * The `alg` digest of `msg` (ABI v1.2; at most 1 MiB). An unknown `alg` or a message over the
 * limit traps. A plugin calling it needs a v1.2 host: declare it with `Info.withABIMinor(2)`.
 */
export function digest(alg: i32, msg: Uint8Array): Uint8Array {
  const out = new Uint8Array(alg == Digest.SHA256 ? 32 : 64);
  const n = host_digest(alg, msg.dataStart, msg.length, out.dataStart, out.length);
  if (n != out.length) unreachable();
  return out;
}

/** SHA-256 of `msg` by the host (ABI v1.2). */
export function sha256(msg: Uint8Array): Uint8Array {
  return digest(Digest.SHA256, msg);
}
