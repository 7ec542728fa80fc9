// Black-box suite for Gatehouse 2FA (issue 4): TOTP setup/enable/authenticate/delete, replay
// protection (also across a kill -9), the TOTP and recovery-code guess limiters with their
// next-guess endpoints, recovery codes (use, reuse, reset, 20 parallel uses), partial and sudo
// tokens and the S|A* rule, GET /user/2fa.
// Contract: ../../../shared/spec/API.md sections 2-4 and the "User: 2FA" table of section 5
// (email-otp is not built yet and is not covered here). Node.js standard library only.
//
// The TOTP codes are computed by an independent RFC 6238 generator below (node:crypto), from
// the base32 `secret` of the otpauth URL returned by setup.
//
// Run: go build -o bin/gatehouse ./cmd/gatehouse && GATEHOUSE_BIN=$PWD/bin/gatehouse node --test tests/blackbox/

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  startServer,
  sleep,
  uniqueEmail,
  GOOD_PASSWORD,
  assertError,
  decodeJwt,
  base32Decode,
  hotp,
  Totp,
  totpStepAt,
  ok,
  assertNullBody,
  assertTokenText,
} from './lib.mjs';

const ISSUER = `gatehouse-2fa-${randomBytes(3).toString('hex')}`;
// What authenticator apps show (GATEHOUSE_DISPLAY_NAME), apart from the tokens' iss.
const DISPLAY_NAME = `Gatehouse 2FA ${randomBytes(3).toString('hex')}`;
const ENV = {
  GATEHOUSE_REGISTRATION: 'open',
  GATEHOUSE_ISSUER: ISSUER,
  GATEHOUSE_DISPLAY_NAME: DISPLAY_NAME,
  GATEHOUSE_ARGON2_MEMORY: '1024',
  GATEHOUSE_ARGON2_TIME: '1',
};

// ====================================================================== independent TOTP

const stepAt = totpStepAt;
const totpForStep = (key, step, digits = 6) => hotp(key, step, digits);

// ====================================================================== helpers

let srv;
const startedServers = new Set();
async function ownServer(opts) {
  const s = await startServer(opts);
  startedServers.add(s);
  return s;
}

before(async () => {
  srv = await ownServer({ env: ENV });
});

after(async () => {
  await Promise.all([...startedServers].map((s) => s.stop()));
});


const typ = (t) => decodeJwt(t).payload.typ;
const claims = (t) => decodeJwt(t).payload;

function assertRecoveryCodes(codes, what) {
  assert.ok(Array.isArray(codes), `${what}: array`);
  assert.equal(codes.length, 10, `${what}: 10 codes: ${JSON.stringify(codes)}`);
  for (const c of codes) {
    assert.equal(typeof c, 'string', `${what}: string codes`);
    assert.equal(c.length, 16, `${what}: 16 characters: ${JSON.stringify(c)}`);
  }
  assert.equal(new Set(codes).size, 10, `${what}: distinct`);
}

/** A recovery-code-shaped string that is not one of `codes`. */
function wrongRecoveryCode(codes) {
  for (const c of codes) {
    const r = [...c].reverse().join('');
    if (!codes.includes(r)) return r;
  }
  return 'x'.repeat(16);
}

function parseOtpauth(url) {
  const m = /^otpauth:\/\/totp\/([^?]+)\?(.*)$/.exec(url);
  assert.ok(m, `otpauth URL shape: ${url}`);
  const params = new URLSearchParams(m[2]);
  return { label: decodeURIComponent(m[1]), params, query: m[2] };
}

const setup = (s, token) => s.request('POST', '/user/2fa/totp/setup', { token, json: {} });
const enable = (s, token, totp) => s.request('POST', '/user/2fa/totp/enable', { token, json: { totp } });
const totpAuth = (s, token, totp) => s.request('POST', '/user/2fa/totp/authenticate', { token, json: { totp } });
const totpNextGuess = (s, token) => s.request('GET', '/user/2fa/totp/next-guess', { token });
const recAuth = (s, token, recoveryCode) =>
  s.request('POST', '/user/2fa/recovery-code/authenticate', { token, json: { recoveryCode } });
const recReset = (s, token) => s.request('POST', '/user/2fa/recovery-code/reset', { token, json: {} });
const recNextGuess = (s, token) => s.request('GET', '/user/2fa/recovery-code/next-guess', { token });
const get2fa = (s, token) => s.request('GET', '/user/2fa', { token });
const delTotp = (s, token) => s.request('DELETE', '/user/2fa/totp', { token });

/** Setup with `token`, returning { url, qr, secret }. */
async function doSetup(s, token, what = 'setup') {
  const j = ok(await setup(s, token), what);
  const { params } = parseOtpauth(j.url);
  return { ...j, secret: params.get('secret') };
}

/**
 * A fresh user with TOTP active: { email, password, userId, refresh, access, totp (allocator),
 * recoveryCodes (unused ones; helpers shift from it) }.
 */
async function enrolledUser(s = srv) {
  const u = await s.newSession();
  const { secret } = await doSetup(s, u.access);
  const totp = new Totp(secret);
  const r = await enable(s, u.access, await totp.next());
  const j = ok(r, 'enable');
  assertRecoveryCodes(j.recoveryCodes, 'enable');
  return { ...u, totp, recoveryCodes: [...j.recoveryCodes] };
}

/** Log in a user with 2FA active: the partial token. */
async function partialLogin(s, u) {
  const t = assertTokenText(await s.login(u.email, u.password), 'login with 2FA');
  assert.equal(typ(t), 'partial', 'login with 2FA active returns a partial token');
  return t;
}

/** A sudo token for `u` by spending one recovery code with its access token. */
async function sudoViaRecovery(s, u) {
  const code = u.recoveryCodes.shift();
  const j = ok(await recAuth(s, u.access, code), 'recovery authenticate (access)');
  assert.deepEqual(Object.keys(j), ['sudoToken']);
  assert.equal(typ(j.sudoToken), 'sudo');
  return j.sudoToken;
}

/** Wait until `nextGuess()` reports {duration: 0}, polling; returns the elapsed ms. */
async function waitUntilAllowed(nextGuess, what, maxMs = 10000) {
  const t0 = Date.now();
  for (;;) {
    const j = ok(await nextGuess(), what);
    assert.ok(Number.isInteger(j.duration) && j.duration >= 0, `${what}: duration integer >= 0: ${JSON.stringify(j)}`);
    if (j.duration === 0) return Date.now() - t0;
    assert.ok(Date.now() - t0 < maxMs, `${what}: still throttled after ${maxMs} ms`);
    await sleep(Math.min(j.duration * 1000, 400));
  }
}

// ====================================================================== tests

describe('independent TOTP generator', () => {
  test('matches the RFC 6238 SHA1 test vectors and base32', () => {
    const key = Buffer.from('12345678901234567890');
    assert.deepEqual(base32Decode('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'), key);
    assert.deepEqual(base32Decode('gezdgnbvgy3tqojqgezdgnbvgy3tqojq===='), key);
    const vectors = [
      [59, '94287082'],
      [1111111109, '07081804'],
      [1111111111, '14050471'],
      [1234567890, '89005924'],
      [2000000000, '69279037'],
      [20000000000, '65353130'],
    ];
    for (const [t, code] of vectors) {
      assert.equal(totpForStep(key, Math.floor(t / 30), 8), code, `T=${t}`);
      assert.equal(totpForStep(key, Math.floor(t / 30), 6), code.slice(2), `T=${t} (6 digits)`);
    }
  });
});

describe('gatehouse 2FA', { concurrency: true }, () => {
  // ------------------------------------------------------------------ GET /user/2fa
  test('GET /user/2fa: before (enabled false, methods []) and after enable (totp, recoveryCodes, methods)', async () => {
    const u = await srv.newSession();
    const before = ok(await get2fa(srv, u.access), 'GET /user/2fa before');
    assert.deepEqual(before, { enabled: false, methods: [] }, 'inactive method keys are absent');

    const { secret } = await doSetup(srv, u.access);
    // A pending setup is not an active method.
    assert.deepEqual(ok(await get2fa(srv, u.access), 'GET /user/2fa after setup'), { enabled: false, methods: [] });

    const totp = new Totp(secret);
    const t0 = Date.now();
    ok(await enable(srv, u.access, await totp.next()), 'enable');
    const after = ok(await get2fa(srv, u.access), 'GET /user/2fa after');
    assert.deepEqual(Object.keys(after).sort(), ['enabled', 'methods', 'recoveryCodes', 'totp'], JSON.stringify(after));
    assert.equal(after.enabled, true);
    for (const [what, v] of [['totp', after.totp], ['recoveryCodes', after.recoveryCodes]]) {
      assert.deepEqual(Object.keys(v), ['completedAt'], `${what}: ${JSON.stringify(v)}`);
      assert.equal(typeof v.completedAt, 'string', `${what}.completedAt is a date string`);
      const ms = Date.parse(v.completedAt);
      assert.ok(Number.isFinite(ms) && Math.abs(ms - t0) < 60000, `${what}.completedAt near now: ${v.completedAt}`);
    }
    assert.ok(!('emailOtp' in after), 'emailOtp absent');
    assert.deepEqual(after.methods, [{ id: 'totp', completedAt: after.totp.completedAt }]);

    // The partial token is accepted, with the same answer.
    const partial = await partialLogin(srv, u);
    assert.deepEqual(ok(await get2fa(srv, partial), 'GET /user/2fa with a partial token'), after);
  });

  // ------------------------------------------------------------------ setup
  test('setup returns {url, qr, secret}: otpauth URL with issuer/account/params, a PNG data URL, the URL\'s secret', async () => {
    const u = await srv.newSession();
    const j = ok(await setup(srv, u.access), 'setup');
    assert.deepEqual(Object.keys(j).sort(), ['qr', 'secret', 'url']);
    assert.match(
      j.url,
      /^otpauth:\/\/totp\/[^?]+\?secret=[A-Z2-7]+=*&issuer=[^&]+&algorithm=SHA1&digits=6&period=30$/,
      j.url,
    );
    const { label, params } = parseOtpauth(j.url);
    assert.equal(label, `${DISPLAY_NAME}:${u.email}`, 'label is <display name>:<account>');
    assert.equal(params.get('issuer'), DISPLAY_NAME, 'the otpauth issuer is the display name, not the iss claim');
    assert.equal(j.secret, params.get('secret'), 'secret is the otpauth URL\'s secret parameter, for manual entry');
    const key = base32Decode(params.get('secret'));
    assert.ok(key.length >= 10, `secret has at least 80 bits (${key.length} bytes)`);

    assert.ok(j.qr.startsWith('data:image/png;base64,'), `qr prefix: ${j.qr.slice(0, 40)}`);
    const png = Buffer.from(j.qr.slice('data:image/png;base64,'.length), 'base64');
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
    assert.equal(png.subarray(12, 16).toString('latin1'), 'IHDR', 'first chunk is IHDR');
    assert.ok(png.length > 100, 'non-trivial PNG');

    // A second setup issues a new secret.
    const j2 = ok(await setup(srv, u.access), 'second setup');
    assert.notEqual(parseOtpauth(j2.url).params.get('secret'), params.get('secret'), 'new secret');
  });

  // ------------------------------------------------------------------ enable
  test('enable: 409 TOTP_UNINITIALIZED before setup; wrong code 401 TOTP_INVALID; right code 10 recovery codes', async () => {
    const u = await srv.newSession();
    assertError(await enable(srv, u.access, '123456'), 409, 'TOTP_UNINITIALIZED', 'enable before setup');
    const { secret } = await doSetup(srv, u.access);
    const totp = new Totp(secret);
    assertError(await enable(srv, u.access, totp.wrongCode()), 401, 'TOTP_INVALID', 'enable with a wrong code');
    assert.deepEqual(ok(await get2fa(srv, u.access), 'GET /user/2fa'), { enabled: false, methods: [] });
    const j = ok(await enable(srv, u.access, await totp.next()), 'enable with the right code');
    assert.deepEqual(Object.keys(j), ['recoveryCodes']);
    assertRecoveryCodes(j.recoveryCodes, 'first enable');
  });

  test('a later enable (after a new setup) returns recoveryCodes []; the new secret is then in force', async () => {
    const u = await enrolledUser();
    const sudo = await sudoViaRecovery(srv, u);
    const { secret } = await doSetup(srv, sudo, 'setup again (sudo)');
    const totp2 = new Totp(secret);
    totp2.lastStep = u.totp.lastStep;
    const j = ok(await enable(srv, u.access, await totp2.next()), 'second enable');
    assert.deepEqual(j, { recoveryCodes: [] });
    // The earlier recovery codes still work (no new set was generated).
    const partial = await partialLogin(srv, u);
    ok(await recAuth(srv, partial, u.recoveryCodes.shift()), 'old recovery code after second enable');
    // The new secret authenticates.
    const p2 = await partialLogin(srv, u);
    ok(await totpAuth(srv, p2, await totp2.next()), 'authenticate with the new secret');
  });

  test('validator 400s on enable and authenticate (not counted as guesses)', async () => {
    const u = await enrolledUser();
    const partial = await partialLogin(srv, u);
    for (const [what, call] of [
      ['enable', (b) => srv.request('POST', '/user/2fa/totp/enable', { token: u.access, json: b })],
      ['authenticate', (b) => srv.request('POST', '/user/2fa/totp/authenticate', { token: partial, json: b })],
    ]) {
      assertError(await call({ totp: '12345' }), 400, 'body/totp must NOT have fewer than 6 characters', what);
      assertError(await call({ totp: '1234567' }), 400, 'body/totp must NOT have more than 6 characters', what);
      assertError(await call({}), 400, "body must have required property 'totp'", what);
      assertError(await call({ totp: 123456 }), 400, 'body/totp must be string', what);
    }
    // Eight malformed requests are not failed guesses.
    assert.deepEqual(ok(await totpNextGuess(srv, partial), 'next-guess'), { duration: 0 });
    const r = await totpAuth(srv, partial, await u.totp.next());
    ok(r, 'authenticate after malformed requests');
  });

  // ------------------------------------------------------------------ partial / authenticate
  test('login with 2FA active returns a partial token: /auth/accesstoken 401 2FA_REQUIRED, GET /user/2fa accepts it', async () => {
    const u = await enrolledUser();
    const partial = await partialLogin(srv, u);
    const c = claims(partial);
    assert.equal(c.sub, String(u.userId));
    assert.equal(c.iss, ISSUER);
    assert.equal(c.exp - c.iat, 300, 'partial token lives 5 minutes by default');
    assertError(await srv.request('GET', '/auth/accesstoken', { token: partial }), 401, '2FA_REQUIRED');
    assertError(await srv.request('GET', '/auth/refreshtoken', { token: partial }), 401, 'WRONG_TOKEN_TYPE', 'refreshtoken');
    assertError(await srv.request('GET', '/auth/accesstoken/validate', { token: partial }), 401, 'WRONG_TOKEN_TYPE', 'accesstoken/validate');
    assertError(await enable(srv, partial, '123456'), 401, 'WRONG_TOKEN_TYPE', 'enable with a partial token');
    assertError(await setup(srv, partial), 401, 'WRONG_TOKEN_TYPE', 'setup with a partial token');
    assertError(
      await srv.request('PUT', '/user/password/old-password', { token: partial, json: { oldPassword: u.password, newPassword: 'Other-Password-7' } }),
      401, 'WRONG_TOKEN_TYPE', 'old-password with a partial token',
    );
    ok(await get2fa(srv, partial), 'GET /user/2fa with a partial token');
    assert.deepEqual(ok(await totpNextGuess(srv, partial), 'totp next-guess (partial)'), { duration: 0 });
    assert.deepEqual(ok(await recNextGuess(srv, partial), 'recovery next-guess (partial)'), { duration: 0 });
  });

  test('authenticate with the partial token returns {accessToken, refreshToken, sudoToken}; the refresh token works', async () => {
    const u = await enrolledUser();
    const partial = await partialLogin(srv, u);
    const j = ok(await totpAuth(srv, partial, await u.totp.next()), 'authenticate (partial)');
    assert.deepEqual(Object.keys(j).sort(), ['accessToken', 'refreshToken', 'sudoToken']);
    const a = claims(j.accessToken);
    const r = claims(j.refreshToken);
    const s = claims(j.sudoToken);
    assert.equal(a.typ, 'access');
    assert.equal(r.typ, 'refresh');
    assert.equal(s.typ, 'sudo');
    for (const c of [a, r, s]) {
      assert.equal(c.sub, String(u.userId));
      assert.equal(c.iss, ISSUER);
      assert.ok(c.sid, 'sid claim');
    }
    assert.equal(a.sid, r.sid, 'access and refresh share the session');
    assert.equal(s.sid, r.sid, 'sudo and refresh share the session');
    assert.equal(s.exp - s.iat, 300, 'sudo token lives 5 minutes by default');

    const acc = assertTokenText(await srv.request('GET', '/auth/accesstoken', { token: j.refreshToken }), 'accesstoken from the new refresh token');
    assert.equal(typ(acc), 'access');
    assert.equal(claims(acc).sid, r.sid);
    assert.deepEqual(ok(await srv.request('GET', '/auth/accesstoken/validate', { token: j.accessToken }), 'validate access'), { userId: u.userId });
    assert.deepEqual(ok(await srv.request('GET', '/auth/refreshtoken/validate', { token: j.refreshToken }), 'validate refresh'), { userId: u.userId });
    // A sudo token is accepted everywhere an access token is.
    assert.deepEqual(ok(await srv.request('GET', '/auth/accesstoken/validate', { token: j.sudoToken }), 'validate sudo'), { userId: u.userId });
    ok(await get2fa(srv, j.sudoToken), 'GET /user/2fa with a sudo token');
  });

  test('authenticate with an access token returns only {sudoToken}', async () => {
    const u = await enrolledUser();
    const j = ok(await totpAuth(srv, u.access, await u.totp.next()), 'authenticate (access)');
    assert.deepEqual(Object.keys(j), ['sudoToken']);
    assert.equal(typ(j.sudoToken), 'sudo');
    assert.equal(claims(j.sudoToken).sub, String(u.userId));
    // A refresh token is not accepted by authenticate.
    assertError(await totpAuth(srv, u.refresh, u.totp.wrongCode()), 401, 'WRONG_TOKEN_TYPE', 'authenticate with a refresh token');
  });

  // ------------------------------------------------------------------ replay
  test('replay: a code accepted once is refused the second time (partial and access tokens)', async () => {
    const u = await enrolledUser();
    const code = await u.totp.next({ minValidity: 10 });
    const p1 = await partialLogin(srv, u);
    ok(await totpAuth(srv, p1, code), 'first use');
    const p2 = await partialLogin(srv, u);
    assertError(await totpAuth(srv, p2, code), 401, 'TOTP_INVALID', 'replay with a new partial token');
    assertError(await totpAuth(srv, u.access, code), 401, 'TOTP_INVALID', 'replay with an access token');
    // Control: a fresh code still works.
    ok(await totpAuth(srv, p2, await u.totp.next()), 'a fresh code');
  });

  test('replay: the enable code cannot be used to authenticate', async () => {
    const u = await srv.newSession();
    const { secret } = await doSetup(srv, u.access);
    const totp = new Totp(secret);
    const code = await totp.next({ minValidity: 10 });
    ok(await enable(srv, u.access, code), 'enable');
    const partial = await partialLogin(srv, { ...u });
    assertError(await totpAuth(srv, partial, code), 401, 'TOTP_INVALID', 'enable code replayed at authenticate');
  });

  test('replay is refused across a kill -9 and restart on the same data dir', async () => {
    const s = await ownServer({ env: ENV });
    const u = await enrolledUser(s);
    const code = await u.totp.next({ minValidity: 15 });
    const p1 = await partialLogin(s, u);
    ok(await totpAuth(s, p1, code), 'first use');
    assertError(await totpAuth(s, await partialLogin(s, u), code), 401, 'TOTP_INVALID', 'replay before restart');
    const ex = await s.kill('SIGKILL');
    assert.equal(ex.signal, 'SIGKILL');
    await s.start({ port: s.port }).catch(() => s.start());
    const p2 = await partialLogin(s, u);
    assertError(await totpAuth(s, p2, code), 401, 'TOTP_INVALID', 'replay after kill -9 + restart');
    // Control: the server still validates TOTP after the restart.
    ok(await totpAuth(s, p2, await u.totp.next()), 'a fresh code after restart');
  });

  test('replay: a code accepted right before kill -9 (no second attempt first) is refused after restart', async () => {
    const s = await ownServer({ env: ENV });
    const u = await enrolledUser(s);
    const code = await u.totp.next({ minValidity: 15 });
    ok(await totpAuth(s, await partialLogin(s, u), code), 'use');
    await s.kill('SIGKILL');
    await s.start({ port: s.port }).catch(() => s.start());
    assertError(await totpAuth(s, await partialLogin(s, u), code), 401, 'TOTP_INVALID', 'replay after kill -9 + restart');
  });

  // ------------------------------------------------------------------ throttle
  test('throttle state survives a kill -9 and restart (spec 3: persistent)', async () => {
    const s = await ownServer({ env: ENV });
    const u = await enrolledUser(s);
    for (let i = 1; i <= 6; i++) {
      assertError(await totpAuth(s, u.access, u.totp.wrongCode()), 401, 'TOTP_INVALID', `wrong code #${i}`);
    }
    assertError(await totpAuth(s, u.access, u.totp.wrongCode()), 429, 'TOO_MANY_TOTP_CHECKS', 'throttled before restart');
    await s.kill('SIGKILL');
    await s.start({ port: s.port }).catch(() => s.start());
    await waitUntilAllowed(() => totpNextGuess(s, u.access), 'next-guess after restart');
    // The count (6) was kept: failure #7 sets next allowed = now + 2 s, not a free failure.
    const t7 = Date.now();
    assertError(await totpAuth(s, u.access, u.totp.wrongCode()), 401, 'TOTP_INVALID', 'wrong code #7 after restart');
    const ng = ok(await totpNextGuess(s, u.access), 'next-guess after #7');
    if (Date.now() - t7 < 900) assert.deepEqual(ng, { duration: 2 });
    else assert.ok(ng.duration >= 1 && ng.duration <= 2, `slow run: ${JSON.stringify(ng)}`);
    assertError(await totpAuth(s, u.access, u.totp.wrongCode()), 429, 'TOO_MANY_TOTP_CHECKS', 'throttled after restart');
  });

  test('throttle: 5 free failures + 1, then 429 TOO_MANY_TOTP_CHECKS; next-guess counts down; right code not evaluated', async () => {
    const u = await enrolledUser();
    const partial = await partialLogin(srv, u);
    assert.deepEqual(ok(await totpNextGuess(srv, partial), 'next-guess initially'), { duration: 0 });
    const right = await u.totp.next({ minValidity: 15 }); // allocated first: it may wait for a step
    for (let i = 1; i <= 6; i++) {
      assertError(await totpAuth(srv, partial, u.totp.wrongCode()), 401, 'TOTP_INVALID', `wrong code #${i}`);
    }
    const r429 = assertError(await totpAuth(srv, partial, u.totp.wrongCode()), 429, 'TOO_MANY_TOTP_CHECKS', '7th guess');
    assert.equal(r429.retryAfter, 1, 'first throttle step is 2^0 = 1 s');
    const ng = ok(await totpNextGuess(srv, partial), 'next-guess while throttled');
    assert.deepEqual(Object.keys(ng), ['duration']);
    assert.ok(Number.isInteger(ng.duration) && ng.duration > 0 && ng.duration <= 1, `duration in (0,1]: ${JSON.stringify(ng)}`);
    // A right code while throttled is not evaluated (and so not used up).
    assertError(await totpAuth(srv, partial, right), 429, 'TOO_MANY_TOTP_CHECKS', 'right code while throttled');
    assertError(await totpAuth(srv, u.access, right), 429, 'TOO_MANY_TOTP_CHECKS', 'right code while throttled (access)');
    await waitUntilAllowed(() => totpNextGuess(srv, partial), 'totp next-guess');
    // That the 429s were not counted is shown without a clock below: failure #7 sets a 2 s wait
    // (2^(7-6)), which it would not if the throttled guesses had counted.

    // One more failure: 7 failures → next allowed = now + 2^(7-6) = 2 s.
    const t7 = Date.now();
    assertError(await totpAuth(srv, partial, u.totp.wrongCode()), 401, 'TOTP_INVALID', 'wrong code #7 (allowed)');
    const ng2 = ok(await totpNextGuess(srv, partial), 'next-guess after failure #7');
    if (Date.now() - t7 < 900) assert.equal(ng2.duration, 2, `2^(7-6) s: ${JSON.stringify(ng2)}`);
    else assert.ok(ng2.duration >= 1 && ng2.duration <= 2, `2^(7-6) s (slow run): ${JSON.stringify(ng2)}`);
    const r2 = assertError(await totpAuth(srv, partial, right), 429, 'TOO_MANY_TOTP_CHECKS', 'right code, throttled again');
    assert.ok(r2.retryAfter >= 1 && r2.retryAfter <= 2, `retryAfter ${r2.retryAfter}`);
    await waitUntilAllowed(() => totpNextGuess(srv, partial), 'totp next-guess (2)');

    // The right code was never evaluated: it still works now, and success resets the counter.
    const j = ok(await totpAuth(srv, partial, right), 'right code after the throttle');
    assert.deepEqual(Object.keys(j).sort(), ['accessToken', 'refreshToken', 'sudoToken']);
    for (let i = 1; i <= 5; i++) {
      assertError(await totpAuth(srv, u.access, u.totp.wrongCode()), 401, 'TOTP_INVALID', `after reset, free failure #${i}`);
    }
    assert.deepEqual(ok(await totpNextGuess(srv, u.access), 'next-guess after 5 free failures'), { duration: 0 });
  });

  test('throttle: enable and authenticate share the TOTP guess counter', async () => {
    const u = await enrolledUser();
    const sudo = await sudoViaRecovery(srv, u);
    const { secret } = await doSetup(srv, sudo, 'new setup (sudo)');
    const totp2 = new Totp(secret);
    totp2.lastStep = u.totp.lastStep;
    const partial = await partialLogin(srv, u);
    const right2 = await totp2.next({ minValidity: 12 }); // allocated first: it may wait for a step
    for (let i = 1; i <= 3; i++) {
      assertError(await enable(srv, u.access, totp2.wrongCode()), 401, 'TOTP_INVALID', `enable wrong #${i}`);
      assertError(await totpAuth(srv, partial, u.totp.wrongCode()), 401, 'TOTP_INVALID', `authenticate wrong #${i}`);
    }
    assertError(await enable(srv, u.access, right2), 429, 'TOO_MANY_TOTP_CHECKS', 'enable after 6 shared failures');
    assertError(await totpAuth(srv, partial, u.totp.wrongCode()), 429, 'TOO_MANY_TOTP_CHECKS', 'authenticate after 6 shared failures');
    const ng = ok(await totpNextGuess(srv, u.access), 'next-guess');
    assert.ok(ng.duration > 0, JSON.stringify(ng));
    await waitUntilAllowed(() => totpNextGuess(srv, partial), 'totp next-guess');
    assert.deepEqual(ok(await enable(srv, u.access, right2), 'enable after the throttle'), { recoveryCodes: [] });
  });

  // ------------------------------------------------------------------ S|A*
  test('S|A*: PUT /user/password/old-password needs a sudo token once 2FA is active', async () => {
    const u = await enrolledUser();
    const body = { oldPassword: u.password, newPassword: 'New-Password-42' };
    assertError(
      await srv.request('PUT', '/user/password/old-password', { token: u.access, json: body }),
      401, 'SUDO_TOKEN_REQUIRED', 'access token with 2FA active',
    );
    // The access token from a partial-token authenticate is still only an access token.
    const j = ok(await totpAuth(srv, await partialLogin(srv, u), await u.totp.next()), 'authenticate (partial)');
    assertError(
      await srv.request('PUT', '/user/password/old-password', { token: j.accessToken, json: body }),
      401, 'SUDO_TOKEN_REQUIRED', 'fresh access token with 2FA active',
    );
    assertNullBody(await srv.request('PUT', '/user/password/old-password', { token: j.sudoToken, json: body }), 'old-password with sudo');
    // The new password is in force (login still answers with a partial token).
    assertError(await srv.login(u.email, u.password), 401, 'PASSWORD_INCORRECT', 'old password');
    await partialLogin(srv, { ...u, password: body.newPassword });
  });

  test('S|A*: an access token suffices for old-password while 2FA is off', async () => {
    const u = await srv.newSession();
    assertNullBody(
      await srv.request('PUT', '/user/password/old-password', { token: u.access, json: { oldPassword: u.password, newPassword: 'New-Password-43' } }),
      'old-password with access, no 2FA',
    );
  });

  test('S|A*: POST /user/2fa/totp/setup needs a sudo token once 2FA is active', async () => {
    const u = await enrolledUser();
    assertError(await setup(srv, u.access), 401, 'SUDO_TOKEN_REQUIRED', 'setup with access, 2FA active');
    const j = ok(await totpAuth(srv, u.access, await u.totp.next()), 'authenticate (access)');
    const s = ok(await setup(srv, j.sudoToken), 'setup with sudo');
    assert.match(s.url, /^otpauth:\/\/totp\//);
    // The pending setup does not replace the active secret: the old one still authenticates.
    ok(await totpAuth(srv, await partialLogin(srv, u), await u.totp.next()), 'authenticate with the active secret');
  });

  // ------------------------------------------------------------------ DELETE
  test('DELETE /user/2fa/totp: sudo only, null, then 409; 2FA off, recovery codes deleted, login gives a refresh token', async () => {
    const u = await enrolledUser();
    assertError(await delTotp(srv, u.access), 401, 'WRONG_TOKEN_TYPE', 'delete with an access token');
    const partial = await partialLogin(srv, u);
    assertError(await delTotp(srv, partial), 401, 'WRONG_TOKEN_TYPE', 'delete with a partial token');
    const sudo = ok(await totpAuth(srv, u.access, await u.totp.next()), 'authenticate').sudoToken;
    assertNullBody(await delTotp(srv, sudo), 'delete with sudo');
    assertError(await delTotp(srv, sudo), 409, 'TOTP_ALREADY_INACTIVE', 'second delete');
    assert.deepEqual(ok(await get2fa(srv, u.access), 'GET /user/2fa after delete'), { enabled: false, methods: [] });
    assertError(await recNextGuess(srv, u.access), 409, 'RECOVERY_CODES_UNINITIALIZED', 'recovery next-guess after delete');
    assertError(await recAuth(srv, u.access, u.recoveryCodes[0]), 409, 'RECOVERY_CODES_UNINITIALIZED', 'recovery code after delete');
    assertError(await totpAuth(srv, u.access, u.totp.wrongCode()), 409, 'TOTP_UNINITIALIZED', 'authenticate after delete');
    assertError(await totpNextGuess(srv, u.access), 409, 'TOTP_UNINITIALIZED', 'totp next-guess after delete');
    const rt = assertTokenText(await srv.login(u.email, u.password), 'login after delete');
    assert.equal(typ(rt), 'refresh', 'login returns a refresh token again');
    assertTokenText(await srv.request('GET', '/auth/accesstoken', { token: rt }), 'accesstoken');
    // Without 2FA an access token is enough again for S|A*; re-activating TOTP is a "first
    // method" again: 10 fresh recovery codes, and the deleted ones stay dead.
    const { secret } = await doSetup(srv, u.access, 'setup with access after delete');
    u.totp.setSecret(secret);
    const j = ok(await enable(srv, u.access, await u.totp.next()), 're-enable after delete');
    assertRecoveryCodes(j.recoveryCodes, 're-enable after delete');
    const p2 = await partialLogin(srv, u);
    assertError(await recAuth(srv, p2, u.recoveryCodes[1]), 401, 'RECOVERY_CODE_INVALID', 'a deleted code after re-enable');
    ok(await recAuth(srv, p2, j.recoveryCodes[0]), 'a new code after re-enable');
  });

  // ------------------------------------------------------------------ recovery codes
  test('recovery code: partial → all three tokens; reuse 401 RECOVERY_CODE_INVALID', async () => {
    const u = await enrolledUser();
    const code = u.recoveryCodes.shift();
    const partial = await partialLogin(srv, u);
    const j = ok(await recAuth(srv, partial, code), 'recovery authenticate (partial)');
    assert.deepEqual(Object.keys(j).sort(), ['accessToken', 'refreshToken', 'sudoToken']);
    assert.equal(typ(j.accessToken), 'access');
    assert.equal(typ(j.refreshToken), 'refresh');
    assert.equal(typ(j.sudoToken), 'sudo');
    assert.equal(claims(j.accessToken).sid, claims(j.refreshToken).sid);
    assertTokenText(await srv.request('GET', '/auth/accesstoken', { token: j.refreshToken }), 'accesstoken from recovery refresh');
    assertError(await recAuth(srv, partial, code), 401, 'RECOVERY_CODE_INVALID', 'reuse (partial)');
    assertError(await recAuth(srv, u.access, code), 401, 'RECOVERY_CODE_INVALID', 'reuse (access)');
    assertError(await recAuth(srv, partial, wrongRecoveryCode(u.recoveryCodes)), 401, 'RECOVERY_CODE_INVALID', 'wrong code');
    // Another code still works with the access token: {sudoToken} only.
    const s = ok(await recAuth(srv, u.access, u.recoveryCodes.shift()), 'second code (access)');
    assert.deepEqual(Object.keys(s), ['sudoToken']);
    const g = ok(await get2fa(srv, u.access), 'GET /user/2fa');
    assert.equal(g.enabled, true, 'using recovery codes leaves 2FA on');
  });

  test('recovery code: 409 RECOVERY_CODES_UNINITIALIZED for a user without 2FA', async () => {
    const u = await srv.newSession();
    assertError(await recAuth(srv, u.access, 'abcdefghijklmnop'), 409, 'RECOVERY_CODES_UNINITIALIZED', 'authenticate');
    assertError(await recNextGuess(srv, u.access), 409, 'RECOVERY_CODES_UNINITIALIZED', 'next-guess');
    // A pending (not enabled) TOTP setup does not create recovery codes.
    await doSetup(srv, u.access);
    assertError(await recAuth(srv, u.access, 'abcdefghijklmnop'), 409, 'RECOVERY_CODES_UNINITIALIZED', 'authenticate after setup only');
  });

  test('recovery-code reset: sudo → 10 new codes, old ones stop working; access 401 WRONG_TOKEN_TYPE; no 2FA 409 2FA_IS_DISABLED', async () => {
    const u = await enrolledUser();
    assertError(await recReset(srv, u.access), 401, 'WRONG_TOKEN_TYPE', 'reset with an access token');
    const partial = await partialLogin(srv, u);
    assertError(await recReset(srv, partial), 401, 'WRONG_TOKEN_TYPE', 'reset with a partial token');
    const sudo = await sudoViaRecovery(srv, u);
    const j = ok(await recReset(srv, sudo), 'reset with sudo');
    assert.deepEqual(Object.keys(j), ['recoveryCodes']);
    assertRecoveryCodes(j.recoveryCodes, 'reset');
    for (const c of j.recoveryCodes) assert.ok(!u.recoveryCodes.includes(c), 'new codes differ from the old ones');
    for (const old of u.recoveryCodes.slice(0, 3)) {
      assertError(await recAuth(srv, partial, old), 401, 'RECOVERY_CODE_INVALID', 'old code after reset');
    }
    const t = ok(await recAuth(srv, partial, j.recoveryCodes[0]), 'new code after reset');
    assert.deepEqual(Object.keys(t).sort(), ['accessToken', 'refreshToken', 'sudoToken']);

    // Without 2FA: delete TOTP (the last method) with sudo, then reset with the same sudo token.
    assertNullBody(await delTotp(srv, t.sudoToken), 'delete totp');
    assertError(await recReset(srv, t.sudoToken), 409, '2FA_IS_DISABLED', 'reset without 2FA');
  });

  test('recovery code: 20 parallel uses of one code → exactly one 200', async () => {
    const u = await enrolledUser();
    const code = u.recoveryCodes.shift();
    const partial = await partialLogin(srv, u);
    const rs = await Promise.all(Array.from({ length: 20 }, () => recAuth(srv, partial, code)));
    const wins = rs.filter((r) => r.status === 200);
    assert.equal(wins.length, 1, `exactly one success: ${JSON.stringify(rs.map((r) => r.status))}`);
    assert.deepEqual(Object.keys(wins[0].json).sort(), ['accessToken', 'refreshToken', 'sudoToken']);
    let n401 = 0;
    for (const r of rs) {
      if (r.status === 200) continue;
      if (r.status === 401) {
        n401++;
        assertError(r, 401, 'RECOVERY_CODE_INVALID', 'parallel loser');
      } else {
        assertError(r, 429, 'TOO_MANY_RECOVERY_CODE_CHECKS', 'parallel loser');
      }
    }
    assert.ok(n401 >= 6, `at least 5 free failures + 1 evaluated: ${n401}`);
    // The code is used up.
    await waitUntilAllowed(() => recNextGuess(srv, partial), 'recovery next-guess');
    assertError(await recAuth(srv, partial, code), 401, 'RECOVERY_CODE_INVALID', 'after the race');
  });

  test('recovery code next-guess: 0, then 429 TOO_MANY_RECOVERY_CODE_CHECKS after 5+1 failures, counts down, right code not evaluated', async () => {
    const u = await enrolledUser();
    const partial = await partialLogin(srv, u);
    assert.deepEqual(ok(await recNextGuess(srv, partial), 'recovery next-guess initially'), { duration: 0 });
    const wrong = wrongRecoveryCode(u.recoveryCodes);
    for (let i = 1; i <= 6; i++) {
      assertError(await recAuth(srv, partial, wrong), 401, 'RECOVERY_CODE_INVALID', `wrong code #${i}`);
    }
    const right = u.recoveryCodes.shift();
    const r = assertError(await recAuth(srv, partial, right), 429, 'TOO_MANY_RECOVERY_CODE_CHECKS', 'right code while throttled');
    assert.equal(r.retryAfter, 1);
    const ng = ok(await recNextGuess(srv, u.access), 'recovery next-guess while throttled');
    assert.deepEqual(Object.keys(ng), ['duration']);
    assert.ok(Number.isInteger(ng.duration) && ng.duration > 0, JSON.stringify(ng));
    // The TOTP limiter is a different factor.
    assert.deepEqual(ok(await totpNextGuess(srv, partial), 'totp next-guess'), { duration: 0 });
    await waitUntilAllowed(() => recNextGuess(srv, partial), 'recovery next-guess');
    const j = ok(await recAuth(srv, partial, right), 'right code after the throttle (was not evaluated)');
    assert.deepEqual(Object.keys(j).sort(), ['accessToken', 'refreshToken', 'sudoToken']);
    assert.deepEqual(ok(await recNextGuess(srv, partial), 'next-guess after success'), { duration: 0 });
  });
});
