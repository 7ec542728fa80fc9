// Black-box suite for the AssemblyScript example 2FA method (examples/as-totp, RFC 6238 TOTP
// written with sdk/assemblyscript): its committed .wasm dropped into GATEHOUSE_PLUGINS_DIR and
// granted `crypto` is served at /user/2fa/as-totp/... with its codes derived from its route:
// refused without the grant, then setup, enable, partial login, authenticate, a replayed code
// refused, wrong codes throttled (TOO_MANY_AS_TOTP_CHECKS with retryAfter and next-guess),
// GET /user/2fa listing it, DELETE with a sudo token.
//
// The codes come from the suite's own RFC 6238 generator (lib.mjs, node:crypto).
//
// Run: make build && GATEHOUSE_BIN=$PWD/bin/gatehouse node --test tests/blackbox/as-totp.test.mjs
// (GATEHOUSE_AS_TOTP_WASM overrides the plugin's path, default examples/as-totp/as-totp.wasm.)

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, rmSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, GatehouseServer, freePort, sleep, tempDir, assertError, decodeJwt, Totp, ok } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const WASM = process.env.GATEHOUSE_AS_TOTP_WASM || resolve(here, '../../examples/as-totp/as-totp.wasm');
if (!existsSync(WASM)) throw new Error(`AssemblyScript TOTP example not found at ${WASM}`);

const ISSUER = `gatehouse-astotp-${randomBytes(3).toString('hex')}`;
const DISPLAY_NAME = `Gatehouse AS-TOTP ${randomBytes(3).toString('hex')}`;
const ENV = { GATEHOUSE_REGISTRATION: 'open', GATEHOUSE_ISSUER: ISSUER, GATEHOUSE_DISPLAY_NAME: DISPLAY_NAME };
const GRANT = { GATEHOUSE_PLUGIN_GRANTS: 'twofactor.as-totp=crypto' };
const BASE = '/user/2fa/as-totp';

let srv;
let pluginsDir;

before(async () => {
  pluginsDir = tempDir('gatehouse-bb-asplugins-');
  copyFileSync(WASM, join(pluginsDir, 'as-totp.wasm'));
  srv = await startServer({ env: { ...ENV, ...GRANT, GATEHOUSE_PLUGINS_DIR: pluginsDir } });
});

after(async () => {
  await srv?.stop();
  if (pluginsDir) rmSync(pluginsDir, { recursive: true, force: true });
});

const typ = (t) => decodeJwt(t).payload.typ;
const post = (token, path, json = {}) => srv.request('POST', path, { token, json });

describe('AssemblyScript TOTP example plugin (twofactor.as-totp)', () => {
  test('without the crypto grant it does not load: /readyz names it, and it has no route', async () => {
    // Such a server never reports ready (a plugin failed to load), so start it by hand and wait
    // for /readyz to answer at all.
    const plain = new GatehouseServer({ env: { ...ENV, GATEHOUSE_PLUGINS_DIR: pluginsDir } });
    plain.port = await freePort();
    plain._spawn();
    try {
      let ready;
      for (const deadline = Date.now() + 30000; Date.now() < deadline && !plain.exit; await sleep(50)) {
        ready = await plain.request('GET', '/readyz').catch(() => undefined);
        if (ready) break;
      }
      assert.ok(ready, `no answer from /readyz: ${plain.logs}`);
      assert.notEqual(ready.status, 200, `readyz: ${ready.status} ${ready.text}`);
      assert.match(ready.text, /as-totp/, `readyz: ${ready.text}`);
      const u = await plain.newSession();
      const r = await plain.request('POST', `${BASE}/setup`, { token: u.access, json: {} });
      // No route (404), or the route of a method that failed to load (503 PLUGIN_UNAVAILABLE).
      const refused = r.status === 404 || (r.status === 503 && r.json?.message === 'PLUGIN_UNAVAILABLE');
      assert.ok(refused, `setup without the grant: ${r.status} ${r.text}`);
    } finally {
      await plain.stop();
    }
  });

  test('setup, enable, partial login, authenticate, replay refused, wrong codes throttled, delete', async () => {
    const u = await srv.newSession();

    // Nothing set up yet: the method's own codes, derived from its route.
    assertError(await srv.request('GET', `${BASE}/next-guess`, { token: u.access }), 409, 'AS_TOTP_UNINITIALIZED');
    assertError(await post(u.access, `${BASE}/enable`, { code: '123456' }), 409, 'AS_TOTP_UNINITIALIZED');

    // Setup: an otpauth://totp URL with the spec's parameters and its QR code (rendered by the host).
    const setup = ok(await post(u.access, `${BASE}/setup`), 'setup');
    const m = /^otpauth:\/\/totp\/([^?]+)\?(.*)$/.exec(setup.url);
    assert.ok(m, `otpauth URL: ${setup.url}`);
    const label = decodeURIComponent(m[1]);
    assert.ok(label === `${DISPLAY_NAME}:${u.email}` || label === `${ISSUER}:${u.email}`, `label ${label}`);
    const params = new URLSearchParams(m[2]);
    assert.equal(params.get('algorithm'), 'SHA1');
    assert.equal(params.get('digits'), '6');
    assert.equal(params.get('period'), '30');
    assert.equal(params.get('issuer'), label.slice(0, label.lastIndexOf(':')));
    const secret = params.get('secret');
    assert.match(secret, /^[A-Z2-7]{32}$/, 'a 160-bit base32 secret');
    assert.match(setup.qr, /^data:image\/png;base64,/);
    const totp = new Totp(secret);

    // Bodies: {"code"} of exactly 6 characters.
    assertError(await post(u.access, `${BASE}/enable`, { code: '12345' }), 400);
    assertError(await post(u.access, `${BASE}/enable`, { totp: '123456' }), 400);
    // A wrong first code does not enable it.
    assertError(await post(u.access, `${BASE}/enable`, { code: totp.wrongCode() }), 401, 'AS_TOTP_INVALID');

    const enabled = ok(await post(u.access, `${BASE}/enable`, { code: await totp.next() }), 'enable');
    assert.equal(enabled.recoveryCodes.length, 10);

    const st = ok(await srv.request('GET', '/user/2fa', { token: u.access }), 'GET /user/2fa');
    assert.equal(st.enabled, true);
    assert.deepEqual(st.methods.map((x) => x.id), ['as-totp']);

    // Login gives a partial token; authenticate finishes it.
    const login = await srv.login(u.email, u.password);
    assert.equal(login.status, 200);
    const partial = login.text;
    assert.equal(typ(partial), 'partial');
    assertError(await srv.request('GET', '/auth/accesstoken', { token: partial }), 401, '2FA_REQUIRED');
    const code = await totp.next();
    const tokens = ok(await post(partial, `${BASE}/authenticate`, { code }), 'authenticate (partial)');
    assert.deepEqual(Object.keys(tokens).sort(), ['accessToken', 'refreshToken', 'sudoToken']);
    assert.equal(typ(tokens.sudoToken), 'sudo');
    const access = tokens.accessToken;
    const auth = (c) => post(access, `${BASE}/authenticate`, { code: c });

    // The same code again: refused (the host's replay check on the step the plugin returned).
    assertError(await auth(code), 401, 'AS_TOTP_INVALID', 'replayed code');
    // A fresh code still works (and resets the guess counter).
    assert.equal(Object.keys(ok(await auth(await totp.next()), 'authenticate (access)')).join(), 'sudoToken');

    // Wrong codes: digits that match no step, and non-digits; then the limiter answers 429.
    assert.deepEqual(ok(await srv.request('GET', `${BASE}/next-guess`, { token: access }), 'next-guess'), { duration: 0 });
    for (let i = 0; i < 6; i++) {
      assertError(await auth(i % 2 ? 'abcdef' : totp.wrongCode()), 401, 'AS_TOTP_INVALID', `wrong code ${i + 1}`);
    }
    const throttled = assertError(await auth(totp.wrongCode()), 429, 'TOO_MANY_AS_TOTP_CHECKS');
    assert.ok(throttled.retryAfter >= 1, `retryAfter ${throttled.retryAfter}`);
    const wait = ok(await srv.request('GET', `${BASE}/next-guess`, { token: access }), 'next-guess').duration;
    assert.ok(wait >= 1, `next-guess ${wait}`);

    // DELETE needs a sudo token; the last method off turns 2FA off.
    assertError(await srv.request('DELETE', BASE, { token: access }), 401);
    const r = await srv.request('DELETE', BASE, { token: tokens.sudoToken });
    assert.equal(r.status, 200, `delete: ${r.status} ${r.text}`);
    assert.equal(ok(await srv.request('GET', '/user/2fa', { token: access }), 'GET /user/2fa').enabled, false);
    assertError(await srv.request('DELETE', BASE, { token: tokens.sudoToken }), 409, 'AS_TOTP_ALREADY_INACTIVE');
  });
});
