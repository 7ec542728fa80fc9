// The host functions every plugin may use (module gatehouse_v1, host/ABI.md section 4), the
// cryptographic random source (WASI random_get), and the abort handler the build settings
// install in place of the toolchain's env.abort import.

// ---- gatehouse_v1 ----

// @ts-ignore: decorator
@external("gatehouse_v1", "input_read")
declare function input_read(buf: usize, limit: i32): i32;

// @ts-ignore: decorator
@external("gatehouse_v1", "output_write")
declare function output_write(buf: usize, len: i32): void;

// @ts-ignore: decorator
@external("gatehouse_v1", "log")
declare function host_log(level: i32, buf: usize, len: i32): void;

// @ts-ignore: decorator
@external("gatehouse_v1", "log_enabled")
declare function host_log_enabled(level: i32): i32;

// ---- wasi_snapshot_preview1 ----

// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "random_get")
declare function random_get(buf: usize, len: usize): u16;

/** Log levels of the host's `log` function. */
export namespace Level {
  export const TRACE: i32 = 1;
  export const DEBUG: i32 = 2;
  export const INFO: i32 = 3;
  export const WARN: i32 = 4;
  export const ERROR: i32 = 5;
}

/** The call's input: the bytes the host passes to the export that is running. */
export function readInput(inLen: i32): Uint8Array {
  const n = inLen < 0 ? 0 : inLen;
  const buf = new Uint8Array(n);
  if (n > 0) input_read(buf.dataStart, n);
  return buf;
}

/** Appends bytes to the call's output (the host copies them before it returns). */
export function writeOutput(data: Uint8Array, len: i32 = -1): void {
  const n = len < 0 ? data.length : len;
  if (n > 0) output_write(data.dataStart, n);
}

/** True if a log line at `level` would be written: build expensive lines only then. */
export function logEnabled(level: i32): bool {
  return host_log_enabled(level) != 0;
}

/** Writes one line to the host's log (cut at 1 KiB, rate limited). Never log a secret. */
export function log(level: i32, line: string): void {
  const b = String.UTF8.encode(line);
  host_log(level, changetype<usize>(b), b.byteLength);
}

/**
 * `n` bytes from the host's cryptographic random source. A failure of the source traps, so a
 * plugin never goes on with weak randomness.
 */
export function randomBytes(n: i32): Uint8Array {
  const out = new Uint8Array(n);
  if (n > 0 && random_get(out.dataStart, <usize>n) != 0) unreachable();
  return out;
}

// ---- abort ----

// A static scratch line for abort: it must not allocate (it may be called when the heap is
// exhausted or corrupt).
const ABORT_CAP: i32 = 512;
const abortBuf = memory.data(ABORT_CAP);

function abortPut(at: i32, s: string | null): i32 {
  if (s === null) return at;
  const n = s.length;
  for (let i = 0; i < n && at < ABORT_CAP - 4; i++) {
    let c = <u32>s.charCodeAt(i);
    // The line is for operators: keep ASCII, write anything else as '?'.
    if (c < 0x20 || c > 0x7e) c = 0x3f;
    store<u8>(abortBuf + <usize>at, <u8>c);
    at++;
  }
  return at;
}

function abortNum(at: i32, v: u32): i32 {
  let digits: i32 = 1;
  for (let t = v; t >= 10; t /= 10) digits++;
  if (at + digits >= ABORT_CAP) return at;
  for (let i = digits - 1; i >= 0; i--) {
    store<u8>(abortBuf + <usize>(at + i), <u8>(0x30 + v % 10));
    v /= 10;
  }
  return at + digits;
}

/**
 * The plugin's abort handler (the build settings install it with
 * `--use abort=~lib/@gatehouse/as-sdk/host/abort`): a failed assertion, an index out of range or
 * a `throw` writes one error line to the host's log and traps, which fails the call closed
 * (PLUGIN_FAILED) and discards the instance.
 */
export function abort(message: string | null = null, fileName: string | null = null, line: u32 = 0, column: u32 = 0): void {
  let at = abortPut(0, "abort: ");
  at = abortPut(at, message);
  at = abortPut(at, " at ");
  at = abortPut(at, fileName);
  at = abortPut(at, ":");
  at = abortNum(at, line);
  at = abortPut(at, ":");
  at = abortNum(at, column);
  host_log(Level.ERROR, abortBuf, at);
  unreachable();
}
