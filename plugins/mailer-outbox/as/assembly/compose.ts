// The message composition of the Go SDK's mailer.Compose (sdk/mailer/compose.go), byte for
// byte: the first-party mailers (mailer.outbox, mailer.smtp) deliver exactly what the Go
// versions delivered. Everything works on UTF-8 bytes, as the Go code does, and ports the Go
// standard library pieces it relies on: mime.QEncoding.Encode, mime/quotedprintable's Writer,
// time.RFC1123Z in UTC, strings.TrimSpace/Fields (unicode.IsSpace), strconv.Quote (for the
// error messages) and SHA-256 (for the multipart boundary).

// ---- a growable byte buffer ----

export class Bytes {
  buf: Uint8Array = new Uint8Array(256);
  len: i32 = 0;

  private grow(n: i32): void {
    if (this.len + n <= this.buf.length) return;
    let c = this.buf.length * 2;
    while (c < this.len + n) c *= 2;
    const b = new Uint8Array(c);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }

  byte(c: i32): Bytes {
    this.grow(1);
    this.buf[this.len++] = <u8>c;
    return this;
  }

  bytes(b: Uint8Array): Bytes {
    this.grow(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  /** Appends an ASCII string (the literals of this file). */
  ascii(s: string): Bytes {
    this.grow(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.len++] = <u8>s.charCodeAt(i);
    return this;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

export function utf8(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}

function text(b: Uint8Array): string {
  return String.UTF8.decode(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}

function has(b: Uint8Array, set: string): bool {
  for (let i = 0; i < b.length; i++) {
    const c = <i32>b[i];
    for (let j = 0; j < set.length; j++) if (set.charCodeAt(j) == c) return true;
  }
  return false;
}

function lastIndexOf(b: Uint8Array, c: i32): i32 {
  for (let i = b.length - 1; i >= 0; i--) if (<i32>b[i] == c) return i;
  return -1;
}

const UPPER_HEX = "0123456789ABCDEF";
const LOWER_HEX = "0123456789abcdef";

// ---- unicode.IsSpace on UTF-8 ----

/** Length of the Unicode white space (Go's unicode.IsSpace) at b[i], or 0. */
function spaceAt(b: Uint8Array, i: i32, end: i32): i32 {
  const c = b[i];
  if (c == 0x20 || (c >= 0x09 && c <= 0x0d)) return 1;
  if (c == 0xc2 && i + 1 < end && (b[i + 1] == 0x85 || b[i + 1] == 0xa0)) return 2;
  if (i + 2 >= end) return 0;
  const c1 = b[i + 1];
  const c2 = b[i + 2];
  if (c == 0xe1 && c1 == 0x9a && c2 == 0x80) return 3; // U+1680
  if (c == 0xe2 && c1 == 0x80 && ((c2 >= 0x80 && c2 <= 0x8a) || c2 == 0xa8 || c2 == 0xa9 || c2 == 0xaf)) return 3;
  if (c == 0xe2 && c1 == 0x81 && c2 == 0x9f) return 3; // U+205F
  if (c == 0xe3 && c1 == 0x80 && c2 == 0x80) return 3; // U+3000
  return 0;
}

/** strings.TrimSpace */
function trimSpace(b: Uint8Array): Uint8Array {
  let start = 0;
  let end = b.length;
  while (start < end) {
    const k = spaceAt(b, start, end);
    if (k == 0) break;
    start += k;
  }
  while (end > start) {
    let k = 0;
    for (let n = 1; n <= 3 && end - n >= start; n++) {
      if (spaceAt(b, end - n, end) == n) {
        k = n;
        break;
      }
    }
    if (k == 0) break;
    end -= k;
  }
  return b.subarray(start, end);
}

// ---- strconv.Quote, for the error messages ----

/** Decodes the rune at b[i] (valid UTF-8: the host sends only that): [rune, width]. */
function runeAt(b: Uint8Array, i: i32): u64 {
  const c = <u32>b[i];
  if (c < 0x80) return (<u64>1 << 32) | c;
  if (c < 0xe0 && i + 1 < b.length) return (<u64>2 << 32) | (((c & 0x1f) << 6) | (<u32>b[i + 1] & 0x3f));
  if (c < 0xf0 && i + 2 < b.length)
    return (<u64>3 << 32) | (((c & 0x0f) << 12) | ((<u32>b[i + 1] & 0x3f) << 6) | (<u32>b[i + 2] & 0x3f));
  if (i + 3 < b.length)
    return (<u64>4 << 32) | (((c & 0x07) << 18) | ((<u32>b[i + 1] & 0x3f) << 12) | ((<u32>b[i + 2] & 0x3f) << 6) | (<u32>b[i + 3] & 0x3f));
  return (<u64>1 << 32) | 0xfffd;
}

/**
 * unicode.IsPrint outside ASCII, without the Unicode tables: false for the C1 controls, the
 * space separators, the format characters and the private use areas, true otherwise (Go also
 * says false for unassigned code points).
 */
function printable(r: u32): bool {
  if (r >= 0x80 && r <= 0xa0) return false;
  if (r == 0xad || r == 0x1680 || r == 0x180e || r == 0x061c || r == 0x06dd || r == 0x070f || r == 0xfeff) return false;
  if (r >= 0x0600 && r <= 0x0605) return false;
  if (r >= 0x2000 && r <= 0x200f) return false;
  if (r >= 0x2028 && r <= 0x202f) return false;
  if (r >= 0x205f && r <= 0x206f) return false;
  if (r == 0x3000 || (r >= 0xd800 && r <= 0xf8ff) || (r >= 0xfff9 && r <= 0xfffb) || r == 0xfffe || r == 0xffff) return false;
  if (r >= 0xf0000) return false;
  return true;
}

/** strconv.Quote of the UTF-8 bytes b. */
function quote(b: Uint8Array): Bytes {
  const out = new Bytes().byte(0x22);
  for (let i = 0; i < b.length; ) {
    const rw = runeAt(b, i);
    const r = <u32>rw;
    const w = <i32>(rw >> 32);
    if (r == 0x22 || r == 0x5c) out.byte(0x5c).byte(r);
    else if (r >= 0x20 && r < 0x7f) out.byte(r);
    else if (r >= 0x80 && printable(r)) out.bytes(b.subarray(i, i + w));
    else if (r == 0x07) out.ascii("\\a");
    else if (r == 0x08) out.ascii("\\b");
    else if (r == 0x0c) out.ascii("\\f");
    else if (r == 0x0a) out.ascii("\\n");
    else if (r == 0x0d) out.ascii("\\r");
    else if (r == 0x09) out.ascii("\\t");
    else if (r == 0x0b) out.ascii("\\v");
    else if (r < 0x80) out.ascii("\\x").byte(LOWER_HEX.charCodeAt(r >> 4)).byte(LOWER_HEX.charCodeAt(r & 15));
    else {
      const digits = r < 0x10000 ? 4 : 8;
      out.ascii(r < 0x10000 ? "\\u" : "\\U");
      for (let k = digits - 1; k >= 0; k--) out.byte(LOWER_HEX.charCodeAt((r >> (4 * k)) & 15));
    }
    i += w;
  }
  return out.byte(0x22);
}

// ---- addresses ----

/** A parsed address: the display name and the bare address, or the error's text. */
export class Address {
  name: Uint8Array = new Uint8Array(0);
  addr: Uint8Array = new Uint8Array(0);
  err: string | null = null;
}

/**
 * splitAddress of compose.go: "Name <local@domain>", "<local@domain>" or "local@domain" (no
 * comments, no groups: the host sends addresses it validated).
 */
export function splitAddress(str: string): Address {
  const a = new Address();
  const s = trimSpace(utf8(str));
  let addr = s;
  let name = new Uint8Array(0);
  if (s.length > 0 && s[s.length - 1] == 0x3e) { // '>'
    const i = lastIndexOf(s, 0x3c); // '<'
    if (i < 0) {
      a.err = "bad address " + text(quote(s).finish());
      return a;
    }
    name = trimSpace(s.subarray(0, i));
    addr = s.subarray(i + 1, s.length - 1);
    if (name.length > 0 && name[0] == 0x22) name = name.subarray(1);
    if (name.length > 0 && name[name.length - 1] == 0x22) name = name.subarray(0, name.length - 1);
  }
  const at = lastIndexOf(addr, 0x40); // '@'
  if (at <= 0 || at == addr.length - 1 || addr.length > 320 || has(addr, " \t\r\n<>\",;()\\\x00")) {
    a.err = "bad address " + text(quote(s).finish());
    return a;
  }
  if (has(name, "\r\n\x00")) {
    a.err = "bad display name in " + text(quote(s).finish());
    return a;
  }
  a.name = name;
  a.addr = addr;
  return a;
}

// ---- RFC 2047 (mime.QEncoding.Encode with charset "utf-8") ----

function needsEncoding(s: Uint8Array): bool {
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if ((c < 0x20 || c > 0x7e) && c != 0x09) return true;
  }
  return false;
}

function writeQString(out: Bytes, s: Uint8Array, from: i32, to: i32): void {
  for (let i = from; i < to; i++) {
    const c = <i32>s[i];
    if (c == 0x20) out.byte(0x5f);
    else if (c >= 0x21 && c <= 0x7e && c != 0x3d && c != 0x3f && c != 0x5f) out.byte(c);
    else out.byte(0x3d).byte(UPPER_HEX.charCodeAt(c >> 4)).byte(UPPER_HEX.charCodeAt(c & 15));
  }
}

/** The width of the UTF-8 sequence at s[i] as utf8.DecodeRune reads valid input. */
function runeLen(s: Uint8Array, i: i32): i32 {
  const c = s[i];
  const n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
  return i + n <= s.length ? n : 1;
}

const MAX_CONTENT_LEN = 75 - 10 - 2; // maxEncodedWordLen - len("=?UTF-8?q?") - len("?=")

export function qEncode(out: Bytes, s: Uint8Array): void {
  if (!needsEncoding(s)) {
    out.bytes(s);
    return;
  }
  out.ascii("=?utf-8?q?");
  let current = 0;
  for (let i = 0; i < s.length; ) {
    const c = s[i];
    let n: i32;
    let enc: i32;
    if (c >= 0x20 && c <= 0x7e && c != 0x3d && c != 0x3f && c != 0x5f) {
      n = 1;
      enc = 1;
    } else {
      n = runeLen(s, i);
      enc = 3 * n;
    }
    if (current + enc > MAX_CONTENT_LEN) {
      out.ascii("?= =?utf-8?q?");
      current = 0;
    }
    writeQString(out, s, i, i + n);
    current += enc;
    i += n;
  }
  out.ascii("?=");
}

/** formatAddress: a display name quoted, or RFC 2047 encoded when not plain ASCII. */
export function formatAddress(out: Bytes, a: Address): void {
  if (a.name.length == 0) {
    out.bytes(a.addr);
    return;
  }
  if (needsEncoding(a.name)) qEncode(out, a.name);
  else {
    out.byte(0x22);
    for (let i = 0; i < a.name.length; i++) {
      const c = a.name[i];
      if (c == 0x5c || c == 0x22) out.byte(0x5c);
      out.byte(c);
    }
    out.byte(0x22);
  }
  out.ascii(" <").bytes(a.addr).byte(0x3e);
}

// ---- the Subject: oneLine ----

/** Line breaks folded into single spaces (strings.Fields joined by " ") when there are any. */
function oneLine(s: Uint8Array): Uint8Array {
  if (!has(s, "\r\n")) return s;
  const t = s.slice(0);
  for (let i = 0; i < t.length; i++) if (t[i] == 0x0d || t[i] == 0x0a) t[i] = 0x20;
  const out = new Bytes();
  let i = 0;
  let first = true;
  while (i < t.length) {
    const k = spaceAt(t, i, t.length);
    if (k > 0) {
      i += k;
      continue;
    }
    let j = i;
    while (j < t.length && spaceAt(t, j, t.length) == 0) j++;
    if (!first) out.byte(0x20);
    out.bytes(t.subarray(i, j));
    first = false;
    i = j;
  }
  return out.finish();
}

// ---- quoted-printable (mime/quotedprintable.Writer, text mode) ----

const LINE_MAX = 76;

class QPWriter {
  line: Uint8Array = new Uint8Array(78);
  i: i32 = 0;
  cr: bool = false;
  constructor(public out: Bytes) {}

  flush(): void {
    this.out.bytes(this.line.subarray(0, this.i));
    this.i = 0;
  }
  insertCRLF(): void {
    this.line[this.i] = 0x0d;
    this.line[this.i + 1] = 0x0a;
    this.i += 2;
    this.flush();
  }
  softBreak(): void {
    this.line[this.i++] = 0x3d;
    this.insertCRLF();
  }
  encode(b: u8): void {
    if (LINE_MAX - 1 - this.i < 3) this.softBreak();
    this.line[this.i] = 0x3d;
    this.line[this.i + 1] = <u8>UPPER_HEX.charCodeAt(b >> 4);
    this.line[this.i + 2] = <u8>UPPER_HEX.charCodeAt(b & 15);
    this.i += 3;
  }
  checkLastByte(): void {
    if (this.i == 0) return;
    const b = this.line[this.i - 1];
    if (b == 0x20 || b == 0x09) {
      this.i--;
      this.encode(b);
    }
  }
  /** write() of the Go Writer: bytes that need no encoding, and line ends. */
  plain(b: u8): void {
    if (b == 0x0a || b == 0x0d) {
      if (this.cr && b == 0x0a) {
        this.cr = false;
        return;
      }
      if (b == 0x0d) this.cr = true;
      this.checkLastByte();
      this.insertCRLF();
      return;
    }
    if (this.i == LINE_MAX - 1) this.softBreak();
    this.line[this.i++] = b;
    this.cr = false;
  }
  write(p: Uint8Array): void {
    for (let k = 0; k < p.length; k++) {
      const b = p[k];
      if ((b >= 0x21 && b <= 0x7e && b != 0x3d) || b == 0x20 || b == 0x09 || b == 0x0a || b == 0x0d) this.plain(b);
      else this.encode(b);
    }
  }
  close(): void {
    this.checkLastByte();
    this.flush();
  }
}

/** writeQP: line ends normalised to CRLF, then quoted-printable. */
function writeQP(out: Bytes, s: Uint8Array): void {
  // "\r\n" -> "\n", then "\n" -> "\r\n"
  const t = new Bytes();
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c == 0x0d && i + 1 < s.length && s[i + 1] == 0x0a) continue;
    if (c == 0x0a) t.byte(0x0d);
    t.byte(c);
  }
  const w = new QPWriter(out);
  w.write(t.buf.subarray(0, t.len));
  w.close();
}

// ---- Date: time.RFC1123Z in UTC ----

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function two(out: Bytes, v: i64): void {
  out.byte(<i32>(0x30 + v / 10)).byte(<i32>(0x30 + v % 10));
}

/** "Mon, 02 Jan 2006 15:04:05 +0000" for Unix nanoseconds. */
function rfc1123z(out: Bytes, nanos: i64): void {
  let secs = nanos / 1_000_000_000;
  if (nanos % 1_000_000_000 < 0) secs--;
  let days = secs / 86400;
  let rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    days--;
  }
  const wd = <i32>(((days % 7) + 11) % 7); // 1970-01-01 was a Thursday
  // civil from days (H. Hinnant)
  const z = days + 719468;
  const era = (z >= 0 ? z : z - 146096) / 146097;
  const doe = z - era * 146097;
  const yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  let y = yoe + era * 400;
  const doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const mp = (5 * doy + 2) / 153;
  const d = doy - (153 * mp + 2) / 5 + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) y++;
  out.ascii(DAYS[wd]).ascii(", ");
  two(out, d);
  out.byte(0x20).ascii(MONTHS[<i32>m - 1]).byte(0x20);
  two(out, y / 100);
  two(out, y % 100);
  out.byte(0x20);
  two(out, rem / 3600);
  out.byte(0x3a);
  two(out, (rem / 60) % 60);
  out.byte(0x3a);
  two(out, rem % 60);
  out.ascii(" +0000");
}

// ---- SHA-256 (FIPS 180-4), for the boundary ----

const K: u32[] = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

export function sha256(msg: Uint8Array): Uint8Array {
  const h: u32[] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
  const total = ((msg.length + 9 + 63) >> 6) << 6;
  const p = new Uint8Array(total);
  p.set(msg);
  p[msg.length] = 0x80;
  const bits = <u64>msg.length * 8;
  for (let i = 0; i < 8; i++) p[total - 1 - i] = <u8>(bits >> (8 * i));
  const w = new StaticArray<u32>(64);
  for (let off = 0; off < total; off += 64) {
    for (let t = 0; t < 16; t++) {
      const j = off + 4 * t;
      w[t] = (<u32>p[j] << 24) | (<u32>p[j + 1] << 16) | (<u32>p[j + 2] << 8) | <u32>p[j + 3];
    }
    for (let t = 16; t < 64; t++) {
      const a = w[t - 15];
      const b = w[t - 2];
      const s0 = rotr(a, 7) ^ rotr(a, 18) ^ (a >> 3);
      const s1 = rotr(b, 17) ^ rotr(b, 19) ^ (b >> 10);
      w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    let a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (let t = 0; t < 64; t++) {
      const t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + w[t];
      const t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      hh = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  }
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) {
    out[4 * i] = <u8>(h[i] >> 24);
    out[4 * i + 1] = <u8>(h[i] >> 16);
    out[4 * i + 2] = <u8>(h[i] >> 8);
    out[4 * i + 3] = <u8>h[i];
  }
  return out;
}

// ---- Compose ----

/** msgIDLeft: the characters RFC 5322 allows left of a msg-id's '@', the others '-'. */
function msgIDLeft(out: Bytes, id: Uint8Array): void {
  const allowed = "!#$%&'*+-/=?^_`{|}~";
  for (let i = 0; i < id.length; i++) {
    const c = <i32>id[i];
    let ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) ||
      (c == 0x2e && i > 0 && i < id.length - 1);
    for (let j = 0; !ok && j < allowed.length; j++) if (allowed.charCodeAt(j) == c) ok = true;
    out.byte(ok ? c : 0x2d);
  }
}

/** What compose answers: the message, or the error (a permanent failure) as Go words it. */
export class Composed {
  message: Uint8Array | null = null;
  err: string | null = null;
  /** The envelope: the bare addresses of the sender and the recipients. */
  from: string = "";
  to: string[] = [];
}

function header(b: Bytes, k: string): Bytes {
  return b.ascii(k).ascii(": ");
}

/**
 * mailer.Compose: the message with CRLF line ends, From, To, Subject, Date, Message-ID,
 * MIME-Version, Auto-Submitted, and a quoted-printable text/plain part or multipart/alternative
 * (text, then HTML). The same request gives the same bytes.
 */
export function compose(now: i64, messageId: string, from: string, to: string[], subject: string, textBody: string, html: string): Composed {
  const r = new Composed();
  if (messageId.length == 0) {
    r.err = "mailer: no message id";
    return r;
  }
  const f = splitAddress(from);
  if (f.err !== null) {
    r.err = "mailer: sender: " + f.err!;
    return r;
  }
  if (to.length == 0) {
    r.err = "mailer: no recipient";
    return r;
  }
  const rcpts: Address[] = [];
  for (let i = 0; i < to.length; i++) {
    const a = splitAddress(to[i]);
    if (a.err !== null) {
      r.err = "mailer: recipient: " + a.err!;
      return r;
    }
    rcpts.push(a);
  }
  const domain = f.addr.subarray(lastIndexOf(f.addr, 0x40) + 1);
  const b = new Bytes();
  header(b, "From");
  formatAddress(b, f);
  b.ascii("\r\n");
  header(b, "To");
  for (let i = 0; i < rcpts.length; i++) {
    if (i > 0) b.ascii(", ");
    formatAddress(b, rcpts[i]);
  }
  b.ascii("\r\n");
  header(b, "Subject");
  qEncode(b, oneLine(utf8(subject)));
  b.ascii("\r\n");
  header(b, "Date");
  rfc1123z(b, now);
  b.ascii("\r\n");
  const id = utf8(messageId);
  header(b, "Message-ID").byte(0x3c);
  msgIDLeft(b, id);
  b.byte(0x40).bytes(domain).ascii(">\r\n");
  b.ascii("MIME-Version: 1.0\r\n");
  b.ascii("Auto-Submitted: auto-generated\r\n");
  if (html.length == 0) {
    b.ascii("Content-Type: text/plain; charset=\"utf-8\"\r\n");
    b.ascii("Content-Transfer-Encoding: quoted-printable\r\n\r\n");
    writeQP(b, utf8(textBody));
  } else {
    const sum = sha256(id);
    const boundary = new Bytes().ascii("gatehouse-");
    for (let i = 0; i < 12; i++) boundary.byte(LOWER_HEX.charCodeAt(sum[i] >> 4)).byte(LOWER_HEX.charCodeAt(sum[i] & 15));
    const bd = boundary.finish();
    b.ascii("Content-Type: multipart/alternative; boundary=\"").bytes(bd).ascii("\"\r\n\r\n");
    for (let part = 0; part < 2; part++) {
      b.ascii("--").bytes(bd).ascii("\r\n");
      b.ascii(part == 0 ? "Content-Type: text/plain; charset=\"utf-8\"\r\n" : "Content-Type: text/html; charset=\"utf-8\"\r\n");
      b.ascii("Content-Transfer-Encoding: quoted-printable\r\n\r\n");
      writeQP(b, utf8(part == 0 ? textBody : html));
      b.ascii("\r\n");
    }
    b.ascii("--").bytes(bd).ascii("--\r\n");
  }
  r.message = b.finish();
  r.from = text(f.addr);
  for (let i = 0; i < rcpts.length; i++) r.to.push(text(rcpts[i].addr));
  return r;
}
