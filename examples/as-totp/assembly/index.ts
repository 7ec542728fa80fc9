// twofactor.as-totp: an example second-factor method written with the AssemblyScript SDK.
//
// RFC 6238 time-based one-time passwords (RFC 4226 HOTP with HMAC-SHA1, 6 digits, 30 s steps,
// one step either side), the parameters every authenticator app supports. The HMAC is the
// host's (the `crypto` capability: importing the SDK's crypto module declares it, the operator
// grants it with GATEHOUSE_PLUGIN_GRANTS=twofactor.as-totp=crypto); the truncation around it
// is here. The state the host keeps is the base32 secret (the same state as the first-party
// twofactor.totp). An accepted code's replay key is its time step, which the host refuses
// again for the replay window (3 minutes, more than the 90 s a code can match).
//
// Served at /user/2fa/as-totp/setup, /enable, /authenticate, /next-guess and DELETE
// /user/2fa/as-totp with the body {"code": "123456"} and the message codes AS_TOTP_INVALID,
// AS_TOTP_UNINITIALIZED, TOO_MANY_AS_TOTP_CHECKS, ... derived from its route.

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
const PERIOD: i64 = 30; // seconds
const SKEW: i64 = 1; // steps either side of the current one
const INVALID = "AS_TOTP_INVALID";
const INVALID_MESSAGE = "Invalid TOTP code";

// ---- base32 (RFC 4648) ----

const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

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

/**
 * Decodes a base32 secret as authenticator apps do: surrounding spaces trimmed, either case,
 * padding optional. Null if it is not base32.
 */
function base32Decode(s: string): Uint8Array | null {
  const t = s.trim();
  let n = t.length;
  while (n > 0 && t.charCodeAt(n - 1) == 0x3d) n--; // '='
  const out = new Uint8Array((n * 5) >> 3);
  let bits: u32 = 0;
  let value: u32 = 0;
  let w = 0;
  for (let i = 0; i < n; i++) {
    let c = t.charCodeAt(i);
    if (c >= 0x61 && c <= 0x7a) c -= 0x20; // lower case
    let v: i32;
    if (c >= 0x41 && c <= 0x5a) v = c - 0x41;
    else if (c >= 0x32 && c <= 0x37) v = c - 0x32 + 26;
    else return null;
    value = (value << 5) | <u32>v;
    bits += 5;
    if (bits >= 8) {
      out[w++] = <u8>(value >> (bits - 8));
      bits -= 8;
    }
  }
  return out;
}

// ---- URL escaping, as Go's url.PathEscape and url.QueryEscape ----

const HEX = "0123456789ABCDEF";

function escape(s: string, query: bool): string {
  const b = Uint8Array.wrap(String.UTF8.encode(s));
  let out = "";
  for (let i = 0; i < b.length; i++) {
    const c = <i32>b[i];
    const alnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    const mark = c == 0x2d || c == 0x5f || c == 0x2e || c == 0x7e; // - _ . ~
    // Reserved characters a path segment keeps: $ & + : = @
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
 * The step in [current-SKEW, current+SKEW] whose code is `code`, or -1. Every candidate is
 * computed and compared without an early exit.
 */
function match(key: Uint8Array, code: string, now: i64): i64 {
  if (code.length != DIGITS) return -1;
  const current = now / 1_000_000_000 / PERIOD;
  let matched: i64 = -1;
  for (let step = current - SKEW; step <= current + SKEW; step++) {
    hotp(want, key, <u64>step);
    let diff: i32 = 0;
    for (let i = 0; i < DIGITS; i++) diff |= <i32>want[i] ^ code.charCodeAt(i);
    if (diff == 0) matched = step;
  }
  return matched;
}

// ---- the method ----

class Totp extends TwoFactorMethod {
  enroll(req: TwoFactorRequest): TwoFactorResult {
    const secret = base32Encode(randomBytes(20)); // 160 bits (RFC 4226 section 4)
    const r = new TwoFactorResult();
    r.state = Uint8Array.wrap(String.UTF8.encode(secret));
    r.uri = otpauthURL(req.serviceName, req.email, secret);
    return r;
  }

  activate(req: TwoFactorRequest): TwoFactorResult {
    return this.verify(req);
  }

  verify(req: TwoFactorRequest): TwoFactorResult {
    const st = req.state;
    if (st === null) return TwoFactorResult.failure("as-totp: no state");
    const key = base32Decode(String.UTF8.decode(st.buffer));
    if (key === null || key.length == 0) return TwoFactorResult.failure("as-totp: unreadable state");
    const step = match(key, req.code, req.now);
    if (step < 0) return TwoFactorResult.denied(INVALID, INVALID_MESSAGE);
    return TwoFactorResult.accepted(step.toString());
  }
}

const method = new TwoFactorInfo();
method.codeLength = DIGITS;
method.replayWindowSeconds = 180;

registerTwoFactorMethod(
  new Info("twofactor.as-totp", "TOTP (AssemblyScript example)", "1.0.0")
    .withCodes([INVALID])
    .withDescription(
      "Time-based one-time passwords (RFC 6238: SHA1, 6 digits, 30 s, one step either side) from an authenticator app; an example written with the AssemblyScript SDK.",
    ),
  method,
  new Totp(),
);
