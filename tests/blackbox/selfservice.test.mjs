// Black-box tests of the account holder's self-service API (issue 16): GET /user, the session
// list with its client address, User-Agent and times, ending one session, and the S|A* rule
// of DELETE /user/sessions/{id}.
// Contract: the table of `issues show 16` (spec section 6); tokens and S|A* as in section 2.
//
// Run: make build && GATEHOUSE_BIN=$PWD/bin/gatehouse node --test tests/blackbox/selfservice.test.mjs

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, uniqueEmail, assertError, ok, assertNullBody, decodeJwt, Totp, otpauthSecret } from './lib.mjs';

const ADMIN = 'selfservice-admin-token-0123456789abcdef';
let srv;
before(async () => {
  srv = await startServer({ env: { GATEHOUSE_REGISTRATION: 'open', GATEHOUSE_ADMIN_TOKEN: `bb:${ADMIN}`, GATEHOUSE_TRUSTED_PROXIES: '127.0.0.1/32,::1' } });
});
after(async () => {
  await srv?.stop();
});

const auditOf = async (userId, type) =>
  ok(await srv.request('GET', `/admin/audit?${new URLSearchParams({ userId: String(userId), type })}`, { token: ADMIN }), 'audit').events;

async function loginAs(u, userAgent) {
  const l = await srv.request('POST', '/auth/login', { json: { username: u.email, password: u.password }, headers: { 'user-agent': userAgent } });
  assert.equal(l.status, 200, l.text);
  const a = await srv.request('GET', '/auth/accesstoken', { token: l.text });
  assert.equal(a.status, 200, a.text);
  return { refresh: l.text, access: a.text };
}

describe('GET /user', () => {
  test('the account: id, address as registered, creation time, not verified', async () => {
    const email = uniqueEmail('Profile');
    const u = await srv.register(email);
    const s = await loginAs(u, 'bb-profile');
    const before = Date.now();
    const body = ok(await srv.request('GET', '/user', { token: s.access }), 'GET /user');
    assert.deepEqual(Object.keys(body).sort(), ['createdAt', 'email', 'emailVerified', 'userId']);
    assert.equal(body.userId, u.userId);
    assert.equal(body.email, email);
    assert.equal(body.emailVerified, false);
    assert.ok(Date.parse(body.createdAt) <= before, body.createdAt);
  });

  test('needs an access token: none, a refresh token', async () => {
    const u = await srv.register();
    const s = await loginAs(u, 'bb');
    assertError(await srv.request('GET', '/user'), 401, 'NO_TOKEN_PROVIDED');
    assertError(await srv.request('GET', '/user', { token: s.refresh }), 401, 'WRONG_TOKEN_TYPE');
  });
});

describe('GET /user/sessions', () => {
  test('each session with its login address, User-Agent and times; the caller\'s marked current', async () => {
    const u = await srv.register();
    const phone = await loginAs(u, 'bb-phone/1.0');
    const laptop = await loginAs(u, 'bb-laptop/2.0');
    const body = ok(await srv.request('GET', '/user/sessions', { token: laptop.access }), 'sessions');
    assert.deepEqual(Object.keys(body), ['sessions']);
    assert.equal(body.sessions.length, 2);
    for (const s of body.sessions) {
      assert.deepEqual(Object.keys(s).sort(), ['createdAt', 'current', 'id', 'ip', 'lastUsedAt', 'userAgent']);
      assert.equal(s.ip, '127.0.0.1');
      assert.ok(!Number.isNaN(Date.parse(s.createdAt)) && !Number.isNaN(Date.parse(s.lastUsedAt)));
    }
    const byAgent = Object.fromEntries(body.sessions.map((s) => [s.userAgent, s]));
    assert.equal(byAgent['bb-laptop/2.0'].current, true);
    assert.equal(byAgent['bb-phone/1.0'].current, false);
    // The listed id is not the session id inside the tokens.
    const sids = [phone, laptop].map((t) => decodeJwt(t.refresh).payload.sid);
    for (const s of body.sessions) assert.ok(!sids.includes(s.id), 'the listed id is not the token sid');
  });

  test('a token refresh moves lastUsedAt; an access token does not', async () => {
    const u = await srv.register();
    const s = await loginAs(u, 'bb-refresh');
    const first = ok(await srv.request('GET', '/user/sessions', { token: s.access }), 'sessions').sessions[0];
    assert.equal(first.lastUsedAt, first.createdAt);
    await new Promise((r) => setTimeout(r, 20));
    ok(await srv.request('GET', '/user', { token: s.access }), 'GET /user');
    const same = ok(await srv.request('GET', '/user/sessions', { token: s.access }), 'sessions').sessions[0];
    assert.equal(same.lastUsedAt, first.lastUsedAt);
    const r = await srv.request('GET', '/auth/refreshtoken', { token: s.refresh });
    assert.equal(r.status, 200, r.text);
    const after = ok(await srv.request('GET', '/user/sessions', { token: s.access }), 'sessions').sessions[0];
    assert.ok(Date.parse(after.lastUsedAt) > Date.parse(first.lastUsedAt), `${after.lastUsedAt} after ${first.lastUsedAt}`);
    assert.equal(after.createdAt, first.createdAt);
  });

  test('the login\'s client address as the trusted proxy reports it', async () => {
    const u = await srv.register();
    const l = await srv.request('POST', '/auth/login', { json: { username: u.email, password: u.password }, headers: { 'x-forwarded-for': '198.51.100.23', 'user-agent': 'bb-proxied' } });
    const a = await srv.request('GET', '/auth/accesstoken', { token: l.text });
    const [s] = ok(await srv.request('GET', '/user/sessions', { token: a.text }), 'sessions').sessions;
    assert.equal(s.ip, '198.51.100.23');
    assert.equal(s.userAgent, 'bb-proxied');
    // A User-Agent is kept to its first 256 bytes.
    const long = await loginAs(u, 'x'.repeat(300));
    const kept = ok(await srv.request('GET', '/user/sessions', { token: long.access }), 'sessions').sessions.find((x) => x.current);
    assert.equal(kept.userAgent, 'x'.repeat(256));
  });

  test('only the caller\'s own sessions', async () => {
    const a = await srv.register();
    const b = await srv.register();
    const sa = await loginAs(a, 'bb-a');
    await loginAs(b, 'bb-b');
    const list = ok(await srv.request('GET', '/user/sessions', { token: sa.access }), 'sessions').sessions;
    assert.deepEqual(list.map((s) => s.userAgent), ['bb-a']);
  });
});

describe('DELETE /user/sessions/{id}', () => {
  test('ends that session (its tokens are refused) and leaves the others', async () => {
    const u = await srv.register();
    const phone = await loginAs(u, 'bb-phone');
    const laptop = await loginAs(u, 'bb-laptop');
    const list = ok(await srv.request('GET', '/user/sessions', { token: laptop.access }), 'sessions').sessions;
    const target = list.find((s) => s.userAgent === 'bb-phone');
    assertNullBody(await srv.request('DELETE', `/user/sessions/${target.id}`, { token: laptop.access }), 'revoke');
    assertError(await srv.request('GET', '/auth/accesstoken', { token: phone.refresh }), 401, 'TOKEN_REVOKED');
    assertError(await srv.request('GET', '/user', { token: phone.access }), 401, 'TOKEN_REVOKED');
    ok(await srv.request('GET', '/user', { token: laptop.access }), 'the other session still works');
    const [e] = await auditOf(u.userId, 'session.revoked');
    assert.equal(e?.detail?.by, 'user', JSON.stringify(e));
    const left = ok(await srv.request('GET', '/user/sessions', { token: laptop.access }), 'sessions').sessions;
    assert.deepEqual(left.map((s) => s.userAgent), ['bb-laptop']);
    // Gone now: a second DELETE is a 404.
    assertError(await srv.request('DELETE', `/user/sessions/${target.id}`, { token: laptop.access }), 404, 'SESSION_NOT_FOUND');
  });

  test('the caller\'s own current session too', async () => {
    const u = await srv.register();
    const s = await loginAs(u, 'bb-self');
    const [me] = ok(await srv.request('GET', '/user/sessions', { token: s.access }), 'sessions').sessions;
    assertNullBody(await srv.request('DELETE', `/user/sessions/${me.id}`, { token: s.access }), 'revoke own');
    assertError(await srv.request('GET', '/auth/accesstoken', { token: s.refresh }), 401, 'TOKEN_REVOKED');
  });

  test('another user\'s session, an unknown id, a token sid: 404 SESSION_NOT_FOUND, and nothing ends', async () => {
    const a = await srv.register();
    const b = await srv.register();
    const sa = await loginAs(a, 'bb-a');
    const sb = await loginAs(b, 'bb-b');
    const [bs] = ok(await srv.request('GET', '/user/sessions', { token: sb.access }), 'sessions').sessions;
    assertError(await srv.request('DELETE', `/user/sessions/${bs.id}`, { token: sa.access }), 404, 'SESSION_NOT_FOUND');
    assertError(await srv.request('DELETE', '/user/sessions/AAAAAAAAAAAAAAAAAAAAAA', { token: sa.access }), 404, 'SESSION_NOT_FOUND');
    const sid = decodeJwt(sa.refresh).payload.sid;
    assertError(await srv.request('DELETE', `/user/sessions/${sid}`, { token: sa.access }), 404, 'SESSION_NOT_FOUND');
    ok(await srv.request('GET', '/user', { token: sb.access }), 'b still signed in');
    ok(await srv.request('GET', '/user', { token: sa.access }), 'a still signed in');
  });

  test('bad input: too long an id is a 400 envelope, not a 500', async () => {
    const u = await srv.register();
    const s = await loginAs(u, 'bb');
    assertError(await srv.request('DELETE', `/user/sessions/${'x'.repeat(65)}`, { token: s.access }), 400, 'params/id must NOT have more than 64 characters');
    assertError(await srv.request('DELETE', '/user/sessions/x', {}), 401, 'NO_TOKEN_PROVIDED');
  });

  test('S|A*: with 2FA on, an access token gets SUDO_TOKEN_REQUIRED and a sudo token works', async () => {
    const u = await srv.register();
    const s = await loginAs(u, 'bb-2fa');
    const setup = ok(await srv.request('POST', '/user/2fa/totp/setup', { token: s.access, json: {} }), 'totp setup');
    const totp = new Totp(otpauthSecret(setup.url));
    ok(await srv.request('POST', '/user/2fa/totp/enable', { token: s.access, json: { totp: await totp.next() } }), 'totp enable');
    const [me] = ok(await srv.request('GET', '/user/sessions', { token: s.access }), 'sessions').sessions;
    assertError(await srv.request('DELETE', `/user/sessions/${me.id}`, { token: s.access }), 401, 'SUDO_TOKEN_REQUIRED');
    const sudo = ok(await srv.request('POST', '/user/2fa/totp/authenticate', { token: s.access, json: { totp: await totp.next() } }), 'totp authenticate').sudoToken;
    assertNullBody(await srv.request('DELETE', `/user/sessions/${me.id}`, { token: sudo }), 'revoke with sudo');
  });
});

describe('DELETE /user', () => {
  test('without 2FA: an access token and the password; then the account is gone (login, tokens, sessions) and the address is free', async () => {
    const u = await srv.register();
    const s = await loginAs(u, 'bb-delete');
    const other = await loginAs(u, 'bb-delete-2');
    assertError(await srv.request('DELETE', '/user', { token: s.access }), 400, "body must have required property 'password'");
    assertError(await srv.request('DELETE', '/user', { token: s.access, json: { password: 'Wrong-Password-1' } }), 401, 'PASSWORD_INCORRECT');
    assertError(await srv.request('DELETE', '/user', { token: s.refresh, json: { password: u.password } }), 401, 'WRONG_TOKEN_TYPE');
    assertNullBody(await srv.request('DELETE', '/user', { token: s.access, json: { password: u.password } }), 'delete');
    assertError(await srv.login(u.email, u.password), 401, 'PASSWORD_INCORRECT', 'the account is gone');
    for (const t of [s.access, other.access]) assertError(await srv.request('GET', '/user', { token: t }), 401, 'TOKEN_REVOKED');
    assertError(await srv.request('GET', '/auth/accesstoken', { token: other.refresh }), 401, 'TOKEN_REVOKED');
    const again = await srv.register(u.email);
    assert.notEqual(again.userId, u.userId, 'the address can be registered again, as a new account');
  });

  test('with 2FA on: a sudo token is needed (an access token gets SUDO_TOKEN_REQUIRED, password or not)', async () => {
    const u = await srv.register();
    const s = await loginAs(u, 'bb-delete-2fa');
    const setup = ok(await srv.request('POST', '/user/2fa/totp/setup', { token: s.access, json: {} }), 'totp setup');
    const totp = new Totp(otpauthSecret(setup.url));
    ok(await srv.request('POST', '/user/2fa/totp/enable', { token: s.access, json: { totp: await totp.next() } }), 'totp enable');
    assertError(await srv.request('DELETE', '/user', { token: s.access, json: { password: u.password } }), 401, 'SUDO_TOKEN_REQUIRED');
    const sudo = ok(await srv.request('POST', '/user/2fa/totp/authenticate', { token: s.access, json: { totp: await totp.next() } }), 'totp authenticate').sudoToken;
    assertNullBody(await srv.request('DELETE', '/user', { token: sudo }), 'delete with sudo');
    assertError(await srv.login(u.email, u.password), 401, 'PASSWORD_INCORRECT', 'the account is gone');
    assertError(await srv.request('DELETE', '/user', { token: sudo }), 401, 'TOKEN_REVOKED', 'a second delete');
  });
});
