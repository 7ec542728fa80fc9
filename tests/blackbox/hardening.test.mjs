// Black-box suite for the HTTP-layer hardening of issue 10: a body over the limit sent without
// `Expect: 100-continue` gets the 413 envelope (not a reset), token answers are not cacheable,
// state-changing requests with a form or text content type are refused (same-site CSRF), the
// id_token cookie is refused on requests the browser marks as from another site, debug logs
// carry no credential, and stray entries of the plugins folder neither hang the start nor make
// the server unready.
// Contract: ../../../shared/spec/API.md (section 1); `issues show 10`.
// Node.js standard library only.
//
// Run: GATEHOUSE_BIN=$PWD/bin/gatehouse node --test tests/blackbox/hardening.test.mjs

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, tempDir, uniqueEmail, GOOD_PASSWORD, assertError, assertTokenText, otpauthSecret, Totp } from './lib.mjs';

/** A request with node:http: resolves to { status, headers, text, json } or rejects. */
function rawRequest(url, { method = 'POST', path = '/', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request({ host: u.hostname, port: u.port, method, path, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        let json;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode, headers: new Headers(res.headers), text, json });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

describe('HTTP hardening', () => {
  let srv;
  before(async () => {
    srv = await startServer({ env: { GATEHOUSE_REGISTRATION: 'open' } });
  });
  after(async () => {
    await srv?.stop();
  });

  describe('a body over the limit without Expect: 100-continue gets the 413 envelope', () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 'a');
    const huge = Buffer.alloc(8 * 1000 * 1000, 'a');
    for (const [name, send] of [
      // A client that sends the whole request before it reads (as Python's http.client does).
      ['a socket that sends everything, then reads', (url) => new Promise((resolve, reject) => {
        const u = new URL(url);
        const s = net.connect(Number(u.port), u.hostname);
        let data = '';
        let err;
        s.setEncoding('latin1');
        s.on('data', (d) => (data += d));
        s.on('error', (e) => (err = e));
        s.on('close', () => {
          const [head, body = ''] = data.split('\r\n\r\n');
          if (!head) return reject(new Error(`no answer: ${err?.code ?? 'closed'}`));
          const status = Number(head.split(' ')[1]);
          const headers = new Headers();
          for (const line of head.split('\r\n').slice(1)) {
            const i = line.indexOf(':');
            headers.append(line.slice(0, i), line.slice(i + 1).trim());
          }
          let json;
          try { json = JSON.parse(body); } catch { json = undefined; }
          resolve({ status, headers, text: body, json });
        });
        s.write(`POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${big.length}\r\n\r\n`);
        s.end(big);
      })],
      ['node:http, Content-Length, 8 MB', (url) => rawRequest(url, { path: '/auth/login', headers: { 'content-type': 'application/json', 'content-length': huge.length }, body: huge })],
      ['node:http, Content-Length', (url) => rawRequest(url, { path: '/auth/login', headers: { 'content-type': 'application/json', 'content-length': big.length }, body: big })],
      ['node:http, chunked', (url) => rawRequest(url, { path: '/auth/login', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, body: big })],
      ['fetch', async (url) => {
        const res = await fetch(url + '/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
        const text = await res.text();
        let json;
        try { json = JSON.parse(text); } catch { json = undefined; }
        return { status: res.status, headers: res.headers, text, json };
      }],
    ]) {
      test(name, async () => {
        for (let i = 0; i < 3; i++) {
          const r = await send(srv.url);
          assertError(r, 413, undefined, `${name} #${i}`);
        }
        const h = await srv.request('GET', '/healthz');
        assert.equal(h.status, 200);
      });
    }
  });

  test('token answers carry Cache-Control: no-store and Pragma: no-cache', async () => {
    const u = await srv.register();
    const checks = [];
    const login = await srv.login(u.email, u.password);
    checks.push(['POST /auth/login', login]);
    const refresh = assertTokenText(login, 'login');
    checks.push(['GET /auth/refreshtoken', await srv.request('GET', '/auth/refreshtoken', { token: refresh })]);
    const access = await srv.request('GET', '/auth/accesstoken', { token: refresh });
    checks.push(['GET /auth/accesstoken', access]);
    const setup = await srv.request('POST', '/user/2fa/totp/setup', { token: access.text, json: {} });
    checks.push(['POST /user/2fa/totp/setup (the secret)', setup]);
    const totp = new Totp(otpauthSecret(setup.json.url));
    const enable = await srv.request('POST', '/user/2fa/totp/enable', { token: access.text, json: { totp: await totp.next() } });
    checks.push(['POST /user/2fa/totp/enable (recovery codes)', enable]);
    const partial = await srv.login(u.email, u.password);
    checks.push(['POST /auth/login (partial)', partial]);
    const auth = await srv.request('POST', '/user/2fa/totp/authenticate', { token: partial.text, json: { totp: await totp.next() } });
    assert.equal(auth.status, 200, auth.text);
    assert.ok(auth.json.accessToken && auth.json.refreshToken && auth.json.sudoToken, auth.text);
    checks.push(['POST /user/2fa/totp/authenticate', auth]);
    checks.push(['an error answer', await srv.login(u.email, 'Wrong-Password-1')]);
    for (const [what, r] of checks) {
      assert.equal(r.headers.get('cache-control'), 'no-store', `${what}: ${r.status} ${r.text.slice(0, 100)}`);
      assert.equal(r.headers.get('pragma'), 'no-cache', what);
    }
    // A route that chose its own policy keeps it.
    const jwks = await srv.request('GET', '/.well-known/jwks.json');
    assert.match(jwks.headers.get('cache-control'), /max-age/);
  });

  describe('state-changing requests need a JSON content type (same-site CSRF)', () => {
    const forms = ['application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/plain', 'text/plain;charset=UTF-8'];
    for (const ct of forms) {
      test(`bodiless POST /auth/logout with the cookie and ${ct} is refused, the session lives`, async () => {
        const u = await srv.newSession();
        const r = await srv.request('POST', '/auth/logout', { headers: { 'content-type': ct, cookie: `id_token=${u.refresh}` } });
        assertError(r, 400, 'body must be application/json');
        const v = await srv.request('GET', '/auth/refreshtoken/validate', { token: u.refresh });
        assert.equal(v.status, 200, `the session must survive: ${v.text}`);
      });
      test(`bodiless POST /auth/login with ${ct} gets the envelope`, async () => {
        const r = await srv.request('POST', '/auth/login', { headers: { 'content-type': ct } });
        assertError(r, 400, 'body must be application/json');
      });
    }
    test('JSON or no content type still work', async () => {
      const u = await srv.newSession();
      const a = await srv.request('POST', '/auth/logout', { token: u.refresh, headers: { 'content-type': 'application/json' } });
      assert.equal(a.status, 204, a.text);
      const w = await srv.newSession();
      const b = await srv.request('POST', '/auth/logout', { token: w.refresh });
      assert.equal(b.status, 204, b.text);
    });
  });

  test('the id_token cookie is refused on a request from another site, accepted same-origin', async () => {
    for (const site of ['same-site', 'cross-site']) {
      const u = await srv.newSession();
      const r = await srv.request('POST', '/auth/logout', { headers: { cookie: `id_token=${u.refresh}`, 'sec-fetch-site': site, origin: 'https://evil.example' } });
      assertError(r, 403, 'CROSS_SITE_REQUEST', site);
      const v = await srv.request('GET', '/auth/refreshtoken/validate', { token: u.refresh });
      assert.equal(v.status, 200, `${site}: the session must survive: ${v.text}`);
    }
    const u = await srv.newSession();
    const r = await srv.request('POST', '/auth/logout', { headers: { cookie: `id_token=${u.refresh}`, 'sec-fetch-site': 'same-origin' } });
    assert.equal(r.status, 204, r.text);
  });
});

test('debug logs carry no credential', async () => {
  const admin = 'ADMIN-' + 'x'.repeat(24);
  const srv = await startServer({ env: { GATEHOUSE_LOG_LEVEL: 'debug', GATEHOUSE_ADMIN_TOKEN: admin } });
  try {
    const u = new URL(srv.url);
    // A malformed request: fasthttp's parse error quotes the request, headers included.
    await new Promise((resolve) => {
      const s = net.connect(Number(u.port), u.hostname, () => {
        s.end(`GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${admin}\r\nCookie: id_token=COOKIE-SECRET\r\nX-Admin-Token: ${admin}\r\nBad Header\r\n\r\n`);
      });
      s.on('data', () => {});
      s.on('close', resolve);
      s.on('error', resolve);
    });
    const r = await srv.request('POST', '/user', { token: admin, json: { email: uniqueEmail(), password: GOOD_PASSWORD } });
    assert.equal(r.status, 200, r.text);
    await new Promise((res) => setTimeout(res, 300));
    assert.ok(srv.logs.includes('error when'), `the parse error is logged:\n${srv.logs.slice(-2000)}`);
    assert.ok(!srv.logs.includes(admin), `the admin token is in the log:\n${srv.logs.slice(-3000)}`);
    assert.ok(!srv.logs.includes('COOKIE-SECRET'), 'the cookie is in the log');
  } finally {
    await srv.stop();
  }
});

test('a FIFO, a symlink to /dev/zero and stray files in the plugins folder neither hang the start nor make it unready', async () => {
  const dir = tempDir('gatehouse-plugins-');
  execFileSync('mkfifo', [join(dir, 'fifo.wasm')]);
  symlinkSync('/dev/zero', join(dir, 'zero.wasm'));
  writeFileSync(join(dir, 'README.md'), 'notes');
  writeFileSync(join(dir, '._totp.wasm'), 'AppleDouble');
  mkdirSync(join(dir, 'folder.wasm'));
  const srv = await startServer({ env: { GATEHOUSE_PLUGINS_DIR: dir, GATEHOUSE_LOG_LEVEL: 'info' }, readyTimeoutMs: 30000 });
  try {
    const r = await srv.request('GET', '/readyz');
    assert.equal(r.status, 200, r.text);
    assert.match(srv.logs, /ignored/);
  } finally {
    await srv.stop();
  }
});
