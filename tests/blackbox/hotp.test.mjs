// Black-box suite for a third-party 2FA method (issue 4): the HOTP example plugin
// (examples/hotp, RFC 4226) dropped into GATEHOUSE_PLUGINS_DIR is served at /user/2fa/hotp/...
// with its codes derived from its route, with no change to the core: setup, enable with the
// first code, login to a partial token, authenticate, a used code refused, look-ahead,
// resynchronisation by two consecutive codes, the guess limiter TOO_MANY_HOTP_CHECKS with
// next-guess, GET /user/2fa listing it under "methods", DELETE.
// Contract: ../../../shared/spec/API.md section 5 (the paragraph after the "User: 2FA" table).
//
// The HOTP codes come from an independent RFC 4226 generator below (node:crypto).
//
// Run: make build && GATEHOUSE_BIN=$PWD/bin/gatehouse node --test tests/blackbox/hotp.test.mjs
// (`make build` also builds the example to .cache/wasm/examples_hotp.wasm; GATEHOUSE_HOTP_WASM
// overrides the path.)

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, rmSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, tempDir, assertError, decodeJwt, crossNode } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const WASM = process.env.GATEHOUSE_HOTP_WASM || resolve(here, '../../.cache/wasm/examples_hotp.wasm');
if (!existsSync(WASM)) {
  throw new Error(`HOTP example not built at ${WASM}: run \`make build\` (or make plugins) or set GATEHOUSE_HOTP_WASM`);
}

const ISSUER = `gatehouse-hotp-${randomBytes(3).toString('hex')}`;
// The name authenticator apps show is GATEHOUSE_DISPLAY_NAME, apart from the tokens' issuer.
const DISPLAY_NAME = `Gatehouse HOTP ${randomBytes(3).toString('hex')}`;
const ENV = { GATEHOUSE_REGISTRATION: 'open', GATEHOUSE_ISSUER: ISSUER, GATEHOUSE_DISPLAY_NAME: DISPLAY_NAME };

// ====================================================================== independent HOTP

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32Decode(s) {
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of s.replace(/=/g, '').toUpperCase()) {
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

/** RFC 4226 HOTP with dynamic truncation, 6 digits. */
function hotp(key, counter) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const h = createHmac('sha1', key).update(msg).digest();
  const o = h[h.length - 1] & 0x0f;
  const bin = ((h[o] & 0x7f) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3];
  return String(bin % 1e6).padStart(6, '0');
}

// RFC 4226 appendix D: the reference values, so the generator itself is checked.
test('the independent HOTP generator matches RFC 4226 appendix D', () => {
  const key = Buffer.from('12345678901234567890');
  const want = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
  assert.deepEqual(want.map((_, i) => hotp(key, i)), want);
});

// ====================================================================== helpers

let srv;
let pluginsDir;

before(async () => {
  pluginsDir = tempDir('gatehouse-bb-plugins-');
  copyFileSync(WASM, join(pluginsDir, 'hotp.wasm'));
  srv = await startServer({ env: { ...ENV, GATEHOUSE_PLUGINS_DIR: pluginsDir } });
});

after(async () => {
  await srv?.stop();
  if (pluginsDir) rmSync(pluginsDir, { recursive: true, force: true });
});

function ok(r, what) {
  assert.equal(r.status, 200, `${what}: ${r.status} ${r.text.slice(0, 300)}`);
  return r.json;
}

const typ = (t) => decodeJwt(t).payload.typ;
const post = (token, path, json = {}) => srv.request('POST', path, { token, json });

// ====================================================================== the suite

describe('HOTP example plugin (third-party 2FA method)', () => {
  test('without the plugin in the folder there is no /user/2fa/hotp route', async () => {
    const plain = await startServer({ env: ENV });
    try {
      const u = await plain.newSession();
      const r = await plain.request('POST', '/user/2fa/hotp/setup', { token: u.access, json: {} });
      assert.equal(r.status, 404, `setup without the plugin: ${r.status} ${r.text}`);
    } finally {
      await plain.stop();
    }
  });

  test('setup, enable, partial login, authenticate, replay, look-ahead, resync, throttle, delete', async () => {
    const u = await srv.newSession();

    // Nothing set up yet: the method's own codes, derived from its route.
    assertError(await srv.request('GET', '/user/2fa/hotp/next-guess', { token: u.access }), 409, 'HOTP_UNINITIALIZED');
    assertError(await post(u.access, '/user/2fa/hotp/enable', { code: '123456' }), 409, 'HOTP_UNINITIALIZED');

    // Setup: an otpauth://hotp URL (counter 0) and its QR code.
    const setup = ok(await post(u.access, '/user/2fa/hotp/setup'), 'setup');
    const m = /^otpauth:\/\/hotp\/([^?]+)\?(.*)$/.exec(setup.url);
    assert.ok(m, `otpauth URL: ${setup.url}`);
    assert.equal(decodeURIComponent(m[1]), `${DISPLAY_NAME}:${u.email}`);
    const params = new URLSearchParams(m[2]);
    assert.equal(params.get('counter'), '0');
    assert.equal(params.get('digits'), '6');
    assert.match(setup.qr, /^data:image\/png;base64,/);
    const key = base32Decode(params.get('secret'));
    const code = (c) => hotp(key, c);

    // Bodies: {"code"} of exactly 6 characters.
    assertError(await post(u.access, '/user/2fa/hotp/enable', { code: '12345' }), 400);
    assertError(await post(u.access, '/user/2fa/hotp/enable', { totp: code(0) }), 400);

    // Enable with the first code: 10 recovery codes (the user's first method).
    const enabled = ok(await post(u.access, '/user/2fa/hotp/enable', { code: code(0) }), 'enable');
    assert.equal(enabled.recoveryCodes.length, 10);

    // GET /user/2fa: listed under "methods" only (a third party has no summary key).
    const st = ok(await srv.request('GET', '/user/2fa', { token: u.access }), 'GET /user/2fa');
    assert.equal(st.enabled, true);
    assert.deepEqual(st.methods.map((x) => x.id), ['hotp']);
    assert.equal(st.hotp, undefined);
    assert.equal(st.totp, undefined);

    // Login now gives a partial token; authenticate with it finishes the login.
    const login = await srv.login(u.email, u.password);
    assert.equal(login.status, 200);
    const partial = login.text;
    assert.equal(typ(partial), 'partial');
    assertError(await srv.request('GET', '/auth/accesstoken', { token: partial }), 401, '2FA_REQUIRED');
    const tokens = ok(await post(partial, '/user/2fa/hotp/authenticate', { code: code(1) }), 'authenticate (partial)');
    assert.deepEqual(Object.keys(tokens).sort(), ['accessToken', 'refreshToken', 'sudoToken']);
    assert.equal(typ(tokens.sudoToken), 'sudo');
    const access = tokens.accessToken;

    const auth = (c) => post(access, '/user/2fa/hotp/authenticate', { code: c });
    // A used code is refused: the counter has moved.
    assertError(await auth(code(1)), 401, 'HOTP_INVALID');
    // Look-ahead: the window is the next 10 counters, here 2..11.
    assert.equal(Object.keys(ok(await auth(code(11)), 'look-ahead')).join(), 'sudoToken');
    assertError(await auth(code(5)), 401, 'HOTP_INVALID'); // behind the counter now (12)
    // Resynchronisation: a code just past the window is refused, the next consecutive one resyncs.
    assertError(await auth(code(22)), 401, 'HOTP_INVALID');
    ok(await auth(code(23)), 'resync: second consecutive code');
    ok(await auth(code(24)), 'after resync: the counter follows the token');
    // Two codes beyond the window that are not consecutive do not resync.
    assertError(await auth(code(60)), 401, 'HOTP_INVALID');
    assertError(await auth(code(62)), 401, 'HOTP_INVALID');
    ok(await auth(code(25)), 'counter unchanged');

    // The guess limiter of the method: 5 free failures, then waits; next-guess counts down.
    assert.deepEqual(ok(await srv.request('GET', '/user/2fa/hotp/next-guess', { token: access }), 'next-guess'), { duration: 0 });
    for (let i = 0; i < 6; i++) assertError(await auth('abcdef'), 401, 'HOTP_INVALID', `wrong code ${i + 1}`);
    const throttled = assertError(await auth(code(26)), 429, 'TOO_MANY_HOTP_CHECKS');
    assert.ok(throttled.retryAfter >= 1);
    const wait = ok(await srv.request('GET', '/user/2fa/hotp/next-guess', { token: access }), 'next-guess').duration;
    assert.ok(wait >= 1 && wait <= 1, `next-guess ${wait}`);

    // DELETE needs a sudo token; the last method off turns 2FA off.
    assertError(await srv.request('DELETE', '/user/2fa/hotp', { token: access }), 401);
    const r = await srv.request('DELETE', '/user/2fa/hotp', { token: tokens.sudoToken });
    assert.equal(r.status, 200, `delete: ${r.status} ${r.text}`);
    assert.equal(r.text.trim(), 'null');
    await crossNode('the 2FA status cache of the other node', async () => {
      assert.equal(ok(await srv.request('GET', '/user/2fa', { token: access }), 'GET /user/2fa').enabled, false);
    });
    assertError(await srv.request('DELETE', '/user/2fa/hotp', { token: tokens.sudoToken }), 409, 'HOTP_ALREADY_INACTIVE');
  });
});
