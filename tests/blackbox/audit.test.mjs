// Black-box tests of the audit log (issue 15): the events of each flow, written with the change
// they describe, with the client IP of the trusted-proxy rule, the User-Agent and the request
// id; the query (userId, type, since, cursor); the "gatehouse.audit" log line; never a secret.
// Contract: the audit section of `issues show 15`.
//
// Run: make build && GATEHOUSE_BIN=$PWD/bin/gatehouse node --test tests/blackbox/audit.test.mjs

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startServer, uniqueEmail, assertError, ok, Totp, otpauthSecret, GOOD_PASSWORD, sleep } from './lib.mjs';

const TOKEN = 'audit-' + randomBytes(16).toString('hex');

let direct; // no trusted proxy: the client is the TCP peer
let proxied; // 127.0.0.1 is a trusted proxy: its X-Forwarded-For names the client
before(async () => {
  // The gatehouse.audit lines are at info (the suite's default level is warn).
  const env = { GATEHOUSE_ADMIN_TOKEN: `auditor:${TOKEN}`, GATEHOUSE_REGISTRATION: 'open', GATEHOUSE_LOG_LEVEL: 'info' };
  [direct, proxied] = await Promise.all([
    startServer({ env }),
    startServer({ env: { ...env, GATEHOUSE_TRUSTED_PROXIES: '127.0.0.1/32,::1' } }),
  ]);
});
after(async () => {
  await Promise.all([direct?.stop(), proxied?.stop()]);
});

async function events(srv, query) {
  const r = await srv.request('GET', `/admin/audit?${new URLSearchParams({ limit: '500', ...query })}`, { token: TOKEN });
  return ok(r, 'GET /admin/audit');
}

const ofUser = async (srv, userId, type) => (await events(srv, { userId: String(userId), ...(type ? { type } : {}) })).events;

function login(srv, username, password, headers = {}) {
  return srv.request('POST', '/auth/login', { json: { username, password }, headers });
}

describe('client address, User-Agent and request id', () => {
  test('without a trusted proxy the event has the TCP peer, whatever X-Forwarded-For says', async () => {
    const u = await direct.register();
    const rid = 'audit-rid-' + randomBytes(4).toString('hex');
    const l = await login(direct, u.email, u.password, { 'x-forwarded-for': '198.51.100.9', 'user-agent': 'bb-audit/1.0', 'x-request-id': rid });
    assert.equal(l.status, 200, l.text);
    const [e] = await ofUser(direct, u.userId, 'login.succeeded');
    assert.equal(e.ip, '127.0.0.1');
    assert.equal(e.userAgent, 'bb-audit/1.0');
    assert.equal(e.requestId, rid);
    assert.equal(e.outcome, 'success');
    assert.equal(e.userId, u.userId);
    assert.ok(Math.abs(Date.parse(e.time) - Date.now()) < 60000, e.time);
    assert.equal(e.actor, undefined, 'the user acted: no actor');
  });

  test('behind a trusted proxy the event has the client its X-Forwarded-For names', async () => {
    const u = await proxied.register();
    const l = await login(proxied, u.email, u.password, { 'x-forwarded-for': '203.0.113.7, 127.0.0.1', 'user-agent': 'bb-audit/2.0' });
    assert.equal(l.status, 200, l.text);
    const w = await login(proxied, u.email, 'Wrong-Password-1', { 'x-forwarded-for': '2001:db8::7' });
    assert.equal(w.status, 401);
    const [s] = await ofUser(proxied, u.userId, 'login.succeeded');
    assert.equal(s.ip, '203.0.113.7');
    assert.equal(s.userAgent, 'bb-audit/2.0');
    const [f] = await ofUser(proxied, u.userId, 'login.failed');
    assert.equal(f.ip, '2001:db8::7');
    const [created] = await ofUser(proxied, u.userId, 'account.created');
    assert.equal(created.ip, '127.0.0.1', 'no X-Forwarded-For: the proxy itself');
  });
});

describe('events of each flow', () => {
  test('logins: succeeded, failed, throttled once per wait, disabled; unknown names only in the log', async () => {
    const u = await direct.register();
    for (let i = 0; i < 6; i++) assert.equal((await login(direct, u.email, 'Wrong-Password-' + i)).status, 401);
    for (let i = 0; i < 3; i++) assert.equal((await login(direct, u.email, u.password)).status, 429);
    const evs = await ofUser(direct, u.userId);
    assert.equal(evs.filter((e) => e.type === 'login.failed').length, 6);
    const throttled = evs.filter((e) => e.type === 'login.throttled');
    assert.equal(throttled.length, 1, 'one event for the refusals of one wait');
    assert.equal(throttled[0].outcome, 'throttled');
    await sleep(1100); // the wait after the 6th failure is 1 s
    assert.equal((await login(direct, u.email, u.password)).status, 200);
    ok(await direct.request('POST', `/admin/users/${u.userId}/disable`, { token: TOKEN }), 'disable');
    assert.equal((await login(direct, u.email, u.password)).status, 403);
    const after = await ofUser(direct, u.userId);
    assert.deepEqual(after.slice(-3).map((e) => `${e.type}/${e.outcome}`), ['login.succeeded/success', 'account.disabled/success', 'login.disabled/refused']);
    assert.equal(after.at(-2).actor, 'admin:auditor');
    const unknown = uniqueEmail('nobody');
    assert.equal((await login(direct, unknown, 'Wrong-Password-1')).status, 401);
    await sleep(100);
    assert.match(direct.logs, /gatehouse\.audit.*type=login\.failed.*detail_account=unknown/);
    assert.ok(!direct.logs.includes(unknown), 'the unknown name is not logged');
  });

  test('2FA: enabled, failed, verified, recovery code used and reset, throttled, disabled; password changed; logout', async () => {
    const u = await direct.newSession();
    const setup = ok(await direct.request('POST', '/user/2fa/totp/setup', { token: u.access, json: {} }), 'setup');
    const totp = new Totp(setup.secret || otpauthSecret(setup.url));
    const en = ok(await direct.request('POST', '/user/2fa/totp/enable', { token: u.access, json: { totp: await totp.next() } }), 'enable');
    const partial = (await login(direct, u.email, u.password)).text;
    assert.equal((await direct.request('POST', '/user/2fa/totp/authenticate', { token: partial, json: { totp: totp.wrongCode() } })).status, 401);
    const auth = ok(await direct.request('POST', '/user/2fa/totp/authenticate', { token: partial, json: { totp: await totp.next() } }), 'authenticate');
    const partial2 = (await login(direct, u.email, u.password)).text;
    ok(await direct.request('POST', '/user/2fa/recovery-code/authenticate', { token: partial2, json: { recoveryCode: en.recoveryCodes[0] } }), 'recovery');
    assert.equal((await direct.request('POST', '/user/2fa/recovery-code/authenticate', { token: partial2, json: { recoveryCode: 'AAAABBBBCCCCDDDD' } })).status, 401);
    ok(await direct.request('POST', '/user/2fa/recovery-code/reset', { token: auth.sudoToken, json: {} }), 'recovery reset');
    const change = await direct.request('PUT', '/user/password/old-password', { token: auth.sudoToken, json: { oldPassword: u.password, newPassword: 'New-' + GOOD_PASSWORD } });
    assert.equal(change.status, 200, change.text);
    assert.equal((await direct.request('DELETE', '/user/2fa/totp', { token: auth.sudoToken })).status, 200);
    assert.equal((await direct.request('POST', '/auth/logout', { token: auth.refreshToken })).status, 204);
    const types = (await ofUser(direct, u.userId)).map((e) => `${e.type}/${e.outcome}`);
    for (const t of ['account.created/success', '2fa.enabled/success', '2fa.failed/failure', '2fa.verified/success', 'recovery-code.used/success',
      'recovery-code.failed/failure', 'recovery-codes.reset/success', 'password.changed/success', '2fa.disabled/success', 'session.revoked/success']) {
      assert.ok(types.includes(t), `${t} in ${types.join(' ')}`);
    }
    const [enabled] = await ofUser(direct, u.userId, '2fa.enabled');
    assert.equal(enabled.detail.method, 'totp');
    // The family filter.
    const fam = (await ofUser(direct, u.userId, '2fa.*')).map((e) => e.type);
    assert.deepEqual([...new Set(fam)].sort(), ['2fa.disabled', '2fa.enabled', '2fa.failed', '2fa.verified']);
    // Never a secret: no password, code or token in any event.
    const all = JSON.stringify(await ofUser(direct, u.userId));
    for (const secret of [u.password, 'New-' + GOOD_PASSWORD, en.recoveryCodes[0], partial, auth.sudoToken, auth.refreshToken, setup.secret].filter(Boolean)) {
      assert.ok(!all.includes(secret), 'a secret in the audit log');
    }
    assert.ok(!direct.logs.includes(en.recoveryCodes[1]), 'a secret in the log');
  });

  test('2FA throttled: one event for the refusals of one wait', async () => {
    const u = await direct.newSession();
    const setup = ok(await direct.request('POST', '/user/2fa/totp/setup', { token: u.access, json: {} }), 'setup');
    const totp = new Totp(setup.secret || otpauthSecret(setup.url));
    ok(await direct.request('POST', '/user/2fa/totp/enable', { token: u.access, json: { totp: await totp.next() } }), 'enable');
    const partial = (await login(direct, u.email, u.password)).text;
    const statuses = [];
    for (let i = 0; i < 9; i++) statuses.push((await direct.request('POST', '/user/2fa/totp/authenticate', { token: partial, json: { totp: totp.wrongCode() } })).status);
    assert.ok(statuses.filter((s) => s === 429).length >= 2, `refusals: ${statuses}`);
    assert.equal((await ofUser(direct, u.userId, '2fa.throttled')).length, 1);
  });
});

describe('operator events', () => {
  test('a key rotation through the running server is recorded with the actor socket', async () => {
    const r = await direct.cli(['keys', 'rotate']);
    assert.equal(r.code, 0, r.stderr);
    const kid = /signing with (\S+);/.exec(r.stdout)[1];
    const evs = (await events(direct, { type: 'keys.rotated' })).events;
    const e = evs.find((x) => x.detail?.kid === kid);
    assert.ok(e, `the rotation's event: ${JSON.stringify(evs)}`);
    assert.equal(e.actor, 'socket');
    assert.equal(e.userId, undefined);
  });
});

describe('the query', () => {
  test('userId, type, since and cursor pages; 400 for a bad cursor or time; admin token required', async () => {
    const u = await direct.register();
    for (let i = 0; i < 5; i++) await login(direct, u.email, 'Wrong-Password-' + i);
    const evs = await ofUser(direct, u.userId, 'login.failed');
    assert.equal(evs.length, 5);
    const ids = evs.map((e) => e.id);
    assert.deepEqual([...ids].sort(), ids, 'oldest first');
    const paged = [];
    let cursor;
    for (;;) {
      const j = await events(direct, { userId: String(u.userId), type: 'login.failed', limit: '2', ...(cursor ? { cursor } : {}) });
      paged.push(...j.events.map((e) => e.id));
      if (!(cursor = j.next)) break;
    }
    assert.deepEqual(paged, ids);
    const since = (await events(direct, { userId: String(u.userId), since: evs[3].time })).events.map((e) => e.id);
    assert.deepEqual(since, ids.slice(3));
    const global = (await events(direct, { type: 'login.failed', since: evs[0].time })).events.map((e) => e.id);
    for (const id of ids) assert.ok(global.includes(id), 'the global listing has them too');
    assertError(await direct.request('GET', '/admin/audit?cursor=nope', { token: TOKEN }), 400, 'INVALID_CURSOR');
    assertError(await direct.request('GET', '/admin/audit?since=yesterday', { token: TOKEN }), 400, 'querystring/since must be an RFC 3339 time');
    assertError(await direct.request('GET', '/admin/audit?userId=abc', { token: TOKEN }), 400, 'querystring/userId must match pattern "^[1-9][0-9]{0,19}$"');
    assertError(await direct.request('GET', '/admin/audit'), 401, 'INVALID_ADMIN_TOKEN');
  });

  test('each event is also a gatehouse.audit log line', async () => {
    const u = await direct.register();
    await login(direct, u.email, u.password);
    const [e] = await ofUser(direct, u.userId, 'login.succeeded');
    await sleep(100);
    const line = direct.logs.split('\n').find((l) => l.includes(`event_id=${e.id}`));
    assert.ok(line, 'the log line of the event');
    assert.match(line, /gatehouse\.audit/);
    assert.match(line, /type=login\.succeeded/);
    assert.match(line, new RegExp(`user=${u.userId}\\b`));
    assert.match(line, /client=127\.0\.0\.1/);
  });
});
