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
