// Black-box tests of the optional email verification (issue 16): GATEHOUSE_VERIFY_EMAIL=required
// mails a 6-digit code at registration; until it comes back (POST /user/email/verify) login
// answers 403 EMAIL_NOT_VERIFIED after the right password only; POST /user/email/verify/send
// mails a new code under the send limiter. The holder has no token yet, so both take the
// address in the body instead (answering as the reset endpoints do: the same for every
// address); with an access token they work on the token's account. Mail from ./smtp.mjs.
//
// Run: make build && GATEHOUSE_BIN=$PWD/bin/gatehouse node --test tests/blackbox/verify.test.mjs

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, uniqueEmail, GOOD_PASSWORD, assertNullBody, assertError, assertTokenText, ok } from './lib.mjs';
import { SmtpServer } from './smtp.mjs';

const MAIL_TIMEOUT = 75000;
const servers = [];
let box;

async function mailServer(extra = {}) {
  const srv = await startServer({ env: {
    GATEHOUSE_REGISTRATION: 'open', GATEHOUSE_MAILER: 'smtp', GATEHOUSE_SMTP_ADDR: box.addr,
    GATEHOUSE_SMTP_FROM: 'gatehouse@example.com', GATEHOUSE_DISPLAY_NAME: 'Acme', ...extra,
  } });
  servers.push(srv);
  return srv;
}

let srv; // GATEHOUSE_VERIFY_EMAIL=required
let open; // the default, off
before(async () => {
  box = new SmtpServer();
  await box.start();
  [srv, open] = await Promise.all([mailServer({ GATEHOUSE_VERIFY_EMAIL: 'required' }), mailServer()]);
});
after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await box?.stop();
});

const isTo = (addr) => (m) => m.to.some((t) => t.toLowerCase() === addr.toLowerCase());
const codeOf = (m) => {
  const c = m.text.match(/^ {4}(\d{6})[ \t]*\r?$/m);
  assert.ok(c, `a code in:\n${m.text}`);
  return c[1];
};
const wrongOf = (code) => String((Number(code) + 1) % 1e6).padStart(6, '0');
const nextMail = (addr, mark) => box.waitFor((m) => m.id > mark && isTo(addr)(m), MAIL_TIMEOUT);

async function registerWithCode(s, tag, query = '') {
  const email = uniqueEmail(tag);
  const mark = box.lastId;
  const r = await s.request('POST', `/user${query}`, { json: { email, password: GOOD_PASSWORD } });
  assert.equal(r.status, 200, r.text);
  const m = await nextMail(email, mark);
  return { email, userId: r.json.userId, mail: m, code: codeOf(m) };
}

const login = (s, username, password = GOOD_PASSWORD) => s.request('POST', '/auth/login', { json: { username, password } });
const verify = (s, json, token) => s.request('POST', '/user/email/verify', { json, token });
const send = (s, json, token) => s.request('POST', '/user/email/verify/send', { json, token });

describe('GATEHOUSE_VERIFY_EMAIL=required', { concurrency: true }, () => {
  test('registration mails a code; login is 403 EMAIL_NOT_VERIFIED until it comes back, then works', async () => {
    const u = await registerWithCode(srv, 'verify', '?language=nl');
    assert.match(u.mail.subject, /^Bevestig je adres voor Acme$/);
    assertError(await login(srv, u.email), 403, 'EMAIL_NOT_VERIFIED');
    assertError(await verify(srv, { email: u.email, otp: wrongOf(u.code) }), 401, 'OTP_INVALID_EXPIRED');
    assertNullBody(await verify(srv, { email: u.email, otp: u.code }), 'verify');
    const tok = assertTokenText(await login(srv, u.email), 'login once verified');
    const access = assertTokenText(await srv.request('GET', '/auth/accesstoken', { token: tok }), 'access');
    assert.equal(ok(await srv.request('GET', '/user', { token: access }), 'GET /user').emailVerified, true);
    assertError(await verify(srv, { email: u.email, otp: u.code }), 401, 'OTP_INVALID_EXPIRED', 'the code is used up');
  });

  test('no enumeration: a wrong password is 401 as ever, an unknown address answers as a known one', async () => {
    const u = await registerWithCode(srv, 'verify-enum');
    assertError(await login(srv, u.email, 'Wrong-Password-1'), 401, 'PASSWORD_INCORRECT');
    assertError(await login(srv, uniqueEmail('nobody')), 401, 'PASSWORD_INCORRECT');
    const unknown = uniqueEmail('verify-unknown');
    assertError(await verify(srv, { email: unknown, otp: '123456' }), 401, 'OTP_INVALID_EXPIRED');
    assertNullBody(await send(srv, { email: unknown }), 'send, unknown address');
    assertError(await send(srv, { email: unknown }), 429, 'TOO_MANY_VERIFY_MAIL_ATTEMPTS', 'the same limiter for an unknown address');
  });

  test('verify/send without a token mails a new code (the old one stops working), under the send limiter', async () => {
    const u = await registerWithCode(srv, 'verify-resend');
    // Registration took the first send of the minute.
    const retry = assertError(await send(srv, { email: u.email }), 429, 'TOO_MANY_VERIFY_MAIL_ATTEMPTS').retryAfter;
    assert.ok(retry >= 1 && retry <= 60, `retryAfter ${retry}`);
    await new Promise((r) => setTimeout(r, retry * 1000 + 100));
    const mark = box.lastId;
    assertNullBody(await send(srv, { email: u.email }), 'resend');
    const code = codeOf(await nextMail(u.email, mark));
    if (code !== u.code) assertError(await verify(srv, { email: u.email, otp: u.code }), 401, 'OTP_INVALID_EXPIRED', 'the old code');
    assertNullBody(await verify(srv, { email: u.email, otp: code }), 'the new code');
    assertTokenText(await login(srv, u.email), 'login');
  });

  test('wrong codes are guess-limited: 429 TOO_MANY_OTP_CHECKS', async () => {
    const u = await registerWithCode(srv, 'verify-guess');
    let throttled;
    for (let i = 0; i < 12 && !throttled; i++) {
      const r = await verify(srv, { email: u.email, otp: wrongOf(u.code) });
      if (r.status === 429) throttled = assertError(r, 429, 'TOO_MANY_OTP_CHECKS');
      else assertError(r, 401, 'OTP_INVALID_EXPIRED');
    }
    assert.ok(throttled, 'throttled after the free failures');
  });

  test('without a token the address is required', async () => {
    assertError(await verify(srv, { otp: '123456' }), 400, "body must have required property 'email'");
    assertError(await send(srv, {}), 400, "body must have required property 'email'");
    assertError(await verify(srv, { email: 'not an address', otp: '123456' }), 400, 'body/email must match format "email"');
  });
});

describe('with an access token (GATEHOUSE_VERIFY_EMAIL=off)', () => {
  test('an account verifies its address: send, verify with the token, emailVerified; then 409', async () => {
    const s = await open.newSession();
    assert.equal(ok(await open.request('GET', '/user', { token: s.access }), 'GET /user').emailVerified, false);
    assertError(await verify(open, { otp: '123456' }, s.access), 409, 'NO_PENDING_EMAIL_VERIFICATION');
    const mark = box.lastId;
    assertNullBody(await send(open, {}, s.access), 'send');
    const code = codeOf(await nextMail(s.email, mark));
    assertError(await verify(open, { otp: wrongOf(code) }, s.access), 401, 'OTP_INVALID_EXPIRED');
    assertNullBody(await verify(open, { otp: code, email: 'ignored@example.com' }, s.access), 'verify');
    assert.equal(ok(await open.request('GET', '/user', { token: s.access }), 'GET /user').emailVerified, true);
    assertError(await send(open, {}, s.access), 409, 'EMAIL_ALREADY_VERIFIED');
    assertError(await verify(open, { otp: code }, s.access), 409, 'EMAIL_ALREADY_VERIFIED');
  });

  test('registration mails nothing and login needs no verification', async () => {
    const email = uniqueEmail('verify-off');
    const mark = box.lastId;
    await open.register(email);
    assertTokenText(await login(open, email), 'login');
    // The next mail to the address is the one asked for now, not a registration code.
    const s = await open.newSession(email, GOOD_PASSWORD);
    assertNullBody(await send(open, {}, s.access), 'send');
    await nextMail(email, mark);
    assert.equal(box.count((m) => m.id > mark && isTo(email)(m)), 1);
  });

  test('a refresh token is refused', async () => {
    const s = await open.newSession();
    assertError(await send(open, {}, s.refresh), 401, 'WRONG_TOKEN_TYPE');
  });
});
