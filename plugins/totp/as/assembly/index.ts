// twofactor.totp, the first-party TOTP method, in AssemblyScript. The Go package ../totp is the
// reference implementation; tests/assemblyscript feeds both the same states, codes and times
// through the host and requires the same answers.
//
// RFC 6238: HOTP (RFC 4226) with HMAC-SHA1, 6 digits, 30 s steps, one step either side; a
// 160-bit secret from the host's cryptographic source, kept by the host as its base32 text
// (the state) and shown once at setup (the secret, and the otpauth URL of the API spec). The HMAC is the host's (the crypto capability,
// which the server grants twofactor.totp). An accepted code's replay key is its time step.
//
// The secret is read exactly as the Go method reads it (strings.TrimSpace, padding to a
// multiple of 8, strings.ToUpper, then encoding/base32's StdEncoding.DecodeString, ported
// below step for step), so a state either accepts or refuses the same codes in both.

import { Info, randomBytes } from "@gatehouse/as-sdk";
import { Hash, hmacInto } from "@gatehouse/as-sdk/crypto";
import {
  registerTwoFactorMethod,
  TwoFactorInfo,
  TwoFactorMethod,
  TwoFactorRequest,
  TwoFactorResult,
} from "@gatehouse/as-sdk/twofactor";

export * from "@gatehouse/as-sdk/exports/twofactor";

const DIGITS: i32 = 6;
const PERIOD: u64 = 30; // seconds
const SKEW: u64 = 1; // steps either side of the current one
const INVALID = "TOTP_INVALID";
const MSG_INVALID = "Invalid TOTP code";

// ---- base32 (RFC 4648, the standard alphabet) ----

const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** Unpadded base32 of `b` (Go's StdEncoding.WithPadding(NoPadding)). */
function base32Encode(b: Uint8Array): string {
  let out = "";
  let bits: u32 = 0;
  let value: u32 = 0;
  for (let i = 0; i < b.length; i++) {
    value = (value << 8) | <u32>b[i];
    bits += 8;
    while (bits >= 5) {
      out += B32.charAt(<i32>((value >> (bits - 5)) & 31));
      bits -= 5;
    }
  }
  if (bits > 0) out += B32.charAt(<i32>((value << (5 - bits)) & 31));
  return out;
}

/** The value of a base32 character, or 0xff (Go's decodeMap). */
function b32Value(c: u8): u8 {
  if (c >= 0x41 && c <= 0x5a) return c - 0x41;
  if (c >= 0x32 && c <= 0x37) return c - 0x32 + 26;
  return 0xff;
}

/** Length of the Unicode white space (Go's unicode.IsSpace) at b[i], or 0. */
function spaceAt(b: Uint8Array, i: i32): i32 {
  const n = b.length;
  const c = b[i];
  if (c == 0x20 || (c >= 0x09 && c <= 0x0d)) return 1;
  if (c == 0xc2 && i + 1 < n && (b[i + 1] == 0x85 || b[i + 1] == 0xa0)) return 2;
  if (i + 2 >= n) return 0;
  const c1 = b[i + 1];
  const c2 = b[i + 2];
  if (c == 0xe1 && c1 == 0x9a && c2 == 0x80) return 3; // U+1680
  if (c == 0xe2 && c1 == 0x80 && ((c2 >= 0x80 && c2 <= 0x8a) || c2 == 0xa8 || c2 == 0xa9 || c2 == 0xaf)) return 3;
  if (c == 0xe2 && c1 == 0x81 && c2 == 0x9f) return 3; // U+205F
  if (c == 0xe3 && c1 == 0x80 && c2 == 0x80) return 3; // U+3000
  return 0;
}

/** Length of the white space ending at b[end-1], or 0. */
function spaceBefore(b: Uint8Array, end: i32): i32 {
  for (let k = 1; k <= 3 && k <= end; k++) {
    if (spaceAt(b, end - k) == k) return k;
  }
  return 0;
}

/**
 * The secret of a state, read as the Go method does; null if it is not base32 (which matches
 * no code). An empty state is an empty key.
 */
function decodeSecret(state: Uint8Array): Uint8Array | null {
  // strings.TrimSpace
  let start = 0;
  let end = state.length;
  while (start < end) {
    const k = spaceAt(state, start);
    if (k == 0) break;
    start += k;
  }
  while (end > start) {
    const k = spaceBefore(state, end);
    if (k == 0 || end - k < start) break;
    end -= k;
  }
  // Padding to a multiple of 8 bytes, then strings.ToUpper (ASCII, and the two non-ASCII
  // letters whose upper case is ASCII: U+0131 -> I, U+017F -> S), then stripNewlines.
  const trimmed = end - start;
  const padded = trimmed % 8 == 0 ? trimmed : trimmed + 8 - (trimmed % 8);
  const src = new Uint8Array(padded);
  let l = 0;
  for (let i = start; i < end; i++) {
    let c = state[i];
    if (c == 0xc4 && i + 1 < end && state[i + 1] == 0xb1) {
      c = 0x49;
      i++;
    } else if (c == 0xc5 && i + 1 < end && state[i + 1] == 0xbf) {
      c = 0x53;
      i++;
    } else if (c >= 0x61 && c <= 0x7a) c -= 0x20;
    if (c == 0x0a || c == 0x0d) continue;
    src[l++] = c;
  }
  for (let i = trimmed; i < padded; i++) src[l++] = 0x3d; // '='
  // encoding/base32 (*Encoding).decode with the padding character '='.
  const dst = new Uint8Array((l * 5) >> 3);
  const dbuf = new Uint8Array(8);
  let p = 0; // read position in src[0:l]
  let n = 0;
  let ended = false;
  while (p < l && !ended) {
    let dlen = 8;
    for (let j = 0; j < 8; ) {
      if (p == l) return null; // missing padding
      const c = src[p++];
      const left = l - p;
      if (c == 0x3d && j >= 2 && left < 8) {
        if (left + j < 7) return null; // not enough padding
        for (let k = 0; k < 7 - j; k++) {
          if (left > k && src[p + k] != 0x3d) return null; // incorrect padding
        }
        dlen = j;
        ended = true;
        if (dlen == 1 || dlen == 3 || dlen == 6) return null;
        break;
      }
      const v = b32Value(c);
      if (v == 0xff) return null;
      dbuf[j] = v;
      j++;
    }
    const o = n;
    if (dlen == 8) {
      dst[o + 4] = (dbuf[6] << 5) | dbuf[7];
      n++;
    }
    if (dlen >= 7) {
      dst[o + 3] = (dbuf[4] << 7) | (dbuf[5] << 2) | (dbuf[6] >> 3);
      n++;
    }
    if (dlen >= 5) {
      dst[o + 2] = (dbuf[3] << 4) | (dbuf[4] >> 1);
      n++;
    }
    if (dlen >= 4) {
      dst[o + 1] = (dbuf[1] << 6) | (dbuf[2] << 1) | (dbuf[3] >> 4);
      n++;
    }
    if (dlen >= 2) {
      dst[o] = (dbuf[0] << 3) | (dbuf[1] >> 2);
      n++;
    }
  }
  return dst.subarray(0, n);
}

// ---- the otpauth URL, escaped as Go's url.PathEscape and url.QueryEscape ----

const HEX = "0123456789ABCDEF";

function escape(s: string, query: bool): string {
  const b = Uint8Array.wrap(String.UTF8.encode(s));
  let out = "";
  for (let i = 0; i < b.length; i++) {
    const c = <i32>b[i];
    const alnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    const mark = c == 0x2d || c == 0x5f || c == 0x2e || c == 0x7e; // - _ . ~
    // The reserved characters a path segment keeps: $ & + : = @
    const keptInPath = c == 0x24 || c == 0x26 || c == 0x2b || c == 0x3a || c == 0x3d || c == 0x40;
    if (alnum || mark || (!query && keptInPath)) out += String.fromCharCode(c);
    else if (query && c == 0x20) out += "+";
    else out += "%" + HEX.charAt(c >> 4) + HEX.charAt(c & 15);
  }
  return out;
}

/** otpauth://totp/<issuer>:<account>?secret=...&issuer=...&algorithm=SHA1&digits=6&period=30 */
function otpauthURL(issuer: string, account: string, secret: string): string {
  return (
    "otpauth://totp/" + escape(issuer, false) + ":" + escape(account, false) +
    "?secret=" + secret + "&issuer=" + escape(issuer, true) + "&algorithm=SHA1&digits=6&period=30"
  );
}

// ---- HOTP (RFC 4226) ----

const msg = new Uint8Array(8);
const mac = new Uint8Array(20);

/** The code of `counter` under `key`, as 6 ASCII digits in `code`. */
function hotp(code: Uint8Array, key: Uint8Array, counter: u64): void {
  for (let i = 7; i >= 0; i--) {
    msg[i] = <u8>(counter & 0xff);
    counter >>= 8;
  }
  if (hmacInto(Hash.SHA1, key, msg, mac) != 20) unreachable();
  const o = <i32>(mac[19] & 0x0f);
  let v: u32 = ((<u32>mac[o] & 0x7f) << 24) | (<u32>mac[o + 1] << 16) | (<u32>mac[o + 2] << 8) | <u32>mac[o + 3];
  for (let i = DIGITS - 1; i >= 0; i--) {
    code[i] = <u8>(0x30 + v % 10);
    v /= 10;
  }
}

const want = new Uint8Array(DIGITS);

/**
 * Whether `code` is the code of a step around `nowNanos`; the step is in `matched`. Every
 * candidate is computed and compared without an early exit. The arithmetic is Go's: the Unix
 * second (floored) as a uint64, so the steps before the first one wrap and are not tried.
 */
let matched: u64 = 0;
function match(key: Uint8Array, code: string, nowNanos: i64): bool {
  if (code.length != DIGITS) return false;
  let secs = nowNanos / 1_000_000_000;
  if (nowNanos % 1_000_000_000 < 0) secs--;
  const current = <u64>secs / PERIOD;
  let found = false;
  for (let step: u64 = current - SKEW; step <= current + SKEW; step++) {
    hotp(want, key, step);
    let diff: i32 = 0;
    for (let i = 0; i < DIGITS; i++) diff |= <i32>want[i] ^ code.charCodeAt(i);
    if (diff == 0) {
      matched = step;
      found = true;
    }
  }
  return found;
}

// ---- the method ----

class Totp extends TwoFactorMethod {
  enroll(req: TwoFactorRequest): TwoFactorResult {
    const secret = base32Encode(randomBytes(20)); // 160 bits (RFC 4226 section 4)
    const r = new TwoFactorResult();
    r.state = Uint8Array.wrap(String.UTF8.encode(secret));
    r.secret = secret; // shown once for manual entry
    r.uri = otpauthURL(req.serviceName, req.email, secret);
    return r;
  }

  activate(req: TwoFactorRequest): TwoFactorResult {
    return this.verify(req);
  }

  verify(req: TwoFactorRequest): TwoFactorResult {
    const st = req.state;
    const key = decodeSecret(st === null ? new Uint8Array(0) : st);
    if (key === null || !match(key, req.code, req.now)) return TwoFactorResult.denied(INVALID, MSG_INVALID);
    return TwoFactorResult.accepted(matched.toString());
  }
}

const method = new TwoFactorInfo();
method.summaryKey = "totp";
method.codeField = "totp";
method.codeLength = DIGITS;
method.codePrefix = "TOTP";
method.replayWindowSeconds = 180; // a step's code is accepted for at most 90 s

registerTwoFactorMethod(
  new Info("twofactor.totp", "TOTP", "1.0.0")
    .withCodes([INVALID])
    .withDescription(
      "Time-based one-time passwords (RFC 6238: SHA1, 6 digits, 30 s, one step either side) from an authenticator app.",
    ),
  method,
  new Totp(),
);
