// Shared helpers for the Gatehouse black-box suites (Node.js standard library only).
//
//   const srv = await startServer({ env: { GATEHOUSE_REGISTRATION: 'open' } });
//   const r = await srv.request('POST', '/user', { json: { email, password } });
//   await srv.kill('SIGKILL'); await srv.restart();   // same data dir
//   await srv.stop();                                  // SIGTERM, waits, removes the temp dir
//
// The binary comes from $GATEHOUSE_BIN (default: <repo>/bin/gatehouse).

import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes, createHmac } from 'node:crypto';
import assert from 'node:assert/strict';

const here = dirname(fileURLToPath(import.meta.url));
export const BIN = process.env.GATEHOUSE_BIN || resolve(here, '../../bin/gatehouse');

if (!existsSync(BIN)) {
  throw new Error(`gatehouse binary not found at ${BIN}: run \`make build\` or set GATEHOUSE_BIN`);
}

/** Environment that keeps password hashing cheap; tests override as needed. */
export const FAST_ENV = Object.freeze({
  GATEHOUSE_ARGON2_MEMORY: '1024',
  GATEHOUSE_ARGON2_TIME: '1',
  GATEHOUSE_LOG_LEVEL: 'warn',
  // One compilation cache for every test server: a cold compile of a Go plugin takes ~1 s.
  GATEHOUSE_PLUGIN_CACHE: resolve(here, '../../.cache/plugin-cache'),
});

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

export function tempDir(prefix = 'gatehouse-bb-') {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A unique, valid email address (example.com is not a disposable provider). */
export function uniqueEmail(tag = 'user') {
  return `${tag}-${randomBytes(6).toString('hex')}@example.com`;
}

/** Password that satisfies the default policy. */
export const GOOD_PASSWORD = 'Correct-Horse-9';

function baseEnv(extra) {
  // Drop any GATEHOUSE_* from the caller's environment so tests are hermetic.
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GATEHOUSE_')) env[k] = v;
  return { ...env, ...extra };
}

/**
 * Perform an HTTP request. Options:
 *   json     - object serialised as the body (Content-Type: application/json)
 *   body     - raw string/Buffer body
 *   token    - sets Authorization: Bearer <token>
 *   headers  - extra headers
 * Resolves to { status, headers, text, json } where json is the parsed body or undefined.
 */
export async function request(baseUrl, method, path, opts = {}) {
  const headers = { ...(opts.headers || {}) };
  let body;
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers['content-type'] ??= 'application/json';
  } else if (opts.body !== undefined) {
    body = opts.body;
  }
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const res = await fetch(baseUrl + path, { method, headers, body, redirect: 'manual' });
  const text = await res.text();
  let json;
  try {
    json = text.length ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Run a gatehouse sub-command to completion. Resolves to { code, signal, stdout, stderr }. */
export function runCli(args, { env = {}, input, timeoutMs = 30000 } = {}) {
  return new Promise((res, rej) => {
    const p = spawn(BIN, args, { env: baseEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', rej);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      res({ code, signal, stdout, stderr });
    });
    if (input !== undefined) p.stdin.end(input);
    else p.stdin.end();
  });
}

/**
 * Start `gatehouse serve` on a free port with a temp (or given) data dir and wait for /readyz.
 * Options: env (extra GATEHOUSE_* vars), dataDir (reuse), fast (default true: FAST_ENV),
 * readyTimeoutMs (default 60 s: on a fresh clone the first servers compile every embedded
 * plugin with an empty compilation cache, several seconds each on a loaded 2-core machine).
 */
export async function startServer(opts = {}) {
  const srv = new GatehouseServer(opts);
  await srv.start();
  return srv;
}

export class GatehouseServer {
  constructor({ env = {}, dataDir, fast = true, readyTimeoutMs = 60000 } = {}) {
    this.ownsDataDir = !dataDir;
    this.dataDir = dataDir || tempDir();
    this.extraEnv = { ...(fast ? FAST_ENV : {}), ...env };
    this.readyTimeoutMs = readyTimeoutMs;
    this.proc = null;
    this.port = null;
    this.logs = '';
    this.exit = null; // { code, signal } of the last process once it exited
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  get env() {
    return {
      GATEHOUSE_ADDR: `127.0.0.1:${this.port}`,
      GATEHOUSE_DATA: this.dataDir,
      ...this.extraEnv,
    };
  }

  async start({ port } = {}) {
    for (let attempt = 0; attempt < 3; attempt++) {
      this.port = port ?? (await freePort());
      this._spawn();
      try {
        await this.waitReady();
        return this;
      } catch (err) {
        await this.kill('SIGKILL').catch(() => {});
        // The port may have been taken between freePort() and the bind: try another one.
        if (attempt === 2 || port !== undefined) {
          throw new Error(`${err.message}\n--- server log ---\n${this.logs}`);
        }
        port = undefined;
      }
    }
  }

  _spawn() {
    this.exit = null;
    const p = spawn(BIN, ['serve'], { env: baseEnv(this.env), stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = p;
    const collect = (d) => {
      this.logs += d;
      if (this.logs.length > 200000) this.logs = this.logs.slice(-100000);
    };
    p.stdout.on('data', collect);
    p.stderr.on('data', collect);
    this.exited = new Promise((res) => {
      p.on('exit', (code, signal) => {
        this.exit = { code, signal };
        res(this.exit);
      });
    });
  }

  async waitReady(timeoutMs = this.readyTimeoutMs) {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      if (this.exit) throw new Error(`gatehouse exited early (${JSON.stringify(this.exit)})`);
      try {
        const r = await fetch(`${this.url}/readyz`);
        await r.arrayBuffer();
        if (r.status === 200) return;
        last = `status ${r.status}`;
      } catch (e) {
        last = e.message;
      }
      await sleep(25);
    }
    throw new Error(`gatehouse not ready after ${timeoutMs} ms (${last})`);
  }

  /** Send a signal and wait for the process to exit. Resolves to { code, signal }. */
  async kill(signal = 'SIGTERM', timeoutMs = 15000) {
    if (!this.proc || this.exit) return this.exit;
    this.proc.kill(signal);
    let timer;
    const t = new Promise((res) => (timer = setTimeout(() => res('timeout'), timeoutMs)));
    const r = await Promise.race([this.exited, t]);
    clearTimeout(timer);
    if (r === 'timeout') {
      this.proc.kill('SIGKILL');
      await this.exited;
      throw new Error(`gatehouse did not exit within ${timeoutMs} ms of ${signal}`);
    }
    return r;
  }

  /** Restart on the same data dir (and the same port when possible). */
  async restart({ signal = 'SIGTERM', samePort = true } = {}) {
    await this.kill(signal);
    const prev = this.port;
    if (samePort) {
      try {
        return await this.start({ port: prev });
      } catch {
        /* fall through to a fresh port */
      }
    }
    return this.start();
  }

  /** Stop (SIGTERM, SIGKILL if it hangs) and remove the data dir if we created it. */
  async stop({ keepData = false } = {}) {
    try {
      await this.kill('SIGTERM');
    } catch {
      /* already SIGKILLed by kill() */
    }
    if (this.ownsDataDir && !keepData) rmSync(this.dataDir, { recursive: true, force: true });
  }

  request(method, path, opts) {
    return request(this.url, method, path, opts);
  }

  /** `gatehouse <args>` with this server's env (the server must be stopped for store access). */
  cli(args, opts = {}) {
    return runCli(args, { ...opts, env: { ...this.env, ...(opts.env || {}) } });
  }

  // ---- account/token conveniences ----

  async register(email = uniqueEmail(), password = GOOD_PASSWORD) {
    const r = await this.request('POST', '/user', { json: { email, password } });
    if (r.status !== 200) throw new Error(`register ${email}: ${r.status} ${r.text}`);
    return { email, password, userId: r.json.userId };
  }

  async login(username, password, query = '') {
    return this.request('POST', `/auth/login${query}`, { json: { username, password } });
  }

  /** Register a fresh user and log in: { email, password, userId, refresh, access }. */
  async newSession(email, password) {
    const u = email ? { email, password } : await this.register();
    const l = await this.login(u.email, u.password);
    if (l.status !== 200) throw new Error(`login ${u.email}: ${l.status} ${l.text}`);
    const a = await this.request('GET', '/auth/accesstoken', { token: l.text });
    if (a.status !== 200) throw new Error(`accesstoken: ${a.status} ${a.text}`);
    return { ...u, refresh: l.text, access: a.text };
  }
}

// ---- JWT helpers ----

export const b64url = (buf) => Buffer.from(buf).toString('base64url');
export const b64urlJson = (obj) => b64url(JSON.stringify(obj));

export function decodeJwt(token) {
  const [h, p, s] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString('utf8')),
    payload: JSON.parse(Buffer.from(p, 'base64url').toString('utf8')),
    signature: s,
    signingInput: `${h}.${p}`,
  };
}

/** Error-envelope reason labels of spec section 1. */
export const REASONS = Object.freeze({
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  429: 'Too many requests',
  500: 'Internal server error',
  503: 'Service Unavailable',
});

/**
 * Assert an error response per spec section 1: JSON envelope {statusCode, error, message}
 * (plus retryAfter on 429), statusCode equal to the HTTP status, the exact reason label, and
 * the expected message when given (string for equality, RegExp for a match).
 */
export function assertError(r, status, message, note = '') {
  const ctx = `${note ? note + ': ' : ''}got ${r.status} ${r.text.slice(0, 300)}`;
  assert.equal(r.status, status, ctx);
  assert.match(r.headers.get('content-type') || '', /^application\/json/i, `content-type; ${ctx}`);
  assert.ok(r.json && typeof r.json === 'object' && !Array.isArray(r.json), `JSON object body; ${ctx}`);
  const expectedKeys = status === 429
    ? ['error', 'message', 'retryAfter', 'statusCode']
    : ['error', 'message', 'statusCode'];
  assert.deepEqual(Object.keys(r.json).sort(), expectedKeys, `envelope keys; ${ctx}`);
  assert.equal(r.json.statusCode, status, `statusCode; ${ctx}`);
  assert.equal(r.json.error, REASONS[status], `reason label; ${ctx}`);
  assert.equal(typeof r.json.message, 'string', `message type; ${ctx}`);
  if (message instanceof RegExp) assert.match(r.json.message, message, ctx);
  else if (message !== undefined) assert.equal(r.json.message, message, ctx);
  if (status === 429) {
    const ra = r.json.retryAfter;
    assert.ok(Number.isInteger(ra) && ra >= 0, `retryAfter integer; ${ctx}`);
    assert.equal(r.headers.get('retry-after'), String(ra), `Retry-After header matches body; ${ctx}`);
  }
  return r.json;
}

// ---- TOTP (RFC 6238), independent of the server ----

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 decode (case-insensitive, padding and spaces ignored). */
export function base32Decode(s) {
  const clean = s.replace(/[=\s]/g, '').toUpperCase();
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of clean) {
    const v = B32.indexOf(ch);
    if (v < 0) throw new Error(`invalid base32 character ${JSON.stringify(ch)}`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** RFC 4226 HOTP (HMAC-SHA1, dynamic truncation). */
export function hotp(key, counter, digits = 6) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const h = createHmac('sha1', key).update(msg).digest();
  const o = h[h.length - 1] & 0x0f;
  const bin = ((h[o] & 0x7f) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3];
  return String(bin % 10 ** digits).padStart(digits, '0');
}

export const TOTP_STEP = 30;
export const totpStepAt = (ms = Date.now()) => Math.floor(ms / 1000 / TOTP_STEP);

/** The base32 secret of an otpauth://totp/... URL. */
export function otpauthSecret(url) {
  const m = /^otpauth:\/\/totp\/[^?]+\?(.*)$/.exec(url);
  if (!m) throw new Error(`not an otpauth TOTP URL: ${url}`);
  const secret = new URLSearchParams(m[1]).get('secret');
  if (!secret) throw new Error(`no secret in ${url}`);
  return secret;
}

/**
 * Per-user TOTP code allocator: hands out codes for strictly increasing 30 s steps inside the
 * server's window of one step either side, so no code is ever presented twice (replay).
 * `minValidity` (s): the code stays inside the window at least that long.
 */
export class Totp {
  constructor(secret) {
    this.secret = secret;
    this.key = base32Decode(secret);
    this.lastStep = -Infinity;
  }
  setSecret(secret) {
    this.secret = secret;
    this.key = base32Decode(secret);
  }
  windowCodes(spread = 2) {
    const cur = totpStepAt();
    const codes = new Set();
    for (let d = -spread; d <= spread; d++) codes.add(this.codeAt(cur + d));
    return codes;
  }
  codeAt(step) {
    return hotp(this.key, step);
  }
  /** A 6-digit code that is not valid anywhere near now. */
  wrongCode() {
    const cur = totpStepAt();
    const bad = new Set();
    for (let d = -3; d <= 3; d++) bad.add(this.codeAt(cur + d));
    for (;;) {
      const c = String(randomBytes(4).readUInt32BE() % 1e6).padStart(6, '0');
      if (!bad.has(c)) return c;
    }
  }
  async next({ minValidity = 3 } = {}) {
    for (;;) {
      const now = Date.now();
      const cur = totpStepAt(now);
      const remaining = ((cur + 1) * TOTP_STEP * 1000 - now) / 1000;
      if (remaining >= 3) {
        for (let s = Math.max(this.lastStep + 1, cur - 1); s <= cur + 1; s++) {
          if (remaining + (s + 1 - cur) * TOTP_STEP >= minValidity) {
            this.lastStep = s;
            return this.codeAt(s);
          }
        }
      }
      await sleep(remaining * 1000 + 150);
    }
  }
}

/** A bare JWT: three base64url parts. */
export const JWT_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Assert a 200 JSON answer and return its body. */
export function ok(r, what) {
  assert.equal(r.status, 200, `${what}: ${r.status} ${r.text.slice(0, 300)}`);
  assert.match(r.headers.get('content-type') || '', /^application\/json/i, `${what} content-type`);
  return r.json;
}

/** Assert a 200 answer whose body is JSON null. */
export function assertNullBody(r, what) {
  ok(r, what);
  assert.equal(r.text.trim(), 'null', `${what} body is JSON null`);
}

/** Assert a 200 text/plain answer holding a bare JWT and return it. */
export function assertTokenText(r, what) {
  assert.equal(r.status, 200, `${what}: ${r.status} ${r.text.slice(0, 300)}`);
  assert.match(r.headers.get('content-type') || '', /^text\/plain/i, `${what} content-type`);
  assert.match(r.text, JWT_RE, `${what} is a bare JWT`);
  return r.text;
}
