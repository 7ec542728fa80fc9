// Black-box suite for passkeys (issue 14): the first-party plugin twofactor.passkey at
// /user/2fa/passkey driven over HTTP against the real binary by a software authenticator
// (softauthn.mjs: node:crypto ES256, attestation "none", CBOR by hand), as a browser app would:
// setup -> navigator.credentials.create -> enable; login -> challenge -> navigator.credentials.get
// -> authenticate; a second passkey with a sudo token; GET /user/2fa; DELETE. And the refusals:
// wrong origin, wrong RP ID, wrong challenge, replayed challenge, counter going back, another
// user's credential (at enable and at authenticate), garbage CBOR, oversized and malformed
// bodies (400, not counted), the guess limiter (429 TOO_MANY_PASSKEY_CHECKS) and its next-guess.
// (The 5-minute expiry is covered by the plugin's unit tests, with a clock.)
//
// Run: make build && GATEHOUSE_BIN=$PWD/bin/gatehouse node --test tests/blackbox/passkey.test.mjs

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startServer, assertError, ok, assertNullBody, assertTokenText, decodeJwt } from './lib.mjs';
import { SoftAuthenticator, cbor } from './softauthn.mjs';

// The app's origin (GATEHOUSE_PUBLIC_URL): the RP ID defaults to its host, localhost.
const APP = 'http://localhost:5173';
// Another accepted origin (GATEHOUSE_ORIGINS).
const OTHER_APP = 'http://localhost:4000';
const RP_NAME = `Passkey BB ${randomBytes(3).toString('hex')}`;
const ENV = {
  GATEHOUSE_REGISTRATION: 'open',
  GATEHOUSE_PUBLIC_URL: APP,
  GATEHOUSE_ORIGINS: OTHER_APP,
  GATEHOUSE_WEBAUTHN_RP_NAME: RP_NAME,
};

let srv;
before(async () => {
  srv = await startServer({ env: ENV });
});
after(async () => {
  await srv?.stop();
});

const typ = (t) => decodeJwt(t).payload.typ;
const post = (path, token, json) => srv.request('POST', path, { token, json, headers: { origin: APP } });
const setup = (token, body = {}) => post('/user/2fa/passkey/setup', token, body);
const enable = (token, credential) => post('/user/2fa/passkey/enable', token, { credential });
const challenge = (token) => post('/user/2fa/passkey/challenge', token, {});
const authenticate = (token, credential) => post('/user/2fa/passkey/authenticate', token, { credential });
const nextGuess = (token) => srv.request('GET', '/user/2fa/passkey/next-guess', { token });
const get2fa = (token) => srv.request('GET', '/user/2fa', { token });

/** Setup, checked as a client would read it: the creation options. */
async function creationOptions(token, body = {}, what = 'setup') {
  const j = ok(await setup(token, body), what);
  assert.deepEqual(Object.keys(j), ['publicKey'], `${what}: the answer is {publicKey}`);
  return j;
}

async function requestOptions(token, what = 'challenge') {
  const j = ok(await challenge(token), what);
  assert.deepEqual(Object.keys(j), ['publicKey'], `${what}: the answer is {publicKey}`);
  return j;
}

/** A fresh user with one passkey: { ...session, auth (its authenticator), recoveryCodes }. */
async function enrolledUser() {
  const u = await srv.newSession();
  const auth = new SoftAuthenticator({ origin: APP });
  const j = ok(await enable(u.access, auth.create(await creationOptions(u.access))), 'enable');
  assert.equal(j.recoveryCodes.length, 10, 'the first method returns 10 recovery codes');
  return { ...u, auth, recoveryCodes: j.recoveryCodes };
}

async function partialLogin(u) {
  const t = assertTokenText(await srv.login(u.email, u.password), 'login with a passkey');
  assert.equal(typ(t), 'partial');
  return t;
}

/** A sudo token by a passkey assertion with the access token. */
async function sudo(u, auth = u.auth) {
  const j = ok(await authenticate(u.access, auth.get(await requestOptions(u.access))), 'authenticate (access)');
  assert.deepEqual(Object.keys(j), ['sudoToken']);
  return j.sudoToken;
}

describe('passkey registration', () => {
  test('setup answers the WebAuthn creation options (JSON form, base64url), {} or {name}', async () => {
    const u = await srv.newSession();
    const { publicKey: o } = await creationOptions(u.access);
    assert.deepEqual(o.rp, { id: 'localhost', name: RP_NAME }, 'rp: GATEHOUSE_WEBAUTHN_RP_NAME, RP ID from the public URL');
    assert.equal(o.user.name, u.email);
    assert.equal(Buffer.from(o.user.id, 'base64url').toString(), String(u.userId), 'user.id is the user handle, base64url');
    assert.match(o.challenge, /^[A-Za-z0-9_-]{43}$/, 'a 32-byte challenge, base64url without padding');
    assert.deepEqual(o.pubKeyCredParams.map((p) => [p.type, p.alg]), [['public-key', -7], ['public-key', -8], ['public-key', -257]]);
    assert.equal(o.attestation, 'none');
    assert.equal(o.authenticatorSelection.userVerification, 'preferred');
    assert.equal(o.timeout, 300000);
    assert.ok(!o.excludeCredentials?.length, 'nothing to exclude yet');
    const again = await creationOptions(u.access, { name: 'Laptop' }, 'setup with a name');
    assert.notEqual(again.publicKey.challenge, o.challenge, 'a new challenge each setup');
  });

  test('setup: a bad name is a 400; no token is a 401', async () => {
    const u = await srv.newSession();
    assertError(await setup(u.access, { name: 'x'.repeat(65) }), 400, /name/);
    assertError(await setup(u.access, { name: 'a\u0000b' }), 400, /name/);
    assertError(await setup(undefined), 401, 'NO_TOKEN_PROVIDED');
  });

  test('enable: 200 {recoveryCodes}; GET /user/2fa lists the passkey (name, createdAt, lastUsedAt, never a key)', async () => {
    const u = await srv.newSession();
    const auth = new SoftAuthenticator({ origin: APP });
    const before = Date.now();
    const j = ok(await enable(u.access, auth.create(await creationOptions(u.access, { name: 'Laptop' }))), 'enable');
    assert.deepEqual(Object.keys(j), ['recoveryCodes']);
    assert.equal(j.recoveryCodes.length, 10);
    const s = ok(await get2fa(u.access), 'GET /user/2fa');
    assert.equal(s.enabled, true);
    assert.ok(s.methods.some((m) => m.id === 'passkey'), JSON.stringify(s.methods));
    assert.ok(s.passkey.completedAt, 'completedAt');
    assert.equal(s.passkey.credentials.length, 1);
    const c = s.passkey.credentials[0];
    assert.deepEqual(Object.keys(c).sort(), ['createdAt', 'id', 'lastUsedAt', 'name']);
    assert.equal(c.id, Buffer.from(auth.credId).toString('base64url'));
    assert.equal(c.name, 'Laptop');
    assert.equal(c.lastUsedAt, null);
    assert.ok(Date.parse(c.createdAt) >= before - 1000 && Date.parse(c.createdAt) <= Date.now() + 1000, c.createdAt);
    const text = JSON.stringify(s);
    assert.ok(!/publicKey|signCount|aaguid/i.test(text), `no key material in GET /user/2fa: ${text}`);
  });

  test('enable refusals: 401 PASSKEY_INVALID for a wrong origin, RP ID, challenge or type; each uses the challenge up', async () => {
    for (const [what, over] of [
      ['origin not accepted', { origin: 'https://evil.example' }],
      ['another RP ID', { rpId: 'example.com' }],
      ['another challenge', { challenge: randomBytes(32).toString('base64url') }],
      ['a get ceremony', { type: 'webauthn.get' }],
    ]) {
      const u = await srv.newSession();
      const auth = new SoftAuthenticator({ origin: APP });
      const opts = await creationOptions(u.access);
      assertError(await enable(u.access, auth.create(opts, over)), 401, 'PASSKEY_INVALID', what);
      // The right answer to that challenge now: it was used up by the denial.
      assertError(await enable(u.access, auth.create(opts)), 401, 'PASSKEY_INVALID', `${what}, then replayed right`);
      // A fresh setup works.
      ok(await enable(u.access, auth.create(await creationOptions(u.access))), `${what}: enable after the refusals`);
    }
  });

  test('enable: a registration answered twice (replayed challenge) is refused', async () => {
    const u = await srv.newSession();
    const auth = new SoftAuthenticator({ origin: OTHER_APP });
    const answer = auth.create(await creationOptions(u.access));
    ok(await enable(u.access, answer), 'enable from the other accepted origin');
    const sudoToken = await sudo({ ...u, auth });
    assertError(await enable(sudoToken, answer), 409, 'PASSKEY_UNINITIALIZED', 'the same registration again: nothing pending');
    await creationOptions(sudoToken, {}, 'a new setup');
    assertError(await enable(sudoToken, answer), 401, 'PASSKEY_INVALID', 'the old registration against the new challenge');
  });

  test('enable: malformed credentials are 400 with a message and not counted', async () => {
    const u = await srv.newSession();
    const auth = new SoftAuthenticator({ origin: APP });
    const opts = await creationOptions(u.access);
    const garbage = auth.create(opts, { attestationObject: Buffer.from([0xa3, 0xff, 0x00, 0x13]) });
    const cases = [
      ['garbage CBOR', garbage],
      ['CBOR of another shape', auth.create(opts, { attestationObject: cbor([1, 'x']) })],
      ['empty object', {}],
      ['no response', { id: 'AAAA', rawId: 'AAAA', type: 'public-key' }],
      ['client data not JSON', { ...garbage, response: { ...garbage.response, clientDataJSON: Buffer.from('nope').toString('base64url') } }],
    ];
    for (const [what, credential] of cases) {
      const e = assertError(await enable(u.access, credential), 400, undefined, what);
      assert.match(e.message, /credential/i, `${what}: the message says what is wrong: ${e.message}`);
    }
    for (const [what, body, status, message] of [
      ['a string', { credential: 'abc' }, 400, 'body/credential must be object'],
      ['an array', { credential: [1] }, 400, 'body/credential must be object'],
      ['missing', {}, 400, "body must have required property 'credential'"],
      ['oversized', { credential: { ...garbage, pad: 'x'.repeat(20000) } }, 413, 'request body is too large'],
    ]) {
      assertError(await post('/user/2fa/passkey/enable', u.access, body), status, message, what);
    }
    assert.deepEqual(ok(await nextGuess(u.access), 'next-guess'), { duration: 0 }, 'the bad requests were not counted');
  });

  test('enable without a setup: 409 PASSKEY_UNINITIALIZED', async () => {
    const u = await srv.newSession();
    const auth = new SoftAuthenticator({ origin: APP });
    assertError(await enable(u.access, auth.create({ publicKey: { challenge: 'AAAA', pubKeyCredParams: [{ type: 'public-key', alg: -7 }], rp: { id: 'localhost' } } })),
      409, 'PASSKEY_UNINITIALIZED');
  });

  test('the credential id is unique across users: another account registering it gets 401 PASSKEY_INVALID', async () => {
    const a = await enrolledUser();
    const aSudo = await sudo(a);
    const b = await srv.newSession();
    // The same authenticator (same credential id and key) offered to account b.
    assertError(await enable(b.access, a.auth.create(await creationOptions(b.access))), 401, 'PASSKEY_INVALID');
    const s = ok(await get2fa(b.access), 'GET /user/2fa of b');
    assert.equal(s.enabled, false);
    // And once a deletes its passkey, the id is free again.
    assertNullBody(await srv.request('DELETE', '/user/2fa/passkey', { token: aSudo }), 'DELETE a');
    ok(await enable(b.access, a.auth.create(await creationOptions(b.access))), 'b registers the freed credential');
  });
});

describe('passkey authentication', () => {
  test('login with the password, then challenge + authenticate with the partial token: the three tokens', async () => {
    const u = await enrolledUser();
    const partial = await partialLogin(u);
    assert.equal(ok(await get2fa(partial), 'GET /user/2fa (partial)').enabled, true);
    const { publicKey: o } = await requestOptions(partial);
    assert.equal(o.rpId, 'localhost');
    assert.equal(o.userVerification, 'preferred');
    assert.equal(o.timeout, 300000);
    assert.deepEqual(o.allowCredentials.map((c) => c.id), [Buffer.from(u.auth.credId).toString('base64url')]);
    const j = ok(await authenticate(partial, u.auth.get({ publicKey: o })), 'authenticate (partial)');
    assert.deepEqual(Object.keys(j).sort(), ['accessToken', 'refreshToken', 'sudoToken']);
    assert.equal(typ(j.accessToken), 'access');
    assert.equal(typ(j.refreshToken), 'refresh');
    assert.equal(typ(j.sudoToken), 'sudo');
    const c = ok(await get2fa(j.accessToken), 'GET /user/2fa').passkey.credentials[0];
    assert.ok(c.lastUsedAt && Date.parse(c.lastUsedAt) >= Date.parse(c.createdAt), `lastUsedAt ${c.lastUsedAt}`);
    // With an access token: a sudo token only.
    await sudo({ ...u, access: j.accessToken });
  });

  test('authenticate refusals: 401 PASSKEY_INVALID (replay, wrong origin, RP ID, challenge, type, signature, counter back)', async () => {
    const u = await enrolledUser();
    const partial = await partialLogin(u);
    const answer = u.auth.get(await requestOptions(partial));
    ok(await authenticate(partial, answer), 'authenticate');
    assertError(await authenticate(partial, answer), 401, 'PASSKEY_INVALID', 'the same assertion again (challenge used up)');
    const cases = [
      ['origin not accepted', { origin: 'http://localhost:9999' }],
      ['another RP ID', { rpId: 'evil.example' }],
      ['another challenge', { challenge: randomBytes(32).toString('base64url') }],
      ['a create ceremony', { type: 'webauthn.create' }],
      ['a bad signature', { signature: Buffer.from('3006020101020101', 'hex') }],
      // A cloned authenticator: a good signature, but the counter went back.
      ['counter went back', { counter: 1 }],
    ];
    for (const [what, over] of cases) {
      const v = await enrolledUser(); // a user of its own: no refusal waits for the guess limiter
      v.auth.counter = 10;
      ok(await authenticate(v.access, v.auth.get(await requestOptions(v.access))), `${what}: a first assertion`);
      const o = await requestOptions(v.access);
      assertError(await authenticate(v.access, v.auth.get(o, over)), 401, 'PASSKEY_INVALID', what);
      assertError(await authenticate(v.access, v.auth.get(o)), 401, 'PASSKEY_INVALID', `${what}, then the right answer`);
      ok(await authenticate(v.access, v.auth.get(await requestOptions(v.access))), `${what}: a fresh challenge works`);
    }
    // The clone was logged (by the plugin, through the host's log), without key material.
    const line = srv.logs.split('\n').find((l) => /cloned authenticator/.test(l));
    assert.ok(line, `a log line about the clone:\n${srv.logs.slice(-2000)}`);
    assert.match(line, /went from 11 to 1\b/);
  });

  test('another user\'s passkey does not authenticate this user', async () => {
    const a = await enrolledUser();
    const b = await enrolledUser();
    const o = await requestOptions(a.access);
    assertError(await authenticate(a.access, b.auth.get(o, { ignoreAllowList: true })), 401, 'PASSKEY_INVALID');
  });

  test('malformed assertions are 400 and not counted', async () => {
    const u = await enrolledUser();
    const o = await requestOptions(u.access);
    const good = u.auth.get(o);
    for (const [what, credential] of [
      ['authenticator data truncated', { ...good, response: { ...good.response, authenticatorData: 'AAEC' } }],
      ['id not base64url', { ...good, id: '!!!', rawId: '!!!' }],
      ['empty object', {}],
    ]) {
      assertError(await authenticate(u.access, credential), 400, undefined, what);
    }
    assert.deepEqual(ok(await nextGuess(u.access), 'next-guess'), { duration: 0 });
  });

  test('guess limiter: 5 free failures + 1, then 429 TOO_MANY_PASSKEY_CHECKS; next-guess counts; a right answer is not evaluated', async () => {
    const u = await enrolledUser();
    const partial = await partialLogin(u);
    for (let i = 1; i <= 6; i++) {
      const o = await requestOptions(partial);
      assertError(await authenticate(partial, u.auth.get(o, { origin: 'https://evil.example' })), 401, 'PASSKEY_INVALID', `failure ${i}`);
    }
    const o = await requestOptions(partial);
    const r = assertError(await authenticate(partial, u.auth.get(o)), 429, 'TOO_MANY_PASSKEY_CHECKS', 'right answer while throttled');
    assert.ok(r.retryAfter >= 1);
    const d = ok(await nextGuess(partial), 'next-guess').duration;
    assert.ok(d >= 1, `next-guess duration ${d}`);
  });

  test('challenge and authenticate without a passkey: 409 PASSKEY_UNINITIALIZED', async () => {
    const u = await srv.newSession();
    assertError(await challenge(u.access), 409, 'PASSKEY_UNINITIALIZED');
    assertError(await nextGuess(u.access), 409, 'PASSKEY_UNINITIALIZED');
  });
});

describe('several passkeys and removal', () => {
  test('a second passkey needs a sudo token, adds one (recoveryCodes []), both authenticate; DELETE removes the method', async () => {
    const u = await enrolledUser();
    const key = new SoftAuthenticator({ origin: APP });
    assertError(await setup(u.access), 401, 'SUDO_TOKEN_REQUIRED', 'setup with an access token while active');
    let sudoToken = await sudo(u);
    const opts = await creationOptions(sudoToken, { name: 'Security key' });
    assert.deepEqual(opts.publicKey.excludeCredentials.map((c) => c.id), [Buffer.from(u.auth.credId).toString('base64url')],
      'the active passkey is excluded');
    assert.throws(() => u.auth.create(opts), /InvalidStateError/, 'the first authenticator refuses to register twice');
    assertError(await enable(u.access, key.create(opts)), 401, 'SUDO_TOKEN_REQUIRED', 'enable with an access token while active');
    const sudo2 = await sudo(u);
    const j = ok(await enable(sudo2, key.create(await creationOptions(sudo2, { name: 'Security key' }))), 'enable the second');
    assert.deepEqual(j, { recoveryCodes: [] });
    const list = ok(await get2fa(u.access), 'GET /user/2fa').passkey.credentials;
    assert.deepEqual(list.map((c) => c.name), [list[0].name, 'Security key']);
    assert.equal(list.length, 2);
    // Both authenticate, from a password login.
    for (const auth of [u.auth, key]) {
      const partial = await partialLogin(u);
      ok(await authenticate(partial, auth.get(await requestOptions(partial))), 'authenticate');
    }
    // DELETE: S only.
    assertError(await srv.request('DELETE', '/user/2fa/passkey', { token: u.access }), 401, 'WRONG_TOKEN_TYPE');
    sudoToken = await sudo(u, key);
    assertNullBody(await srv.request('DELETE', '/user/2fa/passkey', { token: sudoToken }), 'DELETE');
    const s = ok(await get2fa(u.access), 'GET /user/2fa after DELETE');
    assert.equal(s.enabled, false);
    assert.equal(s.passkey, undefined);
    assertError(await srv.request('DELETE', '/user/2fa/passkey', { token: sudoToken }), 409, 'PASSKEY_ALREADY_INACTIVE');
    assertTokenText(await srv.login(u.email, u.password), 'login without 2FA');
    assert.equal(typ((await srv.login(u.email, u.password)).text), 'refresh');
  });
});
