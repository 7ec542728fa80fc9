// Black-box tests of the operators' admin API and `gatehouse user` commands (issue 15): each
// endpoint and CLI command against the serving binary, admin tokens, disabled accounts, a
// locked-out user restored by DELETE /admin/users/{id}/2fa, imported password hashes made by
// other tools, and a deletion that leaves no key of the user in the store.
// Contract: the table of `issues show 15` (spec section 6).
//
// Run: make build && GATEHOUSE_BIN=$PWD/bin/gatehouse node --test tests/blackbox/admin.test.mjs

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, scryptSync, pbkdf2Sync } from 'node:crypto';
import {
  startServer, uniqueEmail, assertError, ok, assertNullBody, decodeJwt, Totp, otpauthSecret,
  GOOD_PASSWORD, tempDir, freePort, badgerOnly, crossNode, request,
} from './lib.mjs';
import { SmtpServer } from './smtp.mjs';

const OPS = 'ops-' + randomBytes(16).toString('hex');
const SECOND = 'second-' + randomBytes(16).toString('hex');
const ADMIN_ENV = { GATEHOUSE_ADMIN_TOKEN: `ops:${OPS}, ${SECOND}`, GATEHOUSE_REGISTRATION: 'open' };

let srv;
let smtp;
before(async () => {
  smtp = new SmtpServer();
  await smtp.start();
  srv = await startServer({ env: { ...ADMIN_ENV, GATEHOUSE_MAILER: 'smtp', GATEHOUSE_SMTP_ADDR: smtp.addr } });
});
after(async () => {
  await srv?.stop();
  await smtp?.stop();
});

const admin = (method, path, opts = {}) => srv.request(method, path, { token: OPS, ...opts });
const typ = (t) => decodeJwt(t).payload.typ;

async function createUser(email = uniqueEmail('adm'), password = GOOD_PASSWORD) {
  const j = ok(await admin('POST', '/admin/users', { json: { email, password } }), 'POST /admin/users');
  assert.deepEqual(Object.keys(j), ['userId']);
  return { email, password, userId: j.userId };
}

async function show(id) {
  return ok(await admin('GET', `/admin/users/${id}`), `GET /admin/users/${id}`);
}

/** A user with TOTP active, logged in: { email, password, userId, refresh, access, totp, recoveryCodes }. */
async function totpUser() {
  const u = await srv.newSession();
  const setup = ok(await srv.request('POST', '/user/2fa/totp/setup', { token: u.access, json: {} }), 'setup');
  const totp = new Totp(setup.secret || otpauthSecret(setup.url));
  const en = ok(await srv.request('POST', '/user/2fa/totp/enable', { token: u.access, json: { totp: await totp.next() } }), 'enable');
  return { ...u, totp, recoveryCodes: en.recoveryCodes };
}

async function auditOf(userId, type) {
  const q = new URLSearchParams({ userId: String(userId), limit: '500' });
  if (type) q.set('type', type);
  return ok(await admin('GET', `/admin/audit?${q}`), 'GET /admin/audit').events;
}

describe('admin tokens', () => {
  test('missing, wrong or cookie-borne tokens get 401 INVALID_ADMIN_TOKEN; each configured token works', async () => {
    assertError(await srv.request('GET', '/admin/users'), 401, 'INVALID_ADMIN_TOKEN', 'no token');
    assertError(await srv.request('GET', '/admin/users', { token: OPS + 'x' }), 401, 'INVALID_ADMIN_TOKEN', 'wrong token');
    assertError(await srv.request('GET', '/admin/users', { token: OPS.slice(0, -1) }), 401, 'INVALID_ADMIN_TOKEN', 'prefix of a token');
    assertError(await srv.request('GET', '/admin/users', { token: `ops:${OPS}` }), 401, 'INVALID_ADMIN_TOKEN', 'the name is not part of the secret');
    assertError(await srv.request('GET', '/admin/users', { headers: { cookie: `id_token=${OPS}` } }), 401, 'INVALID_ADMIN_TOKEN', 'cookie');
    const u = await srv.newSession();
    assertError(await srv.request('GET', '/admin/users', { token: u.access }), 401, 'INVALID_ADMIN_TOKEN', "a user's access token");
    ok(await srv.request('GET', '/admin/users', { token: OPS }), 'named token');
    ok(await srv.request('GET', '/admin/users', { token: SECOND }), 'unnamed token');
  });

  test('the actor of an admin action is the token id: its name, or the first 8 hex digits of its SHA-256', async () => {
    const { createHash } = await import('node:crypto');
    const a = await createUser();
    const b = ok(await srv.request('POST', '/admin/users', { token: SECOND, json: { email: uniqueEmail('adm'), password: GOOD_PASSWORD } }), 'create');
    const [ea] = await auditOf(a.userId, 'account.created');
    assert.equal(ea.actor, 'admin:ops');
    const [eb] = await auditOf(b.userId, 'account.created');
    assert.equal(eb.actor, 'admin:' + createHash('sha256').update(SECOND).digest('hex').slice(0, 8));
  });

  test('no admin token configured: /admin/ does not exist (404) and /openapi.json does not list it; with one it does', async () => {
    const plain = await startServer({ env: { GATEHOUSE_REGISTRATION: 'open' } });
    try {
      for (const [m, p] of [['GET', '/admin/users'], ['GET', '/admin/users/1'], ['DELETE', '/admin/users/1/2fa'], ['GET', '/admin/audit']]) {
        const r = await plain.request(m, p, { token: OPS });
        assertError(r, 404, `Route ${m}:${p} not found`, `${m} ${p}`);
      }
      const bare = ok(await plain.request('GET', '/openapi.json'), 'openapi without a token');
      assert.deepEqual(Object.keys(bare.paths).filter((p) => p.startsWith('/admin/')), [], 'no admin path documented');
      const doc = ok(await srv.request('GET', '/openapi.json'), 'openapi with a token');
      for (const p of ['/admin/users', '/admin/users/{id}', '/admin/users/{id}/disable', '/admin/users/{id}/enable', '/admin/users/{id}/2fa',
        '/admin/users/{id}/sessions', '/admin/users/{id}/limits', '/admin/audit']) {
        assert.ok(doc.paths[p], `${p} in the OpenAPI document`);
      }
      assert.deepEqual(doc.paths['/admin/users/{id}'].delete.security, [{ admin: [] }]);
    } finally {
      await plain.stop();
    }
  });

  test('GATEHOUSE_ADMIN_ADDR: the admin API only there, and only the admin API there', badgerOnly('the two nodes of one machine cannot bind one GATEHOUSE_ADMIN_ADDR'), async () => {
    const port = await freePort();
    const s = await startServer({ env: { ...ADMIN_ENV, GATEHOUSE_ADMIN_ADDR: `127.0.0.1:${port}` } });
    try {
      assertError(await s.request('GET', '/admin/users', { token: OPS }), 404, 'Route GET:/admin/users not found', 'main listener');
      const adminURL = `http://127.0.0.1:${port}`;
      ok(await request(adminURL, 'GET', '/admin/users', { token: OPS }), 'admin listener');
      assertError(await request(adminURL, 'GET', '/admin/users'), 401, 'INVALID_ADMIN_TOKEN', 'admin listener, no token');
      assertError(await request(adminURL, 'GET', '/healthz'), 404, 'Route GET:/healthz not found', 'other routes on the admin listener');
      ok(await s.request('GET', '/healthz'), 'main listener serves the rest');
    } finally {
      await s.stop();
    }
  });
});

describe('users', () => {
  test('POST /admin/users: 200 {userId}; 409 EMAIL_ALREADY_IN_USE in any case; 400 for bad bodies', async () => {
    const u = await createUser();
    assertError(await admin('POST', '/admin/users', { json: { email: u.email.toUpperCase(), password: GOOD_PASSWORD } }), 409, 'EMAIL_ALREADY_IN_USE', 'duplicate');
    assertError(await admin('POST', '/admin/users', { json: { email: uniqueEmail(), password: GOOD_PASSWORD, passwordHash: '$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW' } }),
      400, "body must have exactly one of 'password' and 'passwordHash'", 'both');
    assertError(await admin('POST', '/admin/users', { json: { email: uniqueEmail() } }), 400, "body must have exactly one of 'password' and 'passwordHash'", 'neither');
    assertError(await admin('POST', '/admin/users', { json: { email: uniqueEmail(), passwordHash: '$1$md5$notsupported' } }), 400, 'UNSUPPORTED_PASSWORD_HASH', 'md5-crypt');
    assertError(await admin('POST', '/admin/users', { json: { email: 'not-an-address', password: GOOD_PASSWORD } }), 400, 'body/email must match format "email"', 'email');
    assertError(await admin('POST', '/admin/users', { json: { email: uniqueEmail(), password: 'short' } }), 400, /./, 'the password policy');
    const l = await srv.login(u.email, u.password);
    assert.equal(l.status, 200, l.text);
  });

  test('GET /admin/users: exact address (case-insensitive), prefix, pages with a cursor', async () => {
    const tag = 'list-' + randomBytes(4).toString('hex');
    const made = [];
    for (let i = 0; i < 5; i++) made.push(await createUser(`${tag}-${i}@example.com`));
    const exact = ok(await admin('GET', `/admin/users?email=${encodeURIComponent(made[2].email.toUpperCase())}`), 'exact');
    assert.deepEqual(exact.users.map((u) => u.userId), [made[2].userId]);
    assert.equal(exact.next, null);
    const u0 = exact.users[0];
    assert.deepEqual(Object.keys(u0).sort(), ['createdAt', 'disabled', 'email', 'lastLoginAt', 'methods', 'userId']);
    assert.equal(u0.disabled, false);
    assert.deepEqual(u0.methods, []);
    assert.equal(u0.lastLoginAt, null);
    const seen = [];
    let cursor = null;
    for (let page = 0; page < 10; page++) {
      const q = new URLSearchParams({ email: tag.toUpperCase(), limit: '2' });
      if (cursor) q.set('cursor', cursor);
      const j = ok(await admin('GET', `/admin/users?${q}`), `page ${page}`);
      assert.ok(j.users.length <= 2);
      seen.push(...j.users.map((u) => u.email));
      cursor = j.next;
      if (!cursor) break;
    }
    assert.deepEqual(seen, made.map((u) => u.email), 'every account of the prefix once, in address order');
    // The whole listing pages through every account too.
    const all = [];
    cursor = null;
    for (;;) {
      const j = ok(await admin('GET', `/admin/users?limit=3${cursor ? `&cursor=${cursor}` : ''}`), 'all');
      all.push(...j.users.map((u) => u.userId));
      if (!(cursor = j.next)) break;
    }
    for (const u of made) assert.ok(all.includes(u.userId), `${u.email} in the whole listing`);
    assert.equal(new Set(all).size, all.length, 'no account twice');
    assertError(await admin('GET', '/admin/users?cursor=garbage!'), 400, 'INVALID_CURSOR', 'bad cursor');
    assertError(await admin('GET', '/admin/users?limit=0'), 400, 'querystring/limit must match pattern "^[1-9][0-9]{0,3}$"', 'limit 0');
  });

  test('GET /admin/users/{id}: the account, sessions and throttles; 404 USER_NOT_FOUND for an unknown or bad id', async () => {
    const u = await createUser();
    await srv.newSession(u.email, u.password);
    await srv.newSession(u.email, u.password);
    const d = await show(u.userId);
    assert.equal(d.userId, u.userId);
    assert.equal(d.email, u.email);
    assert.equal(d.sessions, 2);
    assert.deepEqual(d.throttles, []);
    assert.ok(Date.parse(d.lastLoginAt) > Date.parse(d.createdAt), 'lastLoginAt after createdAt');
    for (const id of ['999999999', '0', 'abc', '-1', '1.5']) {
      assertError(await admin('GET', `/admin/users/${id}`), 404, 'USER_NOT_FOUND', id);
      assertError(await admin('DELETE', `/admin/users/${id}/sessions`), 404, 'USER_NOT_FOUND', id);
    }
  });

  test('disable: sessions revoked, a wrong password answers as for any account, only the right one learns 403 ACCOUNT_DISABLED; enable', async () => {
    const u = await createUser();
    const s = await srv.newSession(u.email, u.password);
    assertNullBody(await admin('POST', `/admin/users/${u.userId}/disable`), 'disable');
    await crossNode('session revoked', async () => assertError(await srv.request('GET', '/auth/refreshtoken/validate', { token: s.refresh }), 401, 'TOKEN_REVOKED', 'refresh after disable'));
    assertError(await srv.login(u.email, 'Wrong-Password-1'), 401, 'PASSWORD_INCORRECT', 'wrong password');
    assertError(await srv.login(uniqueEmail(), 'Wrong-Password-1'), 401, 'PASSWORD_INCORRECT', 'unknown account');
    assertError(await srv.login(u.email, u.password), 403, 'ACCOUNT_DISABLED', 'right password');
    assert.equal((await show(u.userId)).disabled, true);
    assertNullBody(await admin('POST', `/admin/users/${u.userId}/enable`), 'enable');
    assert.equal((await show(u.userId)).disabled, false);
    const l = await srv.login(u.email, u.password);
    assert.equal(l.status, 200, l.text);
    assertError(await admin('POST', '/admin/users/999999999/disable'), 404, 'USER_NOT_FOUND', 'unknown');
  });

  test('a locked-out user (TOTP on, phone and recovery codes lost) is restored by DELETE /admin/users/{id}/2fa, and told by mail', async () => {
    const u = await totpUser();
    const partial = await srv.login(u.email, u.password);
    assert.equal(typ(partial.text), 'partial', 'before: a partial token');
    assert.deepEqual((await show(u.userId)).methods, ['totp']);
    const mark = smtp.lastId;
    assertNullBody(await admin('DELETE', `/admin/users/${u.userId}/2fa`), 'reset 2FA');
    assert.deepEqual((await show(u.userId)).methods, []);
    const l = await srv.login(u.email, u.password);
    assert.equal(l.status, 200, l.text);
    assert.equal(typ(l.text), 'refresh', 'after: a refresh token: the user is in');
    const a = await srv.request('GET', '/auth/accesstoken', { token: l.text });
    assert.equal(a.status, 200, a.text);
    const status = await crossNode('2FA status', async () => {
      const st = ok(await srv.request('GET', '/user/2fa', { token: a.text }), 'GET /user/2fa');
      assert.equal(st.enabled, false);
      return st;
    });
    assert.equal(status.recoveryCodes, undefined, 'no recovery codes left');
    assertError(await srv.request('POST', '/user/2fa/recovery-code/authenticate', { token: a.text, json: { recoveryCode: u.recoveryCodes[0] } }), 409, 'RECOVERY_CODES_UNINITIALIZED', 'old codes');
    // The 2FA-enabled notice of the setup may arrive after the mark too (the outbox delivers
    // in the background): wait for the reset's own notice.
    const m = await smtp.waitFor((x) => x.id > mark && x.to.some((t) => t.toLowerCase() === u.email.toLowerCase()) &&
      /Two-factor authentication of your .* account was turned off/.test(x.subject), 75000);
    assert.match(m.subject, /Two-factor authentication of your .* account was turned off/);
    assert.ok(m.text.includes(u.email), 'the notice names the account');
    const [ev] = await auditOf(u.userId, '2fa.reset');
    assert.equal(ev.actor, 'admin:ops');
    assert.equal(ev.detail.methods, 'totp');
  });

  test('DELETE /admin/users/{id}/sessions revokes every session', async () => {
    const u = await createUser();
    const s1 = await srv.newSession(u.email, u.password);
    const s2 = await srv.newSession(u.email, u.password);
    assertNullBody(await admin('DELETE', `/admin/users/${u.userId}/sessions`), 'revoke');
    for (const [t, path] of [[s1.refresh, '/auth/refreshtoken/validate'], [s2.refresh, '/auth/refreshtoken/validate'], [s1.access, '/auth/accesstoken/validate']]) {
      await crossNode('revoked', async () => assertError(await srv.request('GET', path, { token: t }), 401, 'TOKEN_REVOKED', `${path} after revoke`));
    }
    assert.equal((await show(u.userId)).sessions, 0);
  });

  test('DELETE /admin/users/{id}/limits clears the guess counters', async () => {
    const u = await createUser();
    for (let i = 0; i < 6; i++) await srv.login(u.email, 'Wrong-Password-' + i);
    const d = await show(u.userId);
    const pw = d.throttles.find((t) => t.factor === 'password');
    assert.ok(pw, `password throttle: ${JSON.stringify(d.throttles)}`);
    assert.equal(pw.failures, 6);
    assert.ok(pw.wait >= 1, `a wait: ${pw.wait}`);
    assertError(await srv.login(u.email, u.password), 429, 'TOO_MANY_FAILED_PASSWORD_CHECKS', 'throttled');
    assertNullBody(await admin('DELETE', `/admin/users/${u.userId}/limits`), 'clear');
    assert.deepEqual((await show(u.userId)).throttles, []);
    const l = await srv.login(u.email, u.password);
    assert.equal(l.status, 200, l.text);
  });
});

// Hashes made by other tools: the Argon2 reference implementation (its test vector), Openwall's
// crypt_blowfish (bcrypt test vectors), and Node's OpenSSL (scrypt, PBKDF2) at test time.
function importedHashes() {
  const b64 = (b) => Buffer.from(b).toString('base64').replace(/=+$/, '');
  const salt = randomBytes(16);
  const scryptHash = `$scrypt$ln=14,r=8,p=1$${b64(salt)}$${b64(scryptSync('Scrypt-Pass-1', salt, 32, { N: 1 << 14, r: 8, p: 1 }))}`;
  const pbkdf2Hash = `$pbkdf2-sha256$i=100000,l=32$${b64(salt)}$${b64(pbkdf2Sync('Pbkdf2-Pass-1', salt, 100000, 32, 'sha256'))}`;
  const passlib = `$pbkdf2-sha256$29000$${b64(salt).replaceAll('+', '.')}$${b64(pbkdf2Sync('Passlib-Pass-1', salt, 29000, 32, 'sha256')).replaceAll('+', '.')}`;
  return [
    { scheme: 'argon2id', hash: '$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc', password: 'password' },
    { scheme: 'argon2i', hash: '$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG', password: 'password' },
    { scheme: 'bcrypt', hash: '$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW', password: 'U*U' },
    { scheme: 'bcrypt', hash: '$2b$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a', password: 'U*U*U' },
    { scheme: 'bcrypt', hash: '$2y$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK', password: 'U*U*' },
    { scheme: 'scrypt', hash: scryptHash, password: 'Scrypt-Pass-1' },
    { scheme: 'pbkdf2-sha256', hash: pbkdf2Hash, password: 'Pbkdf2-Pass-1' },
    { scheme: 'pbkdf2-sha256', hash: passlib, password: 'Passlib-Pass-1' },
  ];
}

describe('imported password hashes', () => {
  test('argon2id, argon2i, bcrypt ($2a$ $2b$ $2y$), scrypt and PBKDF2-SHA256 hashes log in once and are rehashed to argon2id', async () => {
    for (const h of importedHashes()) {
      const email = uniqueEmail('imp');
      const j = ok(await admin('POST', '/admin/users', { json: { email, passwordHash: h.hash } }), `import ${h.scheme}`);
      const [imported] = await auditOf(j.userId, 'account.imported');
      assert.equal(imported.detail.hash, h.scheme);
      assertError(await srv.login(email, h.password + 'x'), 401, 'PASSWORD_INCORRECT', `${h.scheme}: wrong password`);
      const l = await srv.login(email, h.password);
      assert.equal(l.status, 200, `${h.scheme}: ${l.text}`);
      const [rehashed] = await auditOf(j.userId, 'password.rehashed');
      assert.ok(rehashed, `${h.scheme}: rehashed at the login`);
      assert.equal(rehashed.detail.from, h.scheme);
      const again = await srv.login(email, h.password);
      assert.equal(again.status, 200, `${h.scheme} second login: ${again.text}`);
      assert.equal((await auditOf(j.userId, 'password.rehashed')).length, 1, `${h.scheme}: rehashed once, then argon2id`);
    }
  });
});

/** The records of a dump (core/store/dump.go): [{ key, value }]. */
function readDump(buf) {
  const magic = 'GATEHOUSE-DUMP\n';
  assert.equal(buf.subarray(0, magic.length).toString(), magic);
  let i = magic.length + 1;
  const uvarint = () => {
    let x = 0n;
    let s = 0n;
    for (;;) {
      const b = buf[i++];
      x |= BigInt(b & 0x7f) << s;
      if (b < 0x80) return Number(x);
      s += 7n;
    }
  };
  const out = [];
  while (buf[i] === 0x52) { // 'R'
    i++;
    const kl = uvarint();
    const key = buf.subarray(i, i + kl).toString('latin1');
    i += kl;
    const vl = uvarint();
    const value = buf.subarray(i, i + vl).toString('latin1');
    i += vl;
    uvarint(); // expiry (zigzag varint)
    out.push({ key, value });
  }
  assert.equal(buf[i], 0x45, 'end record'); // 'E'
  return out;
}

describe('DELETE /admin/users/{id}', () => {
  test('the account and everything of it are gone: no key of the user is left in the store (a backup scanned)', async () => {
    const u = await totpUser();
    for (let i = 0; i < 3; i++) await srv.login(u.email, 'Wrong-Password-' + i); // guess counters
    ok(await srv.request('POST', '/user/password/reset/send', { json: { email: u.email } }), 'a pending reset code');
    const before = await show(u.userId);
    assert.ok(before.sessions >= 1);
    assertNullBody(await admin('DELETE', `/admin/users/${u.userId}`), 'delete');
    assertError(await admin('GET', `/admin/users/${u.userId}`), 404, 'USER_NOT_FOUND', 'after delete');
    assertError(await admin('DELETE', `/admin/users/${u.userId}`), 404, 'USER_NOT_FOUND', 'deleted twice');
    await crossNode('session gone', async () => assertError(await srv.request('GET', '/auth/refreshtoken/validate', { token: u.refresh }), 401, 'TOKEN_REVOKED', 'old session'));
    assertError(await srv.login(u.email, u.password), 401, 'PASSWORD_INCORRECT', 'login after delete');
    const [ev] = await auditOf(u.userId, 'account.deleted');
    assert.equal(ev.actor, 'admin:ops');

    const file = join(tempDir('gatehouse-admin-dump-'), 'dump');
    const b = await srv.cli(['backup', file]);
    assert.equal(b.code, 0, b.stderr);
    const id = String(u.userId);
    const leftovers = readDump(readFileSync(file)).filter(({ key, value }) => {
      if (key.startsWith('v1/audit/') || key.startsWith('v1/audituser/')) return false; // the record of what happened is kept
      const segs = key.split('/');
      const bucket = segs[1]?.endsWith('-unknown'); // shared records of hashed unknown subjects
      return (!bucket && segs.includes(id)) || key.toLowerCase().includes(u.email.toLowerCase()) ||
        value.includes(`"userId":${id},`) || value.toLowerCase().includes(u.email.toLowerCase());
    });
    assert.deepEqual(leftovers.map((r) => r.key), [], 'keys of the deleted user');
    // The address is free again.
    await createUser(u.email);
  });
});

describe('gatehouse user (the CLI, against the running server)', () => {
  const cli = (args, opts) => srv.cli(['user', ...args], opts);

  test('create, list, show, disable, enable, revoke-sessions, clear-limits, reset-2fa and delete through the admin socket', async () => {
    const email = uniqueEmail('cli');
    const c = await cli(['create', '--email', email], { input: GOOD_PASSWORD + '\n' });
    assert.equal(c.code, 0, c.stderr);
    const id = Number(/created user (\d+)/.exec(c.stdout)[1]);
    const list = await cli(['list', '--email', email]);
    assert.equal(list.code, 0, list.stderr);
    const rows = list.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(rows.map((r) => r.userId), [id]);
    const s = await srv.newSession(email, GOOD_PASSWORD);
    const sh = await cli(['show', String(id)]);
    assert.equal(sh.code, 0, sh.stderr);
    assert.equal(JSON.parse(sh.stdout).sessions, 1);
    for (const cmd of ['disable', 'enable', 'revoke-sessions', 'clear-limits', 'reset-2fa']) {
      const r = await cli([cmd, String(id)]);
      assert.equal(r.code, 0, `${cmd}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`${cmd}: done`));
    }
    await crossNode('revoked', async () => assertError(await srv.request('GET', '/auth/refreshtoken/validate', { token: s.refresh }), 401, 'TOKEN_REVOKED', 'after the CLI'));
    const types = (await auditOf(id)).map((e) => e.type);
    for (const t of ['account.created', 'account.disabled', 'account.enabled', 'sessions.revoked', 'limits.cleared', '2fa.reset']) {
      assert.ok(types.includes(t), `${t} in ${types}`);
    }
    assert.ok((await auditOf(id, 'account.disabled'))[0].actor === 'socket', 'the socket is the actor');
    const d = await cli(['delete', String(id)]);
    assert.equal(d.code, 0, d.stderr);
    const gone = await cli(['show', String(id)]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /404 USER_NOT_FOUND/);
    const bad = await cli(['show', 'abc']);
    assert.equal(bad.code, 2);
  });

  test('import FILE of JSON lines, with passwords and hashes; a bad line fails alone', async () => {
    const dir = tempDir('gatehouse-import-');
    const hashes = importedHashes();
    const users = hashes.map((h) => ({ email: uniqueEmail('import'), passwordHash: h.hash, password: h.password }));
    const plain = { email: uniqueEmail('import'), password: GOOD_PASSWORD };
    const lines = [...users.map(({ email, passwordHash }) => JSON.stringify({ email, passwordHash })), '', JSON.stringify(plain),
      '{not json', JSON.stringify({ email: users[0].email, password: GOOD_PASSWORD })];
    const file = join(dir, 'users.jsonl');
    writeFileSync(file, lines.join('\n') + '\n');
    const r = await cli(['import', file]);
    assert.equal(r.code, 1, 'a failed line fails the command');
    assert.match(r.stdout, new RegExp(`${users.length + 1} created, 2 failed`));
    assert.match(r.stderr, /line \d+: not a JSON object/);
    assert.match(r.stderr, /409 EMAIL_ALREADY_IN_USE/);
    for (const u of [...users, plain]) {
      const l = await srv.login(u.email, u.password);
      assert.equal(l.status, 200, `${u.email}: ${l.text}`);
    }
  });

  test('--url and --token (or GATEHOUSE_ADMIN_TOKEN) instead of the socket; a wrong token fails', async () => {
    const u = await createUser();
    const byURL = await cli(['show', String(u.userId), '--url', srv.url, '--token', SECOND]);
    assert.equal(byURL.code, 0, byURL.stderr);
    assert.equal(JSON.parse(byURL.stdout).email, u.email);
    const byEnv = await cli(['list', '--url', srv.url, '--email', u.email]);
    assert.equal(byEnv.code, 0, byEnv.stderr);
    assert.equal(JSON.parse(byEnv.stdout.trim()).userId, u.userId);
    const wrong = await cli(['show', String(u.userId), '--url', srv.url, '--token', 'nope']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /401 INVALID_ADMIN_TOKEN/);
  });
});
