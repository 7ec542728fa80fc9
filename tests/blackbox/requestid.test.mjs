// Black-box suite of issue 11 item 3: nothing dropped.
//  - A request's X-Request-Id (1 to 64 of A-Z a-z 0-9 - _ . :) names it in the server's log
//    lines as request_id: the request line, the host's line of a failed plugin call (a password
//    policy that traps), and the delivery of a mail the request queued (in the outbox worker).
//    An invalid one is ignored: the server names the request itself.
//  - GET /user/2fa marks email-otp weak (methods[].weak) and not totp.
//  - A TOTP setup answers `secret`, the otpauth URL's secret parameter, for manual entry.
//
// Fixture: host/testdata/chaos.wasm (committed; a password ending in "T" traps).
//
// Run: go build -o bin/gatehouse ./cmd/gatehouse && node --test tests/blackbox/requestid.test.mjs

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { startServer, tempDir, uniqueEmail, GOOD_PASSWORD, ok, Totp, otpauthSecret, sleep } from './lib.mjs';
import { SmtpServer } from './smtp.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const CHAOS = join(resolve(here, '../..'), 'host/testdata/chaos.wasm');

let smtp;
let srv;

before(async () => {
  smtp = new SmtpServer();
  await smtp.start();
  const dir = tempDir('gatehouse-bb-plugins-');
  copyFileSync(CHAOS, join(dir, 'chaos.wasm'));
  srv = await startServer({ env: {
    GATEHOUSE_REGISTRATION: 'open',
    GATEHOUSE_LOG_LEVEL: 'debug',
    GATEHOUSE_PLUGINS_DIR: dir,
    GATEHOUSE_PASSWORD_POLICIES: 'password.default,password.chaos',
    GATEHOUSE_MAILER: 'smtp',
    GATEHOUSE_SMTP_ADDR: smtp.addr,
    GATEHOUSE_SMTP_FROM: 'gatehouse@example.com',
  } });
});

after(async () => {
  await srv?.stop();
  await smtp?.stop();
});

const newId = (tag) => `bb-${tag}-${randomBytes(6).toString('hex')}`;

/** The server's log lines that name the request id (as request_id=<id>). */
const linesOf = (id) => srv.logs.split('\n').filter((l) => l.includes(`request_id=${id}`));

/** Waits until a log line names id and matches pred. */
async function waitLine(id, pred, what, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const l = linesOf(id).find(pred);
    if (l) return l;
    if (Date.now() > deadline) assert.fail(`${what}: no log line with request_id=${id}:\n${srv.logs.slice(-4000)}`);
    await sleep(50);
  }
}

const isTo = (addr) => (m) => m.to.some((t) => t.toLowerCase() === addr.toLowerCase());

describe('request ids, weak methods, the setup secret', { concurrency: false }, () => {
  test('X-Request-Id names the request line and the host\'s line of a failed password-policy call', async () => {
    const id = newId('pw');
    const r = await srv.request('POST', '/user', { json: { email: uniqueEmail('rid'), password: `${GOOD_PASSWORD}T` }, headers: { 'x-request-id': id } });
    assert.equal(r.status, 500, r.text);
    assert.equal(r.headers.get('x-request-id'), id, 'the 5xx answer names the request with its own id');
    await waitLine(id, (l) => l.includes('plugin call failed') && l.includes('password.chaos') && l.includes('cause='), 'the host\'s line of the trap');
    await waitLine(id, (l) => /\brequest: /.test(l) && l.includes('route=/user'), 'the request line');
  });

  test('an invalid X-Request-Id is not used', async () => {
    const bad = `bad id ${randomBytes(4).toString('hex')}`;
    const r = await srv.request('POST', '/user', { json: { email: uniqueEmail('rid'), password: `${GOOD_PASSWORD}T` }, headers: { 'x-request-id': bad } });
    assert.equal(r.status, 500, r.text);
    const given = r.headers.get('x-request-id');
    assert.ok(given && given !== bad && /^[A-Za-z0-9._:-]+$/.test(given), `the server's own id: ${given}`);
    const long = 'a'.repeat(65);
    const r2 = await srv.request('POST', '/user', { json: { email: uniqueEmail('rid'), password: `${GOOD_PASSWORD}T` }, headers: { 'x-request-id': long } });
    assert.notEqual(r2.headers.get('x-request-id'), long, 'over 64 characters: not used');
  });

  test('totp setup answers secret = the otpauth URL\'s secret; email-otp mail delivery names the request that queued it; GET /user/2fa marks email-otp weak, totp not', async () => {
    const u = await srv.newSession();
    const setupId = newId('totp');
    const s = ok(await srv.request('POST', '/user/2fa/totp/setup', { token: u.access, json: {}, headers: { 'x-request-id': setupId } }), 'totp setup');
    assert.deepEqual(Object.keys(s).sort(), ['qr', 'secret', 'url']);
    assert.match(s.secret, /^[A-Z2-7]+$/, 'base32');
    assert.equal(s.secret, otpauthSecret(s.url), 'secret is the URL\'s secret parameter');
    await waitLine(setupId, (l) => l.includes('route=/user/2fa/totp/setup'), 'the setup request line');

    const totp = new Totp(s.secret);
    ok(await srv.request('POST', '/user/2fa/totp/enable', { token: u.access, json: { totp: await totp.next() } }), 'totp enable');
    const sudo = ok(await srv.request('POST', '/user/2fa/totp/authenticate', { token: u.access, json: { totp: await totp.next() } }), 'sudo').sudoToken;

    const otpEmail = uniqueEmail('rid-otp');
    const mark = smtp.lastId;
    const mailId = newId('mail');
    const r = await srv.request('POST', '/user/2fa/email-otp/setup', { token: sudo, json: { email: otpEmail }, headers: { 'x-request-id': mailId } });
    assert.equal(r.status, 200, r.text);
    const m = await smtp.waitFor((x) => x.id > mark && isTo(otpEmail)(x), 30000);
    await waitLine(mailId, (l) => l.includes('mail delivered'), 'the outbox worker\'s delivery line');
    const code = [...m.text.matchAll(/^ {4}(\d{6})[ \t]*\r?$/gm)].map((x) => x[1])[0];
    assert.ok(code, `a code in the mail:\n${m.text}`);
    ok(await srv.request('POST', '/user/2fa/email-otp/enable', { token: u.access, json: { otp: code } }), 'email-otp enable');

    const g = ok(await srv.request('GET', '/user/2fa', { token: u.access }), 'GET /user/2fa');
    const byId = Object.fromEntries(g.methods.map((x) => [x.id, x]));
    assert.deepEqual(Object.keys(byId).sort(), ['email-otp', 'totp'], JSON.stringify(g));
    assert.equal(byId['email-otp'].weak, true, 'email-otp is weak');
    assert.ok(!('weak' in byId.totp), `totp is not weak: ${JSON.stringify(byId.totp)}`);
    assert.deepEqual(Object.keys(byId.totp).sort(), ['completedAt', 'id']);
  });
});
