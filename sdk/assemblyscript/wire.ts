// The Protocol Buffers wire format as host/ABI.md section 6 restricts it: varints (wire type 0)
// and length-delimited values (wire type 2) are written; a decoder also skips unknown fields of
// wire types 1 and 5; a known field with the wrong wire type, a truncated value, a group and
// invalid UTF-8 in a string are errors.

export const WIRE_VARINT: u32 = 0;
export const WIRE_FIXED64: u32 = 1;
export const WIRE_BYTES: u32 = 2;
export const WIRE_FIXED32: u32 = 5;

/** The number of UTF-8 bytes of `s`; a lone surrogate counts as U+FFFD (3 bytes). */
function utf8Length(s: string): i32 {
  let n: i32 = 0;
  const len = s.length;
  for (let i = 0; i < len; i++) {
    const c = <u32>s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < len) {
      const d = <u32>s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/** Appends fields to a growing buffer. */
export class Encoder {
  buf: Uint8Array;
  len: i32 = 0;

  constructor(capacity: i32 = 64) {
    this.buf = new Uint8Array(capacity < 16 ? 16 : capacity);
  }

  /** The encoded message (a copy of exactly `len` bytes). */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }

  reset(): void {
    this.len = 0;
  }

  private grow(extra: i32): void {
    const need = this.len + extra;
    if (need <= this.buf.length) return;
    let cap = this.buf.length << 1;
    while (cap < need) cap <<= 1;
    const next = new Uint8Array(cap);
    memory.copy(next.dataStart, this.buf.dataStart, <usize>this.len);
    this.buf = next;
  }

  private byte(b: u32): void {
    unchecked((this.buf[this.len++] = <u8>b));
  }

  varint(v: u64): void {
    this.grow(10);
    while (v >= 0x80) {
      this.byte(<u32>(v & 0x7f) | 0x80);
      v >>= 7;
    }
    this.byte(<u32>v);
  }

  key(field: u32, wire: u32): void {
    this.varint(<u64>((field << 3) | wire));
  }

  /** An unsigned integer; zero is not written. */
  uint(field: u32, v: u64): void {
    if (v == 0) return;
    this.key(field, WIRE_VARINT);
    this.varint(v);
  }

  /** A signed integer as two's complement in 64 bits (protobuf int64); zero is not written. */
  int(field: u32, v: i64): void {
    this.uint(field, <u64>v);
  }

  /** A boolean; false is not written. */
  bool(field: u32, v: bool): void {
    if (v) this.uint(field, 1);
  }

  /** A string; "" is not written. */
  string(field: u32, s: string): void {
    if (s.length > 0) this.element(field, s);
  }

  /** One element of a repeated string: written even when empty, so pairs stay aligned. */
  element(field: u32, s: string): void {
    this.key(field, WIRE_BYTES);
    const n = utf8Length(s);
    this.varint(<u64>n);
    this.grow(n);
    const len = s.length;
    for (let i = 0; i < len; i++) {
      let c = <u32>s.charCodeAt(i);
      if (c < 0x80) {
        this.byte(c);
        continue;
      }
      if (c < 0x800) {
        this.byte(0xc0 | (c >> 6));
        this.byte(0x80 | (c & 0x3f));
        continue;
      }
      if (c >= 0xd800 && c < 0xe000) {
        let d: u32 = 0;
        if (c < 0xdc00 && i + 1 < len) d = <u32>s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d < 0xe000) {
          const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          this.byte(0xf0 | (cp >> 18));
          this.byte(0x80 | ((cp >> 12) & 0x3f));
          this.byte(0x80 | ((cp >> 6) & 0x3f));
          this.byte(0x80 | (cp & 0x3f));
          i++;
          continue;
        }
        c = 0xfffd; // a lone surrogate: strings on the wire are valid UTF-8
      }
      this.byte(0xe0 | (c >> 12));
      this.byte(0x80 | ((c >> 6) & 0x3f));
      this.byte(0x80 | (c & 0x3f));
    }
  }

  /** Every element of a repeated string field. */
  repeated(field: u32, list: string[]): void {
    for (let i = 0; i < list.length; i++) this.element(field, unchecked(list[i]));
  }

  /** A byte string; null is not written, an empty one is (an `optional` field present). */
  blob(field: u32, b: Uint8Array | null): void {
    if (b === null) return;
    this.rawBytes(field, b.dataStart, b.length);
  }

  /** A nested message, already encoded by `sub`. */
  message(field: u32, sub: Encoder): void {
    this.rawBytes(field, sub.buf.dataStart, sub.len);
  }

  private rawBytes(field: u32, ptr: usize, n: i32): void {
    this.key(field, WIRE_BYTES);
    this.varint(<u64>n);
    this.grow(n);
    memory.copy(this.buf.dataStart + <usize>this.len, ptr, <usize>n);
    this.len += n;
  }
}

/**
 * Reads the fields of one message in order:
 *
 *     const d = new Decoder(bytes);
 *     while (d.next()) {
 *       if (d.field == 8) password = d.string();
 *     }
 *     if (d.failed) ...
 *
 * A field the caller does not read is skipped by the next `next()`.
 */
export class Decoder {
  private buf: Uint8Array;
  private pos: i32;
  private end: i32;
  field: u32 = 0;
  wire: u32 = 0;
  private val: u64 = 0;
  private dataAt: i32 = 0;
  private dataLen: i32 = 0;
  /** The first error met: a malformed message, a wrong wire type, invalid UTF-8. */
  failed: bool = false;

  constructor(buf: Uint8Array, start: i32 = 0, end: i32 = -1) {
    this.buf = buf;
    this.pos = start;
    this.end = end < 0 ? buf.length : end;
  }

  private readVarint(): bool {
    let v: u64 = 0;
    let shift: u64 = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) return false;
      const b = <u64>unchecked(this.buf[this.pos++]);
      if (i == 9 && b > 1) return false; // more than 64 bits
      v |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.val = v;
        return true;
      }
      shift += 7;
    }
    return false;
  }

  /** Advances to the next field; false at the end or at the first error. */
  next(): bool {
    if (this.failed || this.pos >= this.end) return false;
    if (!this.readVarint()) return this.fail();
    const k = this.val;
    const field = k >> 3;
    if (field == 0 || field > 0x1fffffff) return this.fail();
    this.field = <u32>field;
    this.wire = <u32>(k & 7);
    switch (this.wire) {
      case WIRE_VARINT:
        if (!this.readVarint()) return this.fail();
        break;
      case WIRE_BYTES: {
        if (!this.readVarint()) return this.fail();
        const n = this.val;
        if (n > <u64>(this.end - this.pos)) return this.fail();
        this.dataAt = this.pos;
        this.dataLen = <i32>n;
        this.pos += <i32>n;
        break;
      }
      case WIRE_FIXED64:
        if (this.end - this.pos < 8) return this.fail();
        this.pos += 8;
        break;
      case WIRE_FIXED32:
        if (this.end - this.pos < 4) return this.fail();
        this.pos += 4;
        break;
      default:
        return this.fail(); // groups (3, 4) and 6, 7
    }
    return true;
  }

  private fail(): bool {
    this.failed = true;
    return false;
  }

  private want(wire: u32): bool {
    if (this.wire != wire) {
      this.failed = true;
      return false;
    }
    return true;
  }

  uint(): u64 {
    return this.want(WIRE_VARINT) ? this.val : 0;
  }

  int(): i64 {
    return <i64>this.uint();
  }

  bool(): bool {
    return this.uint() != 0;
  }

  /** The current field's bytes, copied; present and empty gives an empty array. */
  bytes(): Uint8Array {
    if (!this.want(WIRE_BYTES)) return new Uint8Array(0);
    return this.buf.slice(this.dataAt, this.dataAt + this.dataLen);
  }

  /** A decoder over the current field's nested message. */
  message(): Decoder {
    if (!this.want(WIRE_BYTES)) return new Decoder(this.buf, 0, 0);
    return new Decoder(this.buf, this.dataAt, this.dataAt + this.dataLen);
  }

  /** The current field as a string; invalid UTF-8 is an error (and gives ""). */
  string(): string {
    if (!this.want(WIRE_BYTES)) return "";
    const s = decodeUTF8(this.buf, this.dataAt, this.dataLen);
    if (s === null) {
      this.failed = true;
      return "";
    }
    return s;
  }
}

/**
 * Strict UTF-8 to a string: null for invalid UTF-8 (overlong forms, surrogates, past U+10FFFF,
 * truncated sequences), as Go's utf8.Valid.
 */
export function decodeUTF8(buf: Uint8Array, at: i32, n: i32): string | null {
  if (n == 0) return "";
  // At most one UTF-16 unit per byte.
  const out = new Uint16Array(n);
  let w: i32 = 0;
  const end = at + n;
  let i = at;
  while (i < end) {
    const b0 = <u32>unchecked(buf[i]);
    if (b0 < 0x80) {
      unchecked((out[w++] = <u16>b0));
      i++;
      continue;
    }
    let cp: u32;
    let need: i32;
    let min: u32;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
      cp = b0 & 0x1f;
      need = 1;
      min = 0x80;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      cp = b0 & 0x0f;
      need = 2;
      min = 0x800;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      cp = b0 & 0x07;
      need = 3;
      min = 0x10000;
    } else return null;
    if (i + need >= end) return null; // truncated
    for (let k = 1; k <= need; k++) {
      const b = <u32>unchecked(buf[i + k]);
      if ((b & 0xc0) != 0x80) return null;
      cp = (cp << 6) | (b & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) return null;
    if (cp >= 0x10000) {
      const c = cp - 0x10000;
      unchecked((out[w++] = <u16>(0xd800 + (c >> 10))));
      unchecked((out[w++] = <u16>(0xdc00 + (c & 0x3ff))));
    } else {
      unchecked((out[w++] = <u16>cp));
    }
    i += need + 1;
  }
  return String.UTF16.decodeUnsafe(out.dataStart, <usize>w << 1);
}
