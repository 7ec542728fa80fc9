// Base64 (Go's encoding/base64 StdEncoding and RawURLEncoding), RFC 3339 times as Go's
// time.Time marshals them, and the CBOR items WebAuthn uses (RFC 8949: integers, byte and
// text strings, arrays, maps, simple values; definite lengths only, as CTAP2 writes them).

const STD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

function encode64(b: Uint8Array, alphabet: string, pad: bool): string {
  const parts: string[] = [];
  let i = 0;
  for (; i + 2 < b.length; i += 3) {
    const v = (<u32>b[i] << 16) | (<u32>b[i + 1] << 8) | <u32>b[i + 2];
    parts.push(alphabet.charAt(<i32>(v >> 18)) + alphabet.charAt(<i32>((v >> 12) & 63)) +
      alphabet.charAt(<i32>((v >> 6) & 63)) + alphabet.charAt(<i32>(v & 63)));
  }
  const rest = b.length - i;
  if (rest == 1) {
    const v = <u32>b[i] << 16;
    parts.push(alphabet.charAt(<i32>(v >> 18)) + alphabet.charAt(<i32>((v >> 12) & 63)) + (pad ? "==" : ""));
  } else if (rest == 2) {
    const v = (<u32>b[i] << 16) | (<u32>b[i + 1] << 8);
    parts.push(alphabet.charAt(<i32>(v >> 18)) + alphabet.charAt(<i32>((v >> 12) & 63)) +
      alphabet.charAt(<i32>((v >> 6) & 63)) + (pad ? "=" : ""));
  }
  return parts.join("");
}

/** Base64 with padding (Go's StdEncoding: []byte in encoding/json). */
export function b64std(b: Uint8Array): string {
  return encode64(b, STD, true);
}

/** Base64url without padding (Go's RawURLEncoding: WebAuthn's JSON). */
export function b64url(b: Uint8Array): string {
  return encode64(b, URL, false);
}

function value64(c: i32, url: bool): i32 {
  if (c >= 0x41 && c <= 0x5a) return c - 0x41;
  if (c >= 0x61 && c <= 0x7a) return c - 0x61 + 26;
  if (c >= 0x30 && c <= 0x39) return c - 0x30 + 52;
  if (url ? c == 0x2d : c == 0x2b) return 62;
  if (url ? c == 0x5f : c == 0x2f) return 63;
  return -1;
}

/**
 * Decodes base64 as Go's decoder does: `url` the URL alphabet, `padded` the padding required
 * (StdEncoding) or refused (RawURLEncoding); \r and \n are skipped; null for invalid input.
 */
export function decode64(s: string, url: bool, padded: bool): Uint8Array | null {
  const vals: i32[] = [];
  let pads = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x0a || c == 0x0d) continue;
    if (c == 0x3d) {
      if (!padded) return null;
      pads++;
      continue;
    }
    if (pads > 0) return null;
    const v = value64(c, url);
    if (v < 0) return null;
    vals.push(v);
  }
  const n = vals.length;
  if (n % 4 == 1) return null;
  if (padded && ((n + pads) % 4 != 0 || pads > 2 || (pads > 0 && (n % 4) + pads != 4))) return null;
  const out = new Uint8Array((n * 3) >> 2);
  let w = 0;
  for (let i = 0; i < n; i += 4) {
    const k = n - i < 4 ? n - i : 4;
    let v: u32 = 0;
    for (let j = 0; j < 4; j++) v = (v << 6) | <u32>(j < k ? vals[i + j] : 0);
    out[w++] = <u8>(v >> 16);
    if (k > 2) out[w++] = <u8>(v >> 8);
    if (k > 3) out[w++] = <u8>v;
  }
  return out;
}

// ---- times ----

/** An instant with the UTC offset it is written with (Go's time.Time in JSON). */
export class Time {
  constructor(public sec: i64 = ZERO_SEC, public nsec: i32 = 0, public offset: i32 = 0) {}

  static fromUnixNano(n: i64): Time {
    let sec = n / 1000000000;
    let nsec = <i32>(n % 1000000000);
    if (nsec < 0) {
      nsec += 1000000000;
      sec--;
    }
    return new Time(sec, nsec, 0);
  }

  isZero(): bool {
    return this.sec == ZERO_SEC && this.nsec == 0;
  }

  before(t: Time): bool {
    return this.sec < t.sec || (this.sec == t.sec && this.nsec < t.nsec);
  }

  addSeconds(s: i64): Time {
    return new Time(this.sec + s, this.nsec, this.offset);
  }

  utc(): Time {
    return new Time(this.sec, this.nsec, 0);
  }
}

/** Unix seconds of 0001-01-01T00:00:00Z, Go's zero time. */
export const ZERO_SEC: i64 = -62135596800;

function daysFromCivil(y: i64, m: i64, d: i64): i64 {
  y -= m <= 2 ? 1 : 0;
  const era = (y >= 0 ? y : y - 399) / 400;
  const yoe = y - era * 400;
  const doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

function pad(n: i64, width: i32): string {
  let s = n.toString();
  while (s.length < width) s = "0" + s;
  return s;
}

/** RFC 3339 with nanoseconds, trailing zeros dropped (Go's time.RFC3339Nano). */
export function formatTime(t: Time): string {
  const local = t.sec + <i64>t.offset;
  let days = local / 86400;
  let rem = local % 86400;
  if (rem < 0) {
    rem += 86400;
    days--;
  }
  // civil from days (Howard Hinnant)
  const z = days + 719468;
  const era = (z >= 0 ? z : z - 146096) / 146097;
  const doe = z - era * 146097;
  const yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const mp = (5 * doy + 2) / 153;
  const d = doy - (153 * mp + 2) / 5 + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  let s = pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2) + "T" + pad(rem / 3600, 2) + ":" + pad((rem / 60) % 60, 2) + ":" + pad(rem % 60, 2);
  if (t.nsec != 0) {
    let frac = pad(<i64>t.nsec, 9);
    while (frac.endsWith("0")) frac = frac.substring(0, frac.length - 1);
    s += "." + frac;
  }
  if (t.offset == 0) return s + "Z";
  const o = t.offset < 0 ? -t.offset : t.offset;
  return s + (t.offset < 0 ? "-" : "+") + pad(<i64>(o / 3600), 2) + ":" + pad(<i64>((o / 60) % 60), 2);
}

function num(s: string, at: i32, n: i32): i32 {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
    v = v * 10 + (c - 0x30);
  }
  return v;
}

/** Parses RFC 3339 as Go's time.Time.UnmarshalJSON does; null for another form. */
export function parseTime(s: string): Time | null {
  if (s.length < 20 || s.charCodeAt(4) != 0x2d || s.charCodeAt(7) != 0x2d || s.charCodeAt(10) != 0x54 ||
    s.charCodeAt(13) != 0x3a || s.charCodeAt(16) != 0x3a) return null;
  const y = num(s, 0, 4), mo = num(s, 5, 2), d = num(s, 8, 2), h = num(s, 11, 2), mi = num(s, 14, 2), se = num(s, 17, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 59) return null;
  const leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  const mdays: i32[] = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  if (d > mdays[mo - 1]) return null;
  let i = 19;
  let nsec = 0;
  if (s.charCodeAt(i) == 0x2e) {
    i++;
    const start = i;
    while (i < s.length && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39) i++;
    const digits = i - start;
    if (digits == 0 || digits > 9) return null;
    nsec = num(s, start, digits);
    for (let k = digits; k < 9; k++) nsec *= 10;
  }
  if (i >= s.length) return null;
  let offset = 0;
  const c = s.charCodeAt(i);
  if (c == 0x5a) {
    if (i + 1 != s.length) return null;
  } else if (c == 0x2b || c == 0x2d) {
    if (i + 6 != s.length || s.charCodeAt(i + 3) != 0x3a) return null;
    const oh = num(s, i + 1, 2), om = num(s, i + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return null;
    offset = (oh * 3600 + om * 60) * (c == 0x2d ? -1 : 1);
  } else return null;
  const sec = daysFromCivil(y, mo, d) * 86400 + <i64>(h * 3600 + mi * 60 + se) - <i64>offset;
  return new Time(sec, nsec, offset);
}

// ---- CBOR ----

export const C_UINT: i32 = 0;
export const C_NINT: i32 = 1;
export const C_BYTES: i32 = 2;
export const C_TEXT: i32 = 3;
export const C_ARRAY: i32 = 4;
export const C_MAP: i32 = 5;
export const C_SIMPLE: i32 = 7;

/** A CBOR item: its major type, its argument (a negative integer is -1 - arg), its content. */
export class CItem {
  major: i32 = 0;
  arg: u64 = 0;
  /** Byte and text strings. */
  bytes: Uint8Array = new Uint8Array(0);
  text: string = "";
  /** Arrays; maps in pairs (key, value, ...). */
  items: CItem[] = [];

  /** An integer's value, or false in ok for another type or one past i64. */
  int(): i64 {
    if (this.major == C_UINT && this.arg <= <u64>i64.MAX_VALUE) return <i64>this.arg;
    if (this.major == C_NINT && this.arg <= <u64>i64.MAX_VALUE) return -1 - <i64>this.arg;
    return i64.MIN_VALUE;
  }

  isInt(): bool {
    return this.int() != i64.MIN_VALUE;
  }

  /** A map's value under integer `k`, or null. */
  intKey(k: i64): CItem | null {
    for (let i = 0; i + 1 < this.items.length; i += 2) {
      const key = unchecked(this.items[i]);
      if (key.isInt() && key.int() == k) return unchecked(this.items[i + 1]);
    }
    return null;
  }

  /** A map's value under text `k`, or null. */
  textKey(k: string): CItem | null {
    for (let i = 0; i + 1 < this.items.length; i += 2) {
      const key = unchecked(this.items[i]);
      if (key.major == C_TEXT && key.text == k) return unchecked(this.items[i + 1]);
    }
    return null;
  }
}

/** Reads CBOR items from `buf` at `pos`; `failed` after the first malformed one. */
export class CReader {
  pos: i32;
  failed: bool = false;

  constructor(public buf: Uint8Array, start: i32 = 0) {
    this.pos = start;
  }

  private fail(): CItem | null {
    this.failed = true;
    return null;
  }

  /** The next item, or null (and failed) if it is malformed or truncated. */
  item(depth: i32 = 0): CItem | null {
    const b = this.buf;
    if (depth > 16 || this.pos >= b.length) return this.fail();
    const ib = <u32>b[this.pos++];
    const it = new CItem();
    it.major = <i32>(ib >> 5);
    const info = ib & 31;
    let arg: u64 = 0;
    if (info < 24) arg = <u64>info;
    else if (info <= 27) {
      const n = 1 << (info - 24);
      if (this.pos + n > b.length) return this.fail();
      for (let i = 0; i < n; i++) arg = (arg << 8) | <u64>b[this.pos + i];
      this.pos += n;
    } else return this.fail(); // reserved, or an indefinite length
    it.arg = arg;
    switch (it.major) {
      case C_UINT:
      case C_NINT:
        return it;
      case C_BYTES:
      case C_TEXT: {
        if (arg > <u64>(b.length - this.pos)) return this.fail();
        const n = <i32>arg;
        if (it.major == C_BYTES) it.bytes = b.slice(this.pos, this.pos + n);
        else {
          const s = decodeStrictUTF8(b, this.pos, n);
          if (s === null) return this.fail();
          it.text = s;
        }
        this.pos += n;
        return it;
      }
      case C_ARRAY:
      case C_MAP: {
        const per: u64 = it.major == C_MAP ? 2 : 1;
        if (arg > <u64>(b.length - this.pos)) return this.fail(); // each item is a byte at least
        const n = <i32>(arg * per);
        for (let i = 0; i < n; i++) {
          const sub = this.item(depth + 1);
          if (sub === null) return null;
          it.items.push(sub);
        }
        return it;
      }
      case C_SIMPLE:
        // false, true, null, undefined; floats of 16, 32, 64 bits are skipped as values
        if (info < 20 || (info > 23 && info < 25)) return this.fail();
        return it;
      default:
        return this.fail(); // tags (6) are not in WebAuthn's CBOR
    }
  }
}

/** Strict UTF-8 (CBOR text strings must be valid). */
function decodeStrictUTF8(b: Uint8Array, at: i32, n: i32): string | null {
  let i = at;
  const end = at + n;
  while (i < end) {
    const c = <u32>b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    let need = 0;
    let cp: u32 = 0;
    let min: u32 = 0;
    if (c >= 0xc2 && c <= 0xdf) { need = 1; cp = c & 0x1f; min = 0x80; }
    else if (c >= 0xe0 && c <= 0xef) { need = 2; cp = c & 0x0f; min = 0x800; }
    else if (c >= 0xf0 && c <= 0xf4) { need = 3; cp = c & 0x07; min = 0x10000; }
    else return null;
    if (i + need >= end) return null;
    for (let k = 1; k <= need; k++) {
      const d = <u32>b[i + k];
      if ((d & 0xc0) != 0x80) return null;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) return null;
    i += need + 1;
  }
  return String.UTF8.decodeUnsafe(b.dataStart + <usize>at, <usize>n);
}

/** UTF-8 bytes of a string. */
export function utf8(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}

/** Whether a and b hold the same bytes. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): bool {
  if (a.length != b.length) return false;
  for (let i = 0; i < a.length; i++) if (unchecked(a[i]) != unchecked(b[i])) return false;
  return true;
}

/** Constant-time equality of two strings' UTF-16 units. */
export function constantTimeEqual(a: string, b: string): bool {
  if (a.length != b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff == 0;
}
