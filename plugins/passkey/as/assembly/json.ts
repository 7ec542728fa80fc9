// JSON as Go's encoding/json reads and writes it, for the parts the method needs: a parser to
// a tree of values (objects keep their keys in order; a struct field is the last key equal to
// its name ignoring ASCII case, as Go matches them; null reads as absent), and a writer of
// strings escaped exactly as Go's Marshal escapes them (HTML characters, U+2028, U+2029).

export const J_NULL: i32 = 0;
export const J_BOOL: i32 = 1;
export const J_NUMBER: i32 = 2;
export const J_STRING: i32 = 3;
export const J_ARRAY: i32 = 4;
export const J_OBJECT: i32 = 5;

/** A JSON value. */
export class JValue {
  kind: i32 = J_NULL;
  bool: bool = false;
  /** A string's value, or a number's text. */
  str: string = "";
  items: JValue[] = [];
  keys: string[] = [];

  isNull(): bool {
    return this.kind == J_NULL;
  }

  /** The member `name` of an object (Go's field matching), or null when absent or null. */
  get(name: string): JValue | null {
    let found: JValue | null = null;
    for (let i = 0; i < this.keys.length; i++) {
      if (foldEqual(unchecked(this.keys[i]), name)) found = unchecked(this.items[i]);
    }
    if (found !== null && found.kind == J_NULL) return null;
    return found;
  }
}

function lowerASCII(c: i32): i32 {
  return c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
}

/** Whether a and b are equal ignoring ASCII case (and Go's two special folds: ſ s, K k). */
function foldEqual(a: string, b: string): bool {
  if (a.length != b.length) return false;
  for (let i = 0; i < a.length; i++) {
    let x = lowerASCII(a.charCodeAt(i));
    let y = lowerASCII(b.charCodeAt(i));
    if (x == 0x17f) x = 0x73;
    if (y == 0x17f) y = 0x73;
    if (x == 0x212a) x = 0x6b;
    if (y == 0x212a) y = 0x6b;
    if (x != y) return false;
  }
  return true;
}

/** Parses one JSON value (with white space around it); null if it is not valid JSON. */
export function parseJSON(b: Uint8Array): JValue | null {
  const p = new Parser(b);
  p.ws();
  const v = p.value(0);
  if (v === null) return null;
  p.ws();
  if (p.pos != b.length) return null;
  return v;
}

class Parser {
  pos: i32 = 0;
  constructor(public b: Uint8Array) {}

  ws(): void {
    while (this.pos < this.b.length) {
      const c = this.b[this.pos];
      if (c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d) this.pos++;
      else break;
    }
  }

  literal(word: string): bool {
    for (let i = 0; i < word.length; i++) {
      if (this.pos + i >= this.b.length || <i32>this.b[this.pos + i] != word.charCodeAt(i)) return false;
    }
    this.pos += word.length;
    return true;
  }

  value(depth: i32): JValue | null {
    if (depth >= 10000 || this.pos >= this.b.length) return null; // Go's scanner: at most 10000 levels
    const c = this.b[this.pos];
    const v = new JValue();
    if (c == 0x7b) {
      v.kind = J_OBJECT;
      this.pos++;
      this.ws();
      if (this.pos < this.b.length && this.b[this.pos] == 0x7d) {
        this.pos++;
        return v;
      }
      while (true) {
        this.ws();
        if (this.pos >= this.b.length || this.b[this.pos] != 0x22) return null;
        const k = this.string();
        if (k === null) return null;
        this.ws();
        if (this.pos >= this.b.length || this.b[this.pos] != 0x3a) return null;
        this.pos++;
        this.ws();
        const item = this.value(depth + 1);
        if (item === null) return null;
        v.keys.push(k);
        v.items.push(item);
        this.ws();
        if (this.pos >= this.b.length) return null;
        const d = this.b[this.pos++];
        if (d == 0x7d) return v;
        if (d != 0x2c) return null;
      }
    }
    if (c == 0x5b) {
      v.kind = J_ARRAY;
      this.pos++;
      this.ws();
      if (this.pos < this.b.length && this.b[this.pos] == 0x5d) {
        this.pos++;
        return v;
      }
      while (true) {
        this.ws();
        const item = this.value(depth + 1);
        if (item === null) return null;
        v.items.push(item);
        this.ws();
        if (this.pos >= this.b.length) return null;
        const d = this.b[this.pos++];
        if (d == 0x5d) return v;
        if (d != 0x2c) return null;
      }
    }
    if (c == 0x22) {
      const s = this.string();
      if (s === null) return null;
      v.kind = J_STRING;
      v.str = s;
      return v;
    }
    if (c == 0x74) {
      if (!this.literal("true")) return null;
      v.kind = J_BOOL;
      v.bool = true;
      return v;
    }
    if (c == 0x66) {
      if (!this.literal("false")) return null;
      v.kind = J_BOOL;
      return v;
    }
    if (c == 0x6e) {
      if (!this.literal("null")) return null;
      return v;
    }
    const start = this.pos;
    if (!this.number()) return null;
    v.kind = J_NUMBER;
    v.str = String.UTF8.decodeUnsafe(this.b.dataStart + <usize>start, <usize>(this.pos - start));
    return v;
  }

  digits(): i32 {
    let n = 0;
    while (this.pos < this.b.length && this.b[this.pos] >= 0x30 && this.b[this.pos] <= 0x39) {
      this.pos++;
      n++;
    }
    return n;
  }

  number(): bool {
    const b = this.b;
    if (this.pos < b.length && b[this.pos] == 0x2d) this.pos++;
    if (this.pos >= b.length) return false;
    if (b[this.pos] == 0x30) this.pos++;
    else if (this.digits() == 0) return false;
    if (this.pos < b.length && b[this.pos] == 0x2e) {
      this.pos++;
      if (this.digits() == 0) return false;
    }
    if (this.pos < b.length && (b[this.pos] == 0x65 || b[this.pos] == 0x45)) {
      this.pos++;
      if (this.pos < b.length && (b[this.pos] == 0x2b || b[this.pos] == 0x2d)) this.pos++;
      if (this.digits() == 0) return false;
    }
    return true;
  }

  hex4(): i32 {
    if (this.pos + 4 > this.b.length) return -1;
    let v = 0;
    for (let i = 0; i < 4; i++) {
      const c = <i32>this.b[this.pos + i];
      let d: i32;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) d = c - 0x61 + 10;
      else if (c >= 0x41 && c <= 0x46) d = c - 0x41 + 10;
      else return -1;
      v = (v << 4) | d;
    }
    this.pos += 4;
    return v;
  }

  /** A string at pos (its opening quote); invalid UTF-8 and lone surrogates become U+FFFD. */
  string(): string | null {
    this.pos++;
    const out: u16[] = [];
    const b = this.b;
    while (true) {
      if (this.pos >= b.length) return null;
      const c = <u32>b[this.pos];
      if (c == 0x22) {
        this.pos++;
        break;
      }
      if (c < 0x20) return null;
      if (c == 0x5c) {
        this.pos++;
        if (this.pos >= b.length) return null;
        const e = b[this.pos++];
        if (e == 0x22) out.push(0x22);
        else if (e == 0x5c) out.push(0x5c);
        else if (e == 0x2f) out.push(0x2f);
        else if (e == 0x62) out.push(0x08);
        else if (e == 0x66) out.push(0x0c);
        else if (e == 0x6e) out.push(0x0a);
        else if (e == 0x72) out.push(0x0d);
        else if (e == 0x74) out.push(0x09);
        else if (e == 0x75) {
          const u = this.hex4();
          if (u < 0) return null;
          if (u >= 0xd800 && u < 0xdc00) {
            // A pair only if a \u low surrogate follows; else U+FFFD (Go's decoder).
            const save = this.pos;
            if (this.pos + 1 < b.length && b[this.pos] == 0x5c && b[this.pos + 1] == 0x75) {
              this.pos += 2;
              const l = this.hex4();
              if (l >= 0xdc00 && l < 0xe000) {
                out.push(<u16>u);
                out.push(<u16>l);
                continue;
              }
            }
            this.pos = save;
            out.push(0xfffd);
          } else if (u >= 0xdc00 && u < 0xe000) {
            out.push(0xfffd);
          } else out.push(<u16>u);
        } else return null;
        continue;
      }
      if (c < 0x80) {
        out.push(<u16>c);
        this.pos++;
        continue;
      }
      // UTF-8: a valid sequence, else one U+FFFD per byte (Go's decoder).
      let cp: u32 = 0;
      let need: i32 = 0;
      let min: u32 = 0;
      if (c >= 0xc2 && c <= 0xdf) { cp = c & 0x1f; need = 1; min = 0x80; }
      else if (c >= 0xe0 && c <= 0xef) { cp = c & 0x0f; need = 2; min = 0x800; }
      else if (c >= 0xf0 && c <= 0xf4) { cp = c & 0x07; need = 3; min = 0x10000; }
      let ok = need > 0 && this.pos + need < b.length;
      for (let k = 1; ok && k <= need; k++) {
        const d = <u32>b[this.pos + k];
        if ((d & 0xc0) != 0x80) ok = false;
        else cp = (cp << 6) | (d & 0x3f);
      }
      if (ok && (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000))) ok = false;
      if (!ok) {
        out.push(0xfffd);
        this.pos++;
        continue;
      }
      if (cp >= 0x10000) {
        const x = cp - 0x10000;
        out.push(<u16>(0xd800 + (x >> 10)));
        out.push(<u16>(0xdc00 + (x & 0x3ff)));
      } else out.push(<u16>cp);
      this.pos += need + 1;
    }
    let s = "";
    if (out.length > 0) {
      const arr = new Uint16Array(out.length);
      for (let i = 0; i < out.length; i++) unchecked((arr[i] = out[i]));
      s = String.UTF16.decodeUnsafe(arr.dataStart, <usize>arr.length << 1);
    }
    return s;
  }
}

const HEX = "0123456789abcdef";

/** `s` as a JSON string, escaped as Go's json.Marshal escapes it. */
export function quote(s: string): string {
  const parts: string[] = ['"'];
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | null = null;
    if (c == 0x22) esc = '\\"';
    else if (c == 0x5c) esc = "\\\\";
    else if (c == 0x0a) esc = "\\n";
    else if (c == 0x0d) esc = "\\r";
    else if (c == 0x09) esc = "\\t";
    else if (c == 0x08) esc = "\\b";
    else if (c == 0x0c) esc = "\\f";
    else if (c < 0x20 || c == 0x3c || c == 0x3e || c == 0x26 || c == 0x2028 || c == 0x2029) {
      esc = "\\u" + HEX.charAt((c >> 12) & 15) + HEX.charAt((c >> 8) & 15) + HEX.charAt((c >> 4) & 15) + HEX.charAt(c & 15);
    } else if (c >= 0xd800 && c < 0xe000) {
      const pair = c < 0xdc00 && i + 1 < s.length && s.charCodeAt(i + 1) >= 0xdc00 && s.charCodeAt(i + 1) < 0xe000;
      if (pair) {
        i++;
        continue;
      }
      esc = "\ufffd";
    }
    if (esc !== null) {
      if (i > from) parts.push(s.substring(from, i));
      parts.push(esc);
      from = i + 1;
    }
  }
  if (from < s.length) parts.push(s.substring(from));
  parts.push('"');
  return parts.join("");
}

/** A string value of a JSON value, or null if it is of another type (Go: an error). */
export function asString(v: JValue | null, ok: bool[]): string {
  if (v === null) return "";
  if (v.kind != J_STRING) {
    ok[0] = false;
    return "";
  }
  return v.str;
}

/** A boolean value (absent: false); another type clears ok[0]. */
export function asBool(v: JValue | null, ok: bool[]): bool {
  if (v === null) return false;
  if (v.kind != J_BOOL) {
    ok[0] = false;
    return false;
  }
  return v.bool;
}
