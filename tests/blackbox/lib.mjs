// Shared helpers for the Gatehouse black-box suites (Node.js standard library only).
//
//   const srv = await startServer({ env: { GATEHOUSE_REGISTRATION: 'open' } });
//   const r = await srv.request('POST', '/user', { json: { email, password } });
//   await srv.kill('SIGKILL'); await srv.restart();   // same data dir
//   await srv.stop();                                  // SIGTERM, waits, removes the temp dir
//
// The binary comes from $GATEHOUSE_BIN (default: <repo>/bin/gatehouse).
//
// GATEHOUSE_BB_STORE=postgres (`make test-blackbox-pg`): every server is two Gatehouse nodes on
// one PostgreSQL database (a private cluster per test file from internal/pgtest/cmd/pgcluster,
// $GATEHOUSE_BB_PGCLUSTER or `go run`), with the same GATEHOUSE_STORE and
// GATEHOUSE_MASTER_KEY_FILE and distinct data folders. srv.request() alternates between the
// nodes; srv.url, srv.dataDir and srv.cli() are node A's; kill/start/restart/stop act on both.
// Tests that are inherently one process on one disk run on Badger only: badgerOnly(reason).

import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
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

/** True when every server is two nodes on one PostgreSQL (GATEHOUSE_BB_STORE=postgres). */
export const ON_POSTGRES = process.env.GATEHOUSE_BB_STORE === 'postgres';
if (process.env.GATEHOUSE_BB_STORE && !['postgres', 'badger'].includes(process.env.GATEHOUSE_BB_STORE)) {
  throw new Error(`GATEHOUSE_BB_STORE=${process.env.GATEHOUSE_BB_STORE}: expected postgres or badger`);
}

/**
 * Test options for a test that is inherently one node on Badger: skipped, with the reason,
 * under GATEHOUSE_BB_STORE=postgres.  test('name', badgerOnly('reads one node\'s data folder'), fn)
 */
export function badgerOnly(reason) {
  return ON_POSTGRES ? { skip: `Badger only: ${reason}` } : {};
}

/**
 * On PostgreSQL a change one node commits reaches the other node's caches (sessions, 2FA
 * status, signing keys) through LISTEN/NOTIFY, a moment after the answer: the node that did
 * not make the change can answer from its cache once or twice more (a known gap of issue 13,
 * measured by tests/multinode TestCrossNode). crossNode(what, fn): on Badger fn() once; on
 * PostgreSQL fn() again until it does not throw, for at most 30 s, noting how often it had to.
 */
export async function crossNode(what, fn) {
  if (!ON_POSTGRES) return fn();
  const start = Date.now();
  for (let tries = 1; ; tries++) {
    try {
      const v = await fn();
      if (tries > 1) console.log(`# crossNode: ${what}: held after ${tries} tries, ${Date.now() - start} ms`);
      return v;
    } catch (err) {
      if (Date.now() - start > 30000) throw err;
      await sleep(5);
    }
  }
}

// ---- the private PostgreSQL cluster of this test file (GATEHOUSE_BB_STORE=postgres) ----

let pgHelper; // { proc, lines: async iterator, queue } once started

/**
 * Send one command line to the pgcluster helper and resolve to its answer line. The helper is
 * unref'd between commands so it never keeps the test process alive; it stops the cluster and
 * removes its folder when our end of its stdin closes (this process exits).
 */
async function pgNextLine(h) {
  h.proc.ref();
  h.proc.stdout.ref?.();
  try {
    const { value, done } = await h.lines.next();
    if (done) throw new Error('the pgcluster helper exited');
    if (value.startsWith('error ')) throw new Error(`pgcluster: ${value.slice(6)}`);
    return value;
  } finally {
    h.proc.unref();
    h.proc.stdout.unref?.();
  }
}

async function pgCommand(line) {
  if (!pgHelper) {
    const helper = process.env.GATEHOUSE_BB_PGCLUSTER;
    const [cmd, args] = helper ? [helper, []] : ['go', ['run', './internal/pgtest/cmd/pgcluster']];
    const proc = spawn(cmd, args, { cwd: resolve(here, '../..'), stdio: ['pipe', 'pipe', 'inherit'] });
    proc.stdin.unref?.();
    const rl = createInterface({ input: proc.stdout });
    pgHelper = { proc, lines: rl[Symbol.asyncIterator]() };
    pgHelper.chain = pgNextLine(pgHelper);
  }
  const h = pgHelper;
  const run = h.chain.then(() => {
    h.proc.stdin.write(line + '\n');
    return pgNextLine(h);
  });
  h.chain = run.catch(() => {});
  return run;
}

// On PostgreSQL the internal errors of every node are printed when the test file ends (a rare
// 500 under concurrency is otherwise lost with the node's log).
const spawned = new Set();
if (ON_POSTGRES) {
  process.on('exit', () => {
    const lines = [];
    for (const s of spawned) {
      for (const l of s._logs.split('\n')) if (/\[ERROR\].*request failed/.test(l)) lines.push(`${s.url}: ${l}`);
    }
    if (lines.length) console.error(`# internal errors logged by the nodes (${lines.length}):\n${lines.slice(0, 20).join('\n')}`);
  });
}

/** A new empty database on this file's cluster: its URL. */
export async function pgDatabase() {
  const a = await pgCommand('db');
  return a.slice('db '.length);
}

/** Stop (immediate shutdown) or start again this file's PostgreSQL server. */
export const pgStop = () => pgCommand('stop');
export const pgStart = () => pgCommand('start');

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
  constructor({ env = {}, dataDir, fast = true, readyTimeoutMs = 60000, leader = null } = {}) {
    this.ownsDataDir = !dataDir;
    this.dataDir = dataDir || tempDir();
    this.extraEnv = { ...(fast ? FAST_ENV : {}), ...env };
    this.readyTimeoutMs = readyTimeoutMs;
    this.proc = null;
    this.port = null;
    this._logs = '';
    this.exit = null; // { code, signal } of the last process once it exited
    // GATEHOUSE_BB_STORE=postgres: node B (this.peer) follows node A (its leader) on A's database.
    this.leader = leader;
    this.peer = null;
    this.dbUrl = null;
    this.turn = 0;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The running nodes: [A] on Badger, [A, B] on PostgreSQL. */
  get nodes() {
    return this.peer ? [this, this.peer] : [this];
  }

  /** The log of this process; on PostgreSQL node A's followed by node B's. */
  get logs() {
    return this.peer ? `${this._logs}\n--- node B (${this.peer.url}) ---\n${this.peer._logs}` : this._logs;
  }

  set logs(v) {
    this._logs = v;
  }

  get env() {
    const lead = this.leader || this;
    const env = {
      GATEHOUSE_ADDR: `127.0.0.1:${this.port}`,
      GATEHOUSE_DATA: this.dataDir,
      ...lead.extraEnv,
    };
    // (A server spawned by hand through _spawn() has no database: one node on Badger.)
    if (ON_POSTGRES && lead.dbUrl) {
      env.GATEHOUSE_STORE = lead.dbUrl;
      env.GATEHOUSE_MASTER_KEY_FILE = join(lead.dataDir, 'master.key');
    }
    return env;
  }

  async start({ port } = {}) {
    if (!ON_POSTGRES || this.leader) return this._startOne({ port });
    // Node A first (it creates the master key file and migrates the schema), then node B on
    // its previous port when it had one.
    const first = !this.dbUrl;
    this.dbUrl ??= await pgDatabase();
    this.peer ??= new GatehouseServer({ readyTimeoutMs: this.readyTimeoutMs, leader: this });
    const startPeer = async () => {
      if (this.peer.port !== null) {
        try {
          return await this.peer._startOne({ port: this.peer.port });
        } catch {
          /* a fresh port */
        }
      }
      return this.peer._startOne();
    };
    if (first) {
      await this._startOne({ port });
      await startPeer();
    } else {
      // A restart: the key file and the schema exist, both nodes start at once.
      const [a, b] = await Promise.allSettled([this._startOne({ port }), startPeer()]);
      if (a.status === 'rejected') {
        await this.peer._killOne('SIGKILL', 15000).catch(() => {});
        throw a.reason;
      }
      if (b.status === 'rejected') throw b.reason;
    }
    return this;
  }

  async _startOne({ port } = {}) {
    for (let attempt = 0; attempt < 3; attempt++) {
      this.port = port ?? (await freePort());
      this._spawn();
      try {
        // Node B waits as node A does: a test that made A wait for liveness only (its /readyz
        // stays 503 on purpose) gets the same for B.
        if (this.leader && Object.hasOwn(this.leader, 'waitReady')) await this.waitLive();
        else await this.waitReady();
        return this;
      } catch (err) {
        await this.kill('SIGKILL').catch(() => {});
        // The port may have been taken between freePort() and the bind: try another one.
        if (attempt === 2 || port !== undefined) {
          throw new Error(`${err.message}\n--- server log ---\n${this._logs}`);
        }
        port = undefined;
      }
    }
  }

  _spawn() {
    this.exit = null;
    spawned.add(this);
    const p = spawn(BIN, ['serve'], { env: baseEnv(this.env), stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = p;
    const collect = (d) => {
      this._logs += d;
      if (this._logs.length > 200000) this._logs = this._logs.slice(-100000);
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

  /** Wait until /healthz answers 200 (the process serves, ready or not). */
  async waitLive(timeoutMs = this.readyTimeoutMs) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exit) throw new Error(`gatehouse exited early (${JSON.stringify(this.exit)})`);
      try {
        const r = await fetch(`${this.url}/healthz`);
        await r.arrayBuffer();
        if (r.status === 200) return;
      } catch {
        /* not yet */
      }
      await sleep(25);
    }
    throw new Error(`gatehouse not live after ${timeoutMs} ms`);
  }

  /**
   * Send a signal and wait for the process to exit. Resolves to { code, signal } (node A's;
   * on PostgreSQL both nodes are signalled).
   */
  async kill(signal = 'SIGTERM', timeoutMs = 15000) {
    if (this.peer) {
      const [a] = await Promise.all([this._killOne(signal, timeoutMs), this.peer._killOne(signal, timeoutMs)]);
      return a;
    }
    return this._killOne(signal, timeoutMs);
  }

  async _killOne(signal, timeoutMs) {
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
    if (this.peer) rmSync(this.peer.dataDir, { recursive: true, force: true });
  }

  /** A request to the server; on PostgreSQL to node A and node B in turn (B only while it runs). */
  request(method, path, opts) {
    const target = this.peer && !this.peer.exit && this.turn++ % 2 === 1 ? this.peer : this;
    return request(target.url, method, path, opts);
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
