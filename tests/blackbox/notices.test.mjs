// Black-box tests of the security notices (issue 16): mail to the account's address when the
// password changes or is reset, a 2FA method is enabled or disabled, the recovery codes are
// reset or one is used, the address changes and the account is deleted, each naming the time, the client IP and what to do if
// it was not the holder, in the request's language (?language=, else Accept-Language), queued
// in the transaction of the change (a refused change sends none), and GATEHOUSE_NOTICES turning
// each off. Mail is read from a real SMTP server on loopback (./smtp.mjs).
//
// Run: make build && GATEHOUSE_BIN=$PWD/bin/gatehouse node --test tests/blackbox/notices.test.mjs

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, runCli, tempDir, uniqueEmail, assertNullBody, assertError, ok, Totp, otpauthSecret } from './lib.mjs';
import { SmtpServer } from './smtp.mjs';

const MAIL_TIMEOUT = 75000; // the outbox worker's idle poll, for a wake-up that was missed
const servers = [];
const boxes = [];

async function mailServer(extra = {}) {
  const box = new SmtpServer();
  await box.start();
  boxes.push(box);
  const srv = await startServer({ env: {
    GATEHOUSE_REGISTRATION: 'open', GATEHOUSE_MAILER: 'smtp', GATEHOUSE_SMTP_ADDR: box.addr,
    GATEHOUSE_SMTP_FROM: 'gatehouse@example.com', GATEHOUSE_DISPLAY_NAME: 'Acme', ...extra,
  } });
  servers.push(srv);
  return { srv, box };
}

let srv;
let box;
before(async () => {
  ({ srv, box } = await mailServer());
});
after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await Promise.all(boxes.map((b) => b.stop()));
});

const isTo = (addr) => (m) => m.to.some((t) => t.toLowerCase() === addr.toLowerCase());
const next = (b, addr, mark, pred = () => true) => b.waitFor((m) => m.id > mark && isTo(addr)(m) && pred(m), MAIL_TIMEOUT);

/** A notice names the time (within the minute of the change), the client IP and what to do. */
function assertNotice(m, { subject, advice, t0 }) {
  assert.match(m.subject, subject);
  assert.match(m.text, /127\.0\.0\.1/, `the client IP:\n${m.text}`);
  const stamp = m.text.match(/\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} UTC/);
  assert.ok(stamp, `a time:\n${m.text}`);
  const at = Date.parse(stamp[0]);
  assert.ok(at >= Math.floor(t0 / 1000) * 1000 - 1000 && at <= Date.now() + 1000, `the time of the change: ${stamp[0]}`);
  assert.match(m.text, advice, 'what to do if it was not them');
  assert.ok(m.html.includes('127.0.0.1'), 'the HTML part too');
}

async function session(s, email = uniqueEmail('notice')) {
  return s.newSession(...(await s.register(email).then((u) => [u.email, u.password])));
}

describe('password notices', () => {
  test('a password change mails a notice to the address, in the query\'s language', async () => {
    const u = await session(srv);
    const mark = box.lastId;
    const t0 = Date.now();
    assertNullBody(await srv.request('PUT', '/user/password/old-password?language=nl', { token: u.access, json: { oldPassword: u.password, newPassword: 'New-Password-71' } }), 'change');
    const m = await next(box, u.email, mark);
    assertNotice(m, { subject: /^Je wachtwoord voor Acme is gewijzigd$/, advice: /Was jij dit niet/, t0 });
  });

  test('Accept-Language chooses the language when the query names none; an unknown one falls back to English', async () => {
    const u = await session(srv);
    let mark = box.lastId;
    const t0 = Date.now();
    assertNullBody(await srv.request('PUT', '/user/password/old-password', { token: u.access, headers: { 'accept-language': 'de-CH, de;q=0.9, en;q=0.5' }, json: { oldPassword: u.password, newPassword: 'New-Password-72' } }), 'change (de)');
    assertNotice(await next(box, u.email, mark), { subject: /^Ihr Passwort für Acme wurde geändert$/, advice: /Wenn Sie das nicht waren/, t0 });
    mark = box.lastId;
    assertNullBody(await srv.request('PUT', '/user/password/old-password', { token: u.access, headers: { 'accept-language': 'tlh' }, json: { oldPassword: 'New-Password-72', newPassword: 'New-Password-73' } }), 'change (unknown)');
    assertNotice(await next(box, u.email, mark), { subject: /^Your Acme password was changed$/, advice: /If this was not you/, t0 });
    mark = box.lastId;
    assertNullBody(await srv.request('PUT', '/user/password/old-password?language=xx', { token: u.access, json: { oldPassword: 'New-Password-73', newPassword: 'New-Password-74' } }), 'the change is not refused for its notice');
    assertNotice(await next(box, u.email, mark), { subject: /^Your Acme password was changed$/, advice: /If this was not you/, t0 });
  });

  test('a refused change (wrong old password) sends no notice: the next mail to the address is the next change\'s', async () => {
    const u = await session(srv);
    const mark = box.lastId;
    assertError(await srv.request('PUT', '/user/password/old-password', { token: u.access, json: { oldPassword: 'Wrong-Password-1', newPassword: 'New-Password-75' } }), 401, 'PASSWORD_INCORRECT');
    assertNullBody(await srv.request('PUT', '/user/password/old-password?language=fr', { token: u.access, json: { oldPassword: u.password, newPassword: 'New-Password-75' } }), 'change');
    const m = await next(box, u.email, mark);
    assert.match(m.subject, /^Votre mot de passe Acme a changé$/, 'the first mail after the refusal is the French one');
    assert.equal(box.count((x) => x.id > mark && isTo(u.email)(x)), 1);
  });

  test('a password reset with a mailed code mails a notice, and marks the address verified', async () => {
    const u = await srv.register(uniqueEmail('notice-reset'));
    let mark = box.lastId;
    assertNullBody(await srv.request('POST', '/user/password/reset/send', { json: { email: u.email } }), 'reset send');
    const codeMail = await next(box, u.email, mark);
    const code = codeMail.text.match(/^ {4}(\d{6})/m)[1];
    mark = box.lastId;
    const t0 = Date.now();
    assertNullBody(await srv.request('PUT', '/user/password/otp?language=fr', { json: { userEmail: u.email, otp: code, newPassword: 'New-Password-76' } }), 'reset');
    assertNotice(await next(box, u.email, mark), { subject: /^Votre mot de passe Acme a été réinitialisé$/, advice: /Si ce n'était pas vous/, t0 });
    const s = await srv.newSession(u.email, 'New-Password-76');
    assert.equal(ok(await srv.request('GET', '/user', { token: s.access }), 'GET /user').emailVerified, true);
  });
});

describe('2FA notices', () => {
  test('enabling and disabling a method, resetting the recovery codes and using one: a notice each, naming the method', async () => {
    const u = await session(srv);
    let mark = box.lastId;
    const t0 = Date.now();
    const setup = ok(await srv.request('POST', '/user/2fa/totp/setup', { token: u.access, json: {} }), 'setup');
    const totp = new Totp(otpauthSecret(setup.url));
    const codes = ok(await srv.request('POST', '/user/2fa/totp/enable?language=nl', { token: u.access, json: { totp: await totp.next() } }), 'enable').recoveryCodes;
    let m = await next(box, u.email, mark);
    assertNotice(m, { subject: /^Tweestapsaanmelding ingeschakeld voor Acme$/, advice: /Was jij dit niet/, t0 });
    assert.match(m.text, /totp/, 'names the method');

    // A recovery code used at login (with the partial token).
    const partial = (await srv.login(u.email, u.password)).text;
    mark = box.lastId;
    const tokens = ok(await srv.request('POST', '/user/2fa/recovery-code/authenticate', { token: partial, json: { recoveryCode: codes[0] } }), 'recovery authenticate');
    assertNotice(await next(box, u.email, mark), { subject: /^A Acme recovery code was used$/, advice: /If this was not you/, t0 });

    mark = box.lastId;
    ok(await srv.request('POST', '/user/2fa/recovery-code/reset', { token: tokens.sudoToken, json: {}, headers: { 'accept-language': 'fr' } }), 'recovery reset');
    assertNotice(await next(box, u.email, mark), { subject: /^Nouveaux codes de récupération Acme$/, advice: /Si ce n'était pas vous/, t0 });

    mark = box.lastId;
    assertNullBody(await srv.request('DELETE', '/user/2fa/totp?language=de', { token: tokens.sudoToken }), 'disable');
    m = await next(box, u.email, mark);
    assertNotice(m, { subject: /^Zwei-Faktor-Anmeldung für Acme ausgeschaltet$/, advice: /Wenn Sie das nicht waren/, t0 });
    assert.match(m.text, /totp/, 'names the method');
  });

  test('a wrong recovery code sends no notice', async () => {
    const u = await session(srv);
    const setup = ok(await srv.request('POST', '/user/2fa/totp/setup', { token: u.access, json: {} }), 'setup');
    const totp = new Totp(otpauthSecret(setup.url));
    ok(await srv.request('POST', '/user/2fa/totp/enable', { token: u.access, json: { totp: await totp.next() } }), 'enable');
    await next(box, u.email, 0, (m) => /turned on/.test(m.subject));
    const mark = box.lastId;
    assertError(await srv.request('POST', '/user/2fa/recovery-code/authenticate', { token: u.access, json: { recoveryCode: 'AAAA-BBBB-CCCC-DDDD' } }), 401, 'RECOVERY_CODE_INVALID');
    const sudo = ok(await srv.request('POST', '/user/2fa/totp/authenticate', { token: u.access, json: { totp: await totp.next() } }), 'totp').sudoToken;
    assertNullBody(await srv.request('DELETE', '/user/2fa/totp', { token: sudo }), 'disable');
    const m = await next(box, u.email, mark);
    assert.match(m.subject, /turned off/, 'the next notice is the disable\'s, not a recovery code\'s');
  });
});

describe('address notice', () => {
  test('moving the account to a new address tells the old one, with the time and IP', async () => {
    const u = await session(srv);
    const newEmail = uniqueEmail('notice-new');
    let mark = box.lastId;
    assertNullBody(await srv.request('POST', '/user/email/initiate?language=en', { token: u.access, json: { email: newEmail } }), 'initiate');
    const code = (await next(box, newEmail, mark)).text.match(/^ {4}(\d{6})/m)[1];
    mark = box.lastId;
    const t0 = Date.now();
    assertNullBody(await srv.request('PUT', '/user/email', { token: u.access, json: { otp: code } }), 'complete');
    const m = await next(box, u.email, mark);
    assertNotice(m, { subject: /^Your Acme address was changed$/, advice: /contact support/, t0 });
    assert.ok(m.text.includes(newEmail), 'names the new address');
    const me = ok(await srv.request('GET', '/user', { token: u.access }), 'GET /user');
    assert.equal(me.email, newEmail);
    assert.equal(me.emailVerified, true, 'the code came to the new address');
  });
});

describe('account deletion notice', () => {
  test('DELETE /user mails the notice to the address it had, in the request\'s language', async () => {
    const u = await session(srv);
    const mark = box.lastId;
    const t0 = Date.now();
    assertNullBody(await srv.request('DELETE', '/user?language=de', { token: u.access, json: { password: u.password } }), 'delete');
    const m = await next(box, u.email, mark);
    assertNotice(m, { subject: /^Ihr Acme-Konto wurde gelöscht$/, advice: /wenden Sie sich sofort an den Support/, t0 });
  });
});

describe('GATEHOUSE_NOTICES', () => {
  test('a notice left out of the list is not sent; the others are', async () => {
    const own = await mailServer({ GATEHOUSE_NOTICES: 'password-reset,email-changed' });
    const u = await session(own.srv);
    const mark = own.box.lastId;
    assertNullBody(await own.srv.request('PUT', '/user/password/old-password', { token: u.access, json: { oldPassword: u.password, newPassword: 'New-Password-77' } }), 'change');
    // The next mail to the address is the reset code asked for after the change.
    assertNullBody(await own.srv.request('POST', '/user/password/reset/send', { json: { email: u.email } }), 'reset send');
    const m = await next(own.box, u.email, mark);
    assert.match(m.subject, /^Reset your Acme password$/);
    assert.equal(own.box.count((x) => x.id > mark && isTo(u.email)(x)), 1, 'no password-changed notice');
  });

  test('an unknown notice name stops the start', async () => {
    const r = await runCli(['serve'], { env: { GATEHOUSE_NOTICES: 'password-changed,bogus', GATEHOUSE_ADDR: '127.0.0.1:0', GATEHOUSE_DATA: tempDir() } });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /GATEHOUSE_NOTICES/);
  });
});
