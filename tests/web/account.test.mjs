// Browser test of the account web page /account/ (issue 16), in Debian's Chromium driven by
// playwright-core (no browser download). It uses the page as an outside script would: fields
// found by their labels, buttons and links by their role and name. Each flow runs at desktop
// width (1280 px) and at phone width (390 px), with a new account each: register, enable the
// authenticator app (the code computed here, RFC 6238 with node:crypto), keep the recovery
// codes (download), sign out, sign in with a TOTP code, list the sessions and end another one,
// forget the password and reset it from the mailed link, sign in with a recovery code; then
// delete the account (sudo by a TOTP code); then email codes as a second method, changing the
// password, changing the address, signing out everywhere, deleting with the password, and
// registering where the address must be confirmed first, and passkeys with a virtual
// authenticator. Mail is read from an SMTP sink (tests/blackbox/smtp.mjs). The page must load
// nothing from outside the server, log no error, and fit the phone's width. Screenshots of each
// step go to tests/web/artifacts/ (gitignored), the headers of the page are checked too.
//
// Run: make test-web   (or: cd tests/web && npm ci && cd ../.. &&
//      GATEHOUSE_BIN=$PWD/bin/gatehouse node --test tests/web/account.test.mjs)
// CHROMIUM=/path/to/chromium overrides /usr/bin/chromium.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer, GatehouseServer, freePort, uniqueEmail, GOOD_PASSWORD, request } from '../blackbox/lib.mjs';
import { SmtpServer, parseMessage } from '../blackbox/smtp.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = resolve(here, 'artifacts');
const MAIL_TIMEOUT = 75000; // the outbox normally delivers within milliseconds
const NEW_PASSWORD = 'Brand-New-Secret-42';
const OTHER_PASSWORD = 'Third-Password-77';

// ------------------------------------------------------------------ TOTP (RFC 6238)

function base32Decode(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of s.replace(/=+$/, '').toUpperCase()) {
    const i = alphabet.indexOf(c);
    if (i < 0) throw new Error(`not base32: ${c}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The 6-digit TOTP code of secret (base32) for time step `step` (SHA1, 30 s). */
export function totpAt(secret, step) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32Decode(secret)).update(msg).digest();
  const off = mac[mac.length - 1] & 0x0f;
  const n = ((mac[off] & 0x7f) << 24) | (mac[off + 1] << 16) | (mac[off + 2] << 8) | mac[off + 3];
  return String(n % 1e6).padStart(6, '0');
}

/**
 * A code the server takes now and that was not used yet: the server accepts the steps one
 * either side of the current one, each once. Waits for the next step when all three are used.
 */
async function freshCode(account) {
  for (;;) {
    const now = Date.now() / 1000;
    const step = Math.floor(now / 30);
    const left = 30 - (now % 30);
    const candidates = [step, step + 1, ...(left > 25 ? [step - 1] : [])];
    const s = candidates.find((c) => !account.usedSteps.has(c));
    if (s !== undefined) {
      account.usedSteps.add(s);
      return totpAt(account.secret, s);
    }
    await new Promise((r) => setTimeout(r, (left + 0.5) * 1000));
  }
}

// ------------------------------------------------------------------ the server and browser

let smtp;
let srv;
let browser;

before(async () => {
  smtp = new SmtpServer();
  await smtp.start();
  srv = await startServer({
    env: {
      GATEHOUSE_REGISTRATION: 'open',
      GATEHOUSE_MAILER: 'smtp',
      GATEHOUSE_SMTP_ADDR: smtp.addr,
      GATEHOUSE_SMTP_FROM: 'gatehouse@example.com',
      // GATEHOUSE_PUBLIC_URL unset: the reset link must lead to this server by default.
    },
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  mkdirSync(ARTIFACTS, { recursive: true });
});

after(async () => {
  await browser?.close().catch(() => {});
  await srv?.stop();
  await smtp?.stop();
});

/** The newest mail to `to` after message id `since`. */
function mailTo(to, since, what) {
  return smtp.waitFor((m) => m.id > since && m.to.some((r) => r.toLowerCase() === to.toLowerCase()), MAIL_TIMEOUT)
    .catch((err) => { throw new Error(`${what}: no mail to ${to}: ${err.message}`); });
}

/** A browser context (a fresh cookie jar) at a width, recording what the page does wrong. */
async function openPage(width, locale = 'en-US', server = srv) {
  const context = await browser.newContext({
    viewport: { width, height: width < 500 ? 844 : 900 },
    locale,
    acceptDownloads: true,
  });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  const problems = { foreign: [], pageErrors: [], consoleErrors: [] };
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(server.url + '/') || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
    problems.foreign.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  page.on('pageerror', (err) => problems.pageErrors.push(String(err?.stack ?? err)));
  page.on('console', (msg) => {
    // A refused API call (401 while signed out, a wrong code on purpose) is logged by Chromium
    // as "Failed to load resource"; anything else is an error of the page.
    if (msg.type() === 'error' && !/Failed to load resource: the server responded with a status of 4\d\d/.test(msg.text())) {
      problems.consoleErrors.push(msg.text());
    }
  });
  return { context, page, problems };
}

async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Nothing sticks out of the screen's width. */
async function assertFits(page, width, where) {
  const m = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    wide: [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
      .slice(0, 5)
      .map((e) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}: ${Math.round(e.getBoundingClientRect().right)} px`),
  }));
  assert.deepEqual(m.wide, [], `${where}: elements past the right edge at ${width} px`);
  assert.ok(m.scrollWidth <= width, `${where}: the page is ${m.scrollWidth} px wide at ${width} px`);
}

/** Every visible form field has a visible label, every button a name. */
async function assertLabelled(page, where) {
  const bad = await page.evaluate(() => {
    const out = [];
    for (const el of document.querySelectorAll('input:not([type=hidden]):not([hidden]), select, textarea')) {
      const label = el.id && document.querySelector(`label[for="${el.id}"]`);
      if (!label || !label.textContent.trim() || label.getClientRects().length === 0) out.push(`field ${el.name}`);
    }
    for (const b of document.querySelectorAll('button')) if (!b.textContent.trim()) out.push(`button ${b.outerHTML.slice(0, 60)}`);
    return out;
  });
  assert.deepEqual(bad, [], `${where}: unlabelled fields or nameless buttons`);
}

const status = (page) => page.getByRole('status');

async function expectStatus(page, re, what) {
  await page.waitForFunction((src) => new RegExp(src, 'i').test(document.getElementById('status').textContent), re.source, { timeout: 15000 })
    .catch(async () => { throw new Error(`${what}: status "${await status(page).textContent()}" does not match ${re}`); });
}

async function heading(page, name) {
  await page.getByRole('heading', { level: 1, name }).waitFor({ timeout: 15000 });
}

// ------------------------------------------------------------------ the flows

/** Registers through the page and lands on the overview. */
async function register(page, account) {
  await page.goto(`${srv.url}/account/`);
  await heading(page, 'Sign in');
  await page.getByRole('link', { name: 'Create an account' }).click();
  await heading(page, 'Create an account');
  await page.getByLabel('Email address').fill(account.email);
  await page.getByLabel('Password').fill(account.password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await heading(page, 'Your account');
  await page.getByText(account.email).first().waitFor();
}

async function enableTotp(page, account, tag) {
  await page.getByRole('button', { name: /Set up authenticator app/ }).click();
  const qr = page.getByRole('img', { name: 'QR code for your authenticator app' });
  await qr.waitFor();
  assert.match(await qr.getAttribute('src'), /^data:image\/png;base64,/, 'the QR code is a data: PNG');
  account.secret = (await page.locator('#totp-secret').textContent()).trim();
  assert.match(account.secret, /^[A-Z2-7]{16,}$/, `the secret key is shown: ${account.secret}`);
  const link = await page.getByRole('link', { name: 'Open in an authenticator app' }).getAttribute('href');
  assert.equal(new URL(link.replace(/^otpauth:/, 'http:')).searchParams.get('secret'), account.secret, 'the otpauth link has the same secret');
  await shot(page, `${tag}-totp-setup`);
  // A wrong code first: refused, with the reason in the live region.
  await page.getByLabel('Code from your authenticator app').fill(totpAt(account.secret, Math.floor(Date.now() / 30000) + 20));
  await page.getByRole('button', { name: 'Enable authenticator app' }).click();
  await expectStatus(page, /not right/, 'a wrong TOTP code');
  await page.getByLabel('Code from your authenticator app').fill(await freshCode(account));
  await page.getByRole('button', { name: 'Enable authenticator app' }).click();
  // Show-once recovery codes: ten, with copy and download.
  await page.getByRole('heading', { name: 'Your recovery codes' }).waitFor();
  const codes = (await page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem').allTextContents()).map((c) => c.trim());
  assert.equal(codes.length, 10, `ten recovery codes: ${codes}`);
  account.recoveryCodes = codes;
  await expectStatus(page, /authenticator app is on/, 'TOTP enabled');
  await shot(page, `${tag}-recovery-codes`);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download codes' }).click()]);
  const file = readFileSync(await download.path(), 'utf8');
  for (const c of codes) assert.ok(file.includes(c), `the downloaded file has ${c}`);
  assert.match(download.suggestedFilename(), /recovery-codes\.txt$/);
  await page.getByRole('button', { name: 'Copy codes' }).click();
  await expectStatus(page, /copied/, 'copy');
  const clip = await page.evaluate(() => navigator.clipboard.readText());
  for (const c of codes) assert.ok(clip.includes(c), `the clipboard has ${c}`);
  await page.getByRole('button', { name: 'I have saved them' }).click();
  await page.getByRole('heading', { name: 'Your recovery codes' }).waitFor({ state: 'detached' });
  // The overview says it is on.
  const item = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: /Authenticator app/ }) });
  await item.getByText('on', { exact: true }).waitFor();
}

async function signOut(page) {
  await page.getByRole('banner').getByRole('button', { name: 'Sign out' }).click();
  await heading(page, 'Sign in');
  await expectStatus(page, /signed out/, 'sign out');
}

async function signInPassword(page, account, password = account.password) {
  await page.getByLabel('Email address').fill(account.email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function signInTotp(page, account) {
  await signInPassword(page, account);
  await heading(page, 'Two-step verification');
  await page.getByLabel('Code from your authenticator app').fill(await freshCode(account));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await heading(page, 'Your account');
}

/** A second session of the account, made through the API (a password login from "elsewhere"). */
async function otherSession(account) {
  const r = await request(srv.url, 'POST', '/auth/login', { json: { username: account.email, password: account.password }, headers: { 'user-agent': 'curl/8.5.0' } });
  assert.equal(r.status, 200, `API login: ${r.status} ${r.text}`);
  return r.text;
}

/**
 * Ends the API session from the page's list. confirmWith: the account whose TOTP code answers
 * the sudo prompt (after a reload the sign-in's sudo token is gone), or null when none is
 * expected (the sign-in's sudo token is still in memory).
 */
async function endOtherSession(page, refreshOther, tag, confirmWith) {
  const list = page.getByRole('list', { name: 'Sessions' });
  await list.waitFor();
  const rows = list.getByRole('listitem');
  // Without a reload the list picks the new session up by itself (it looks every 5 s).
  await page.waitForFunction(() => document.querySelectorAll('[data-session]').length >= 2, null, { timeout: 40000 });
  const current = rows.filter({ hasText: 'This device' });
  assert.equal(await current.count(), 1, 'one session is this device');
  const other = rows.filter({ hasText: 'curl' });
  assert.equal(await other.count(), 1, 'the API session is listed (curl)');
  await shot(page, `${tag}-sessions`);
  await other.getByRole('button', { name: 'Sign out' }).click();
  if (confirmWith) {
    await other.getByRole('heading', { name: 'Confirm it is you' }).waitFor();
    await other.getByLabel('Code from your authenticator app').fill(await freshCode(confirmWith));
    await other.getByRole('button', { name: 'Confirm' }).click();
  }
  await expectStatus(page, /session has ended/, 'end a session');
  await page.waitForFunction(() => document.querySelectorAll('[data-session]').length === 1, null, { timeout: 15000 });
  const r = await request(srv.url, 'GET', '/auth/accesstoken', { token: refreshOther });
  assert.equal(r.status, 401, `the ended session's refresh token is refused: ${r.status} ${r.text}`);
}

async function forgotAndReset(page, account, tag) {
  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  await heading(page, 'Forgot your password');
  const mark = smtp.lastId;
  await page.getByLabel('Email address').fill(account.email);
  await page.getByRole('button', { name: 'Send reset link' }).click();
  await expectStatus(page, /link is on its way/, 'forgot password');
  const m = await mailTo(account.email, mark, 'reset mail');
  const link = /https?:\/\/\S+reset-password\?\S+/.exec(m.text)?.[0];
  assert.ok(link, `the mail has a reset link: ${m.text}`);
  assert.ok(link.startsWith(`${srv.url}/reset-password?`), `the default link leads to this server: ${link}`);
  await page.goto(link);
  await heading(page, 'Choose a new password');
  assert.equal(new URL(page.url()).hash, '#reset', 'the code is gone from the address bar');
  assert.equal(await page.getByLabel('Email address').inputValue(), account.email, 'the address is filled in');
  assert.match(await page.getByLabel('Reset code').inputValue(), /^\d{6}$/, 'the code is filled in');
  // As an outside script would: the one field about an email address, the one about a password.
  assert.equal(await page.getByLabel(/email/i).count(), 1, 'one field is named for the address');
  assert.equal(await page.getByLabel(/password/i).count(), 1, 'one field is named for a password');
  await page.getByLabel('New password').fill('short');
  await page.getByRole('button', { name: 'Reset password' }).click();
  await expectStatus(page, /at least 8 characters|uppercase|digit/, 'a weak new password');
  await page.getByLabel('New password').fill(NEW_PASSWORD);
  await shot(page, `${tag}-reset`);
  await page.getByRole('button', { name: 'Reset password' }).click();
  await heading(page, 'Sign in');
  await expectStatus(page, /password has been changed/, 'reset done');
  account.password = NEW_PASSWORD;
}

async function signInRecoveryCode(page, account) {
  await signInPassword(page, account);
  await heading(page, 'Two-step verification');
  await page.getByRole('button', { name: 'Use a recovery code' }).click();
  await page.getByLabel('Recovery code').fill(account.recoveryCodes[0]);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await heading(page, 'Your account');
}

async function checkProblems(problems, where) {
  assert.deepEqual(problems.pageErrors, [], `${where}: uncaught page errors`);
  assert.deepEqual(problems.consoleErrors, [], `${where}: console errors`);
  assert.deepEqual(problems.foreign, [], `${where}: requests to other hosts (the page must work offline)`);
}

for (const width of [1280, 390]) {
  const tag = width < 500 ? 'phone' : 'desktop';
  describe(`the account page at ${width} px`, { concurrency: 1 }, () => {
    const account = { email: uniqueEmail(`web-${tag}`), password: GOOD_PASSWORD, usedSteps: new Set() };
    let ctx;
    before(async () => {
      ctx = await openPage(width);
    });
    after(async () => {
      await ctx?.context.close();
    });

    test('register, then the overview', async () => {
      await register(ctx.page, account);
      await assertLabelled(ctx.page, 'overview');
      await assertFits(ctx.page, width, 'overview');
      await shot(ctx.page, `${tag}-overview`);
    });

    test('the tokens are in the HttpOnly cookie, nothing in web storage', async () => {
      const cookies = await ctx.context.cookies(srv.url);
      const idToken = cookies.find((c) => c.name === 'id_token');
      assert.ok(idToken, 'the id_token cookie is set');
      assert.equal(idToken.httpOnly, true, 'HttpOnly');
      assert.equal(idToken.sameSite, 'Strict', 'SameSite=Strict');
      const storage = await ctx.page.evaluate(() => ({ local: localStorage.length, session: sessionStorage.length, cookie: document.cookie }));
      assert.deepEqual(storage, { local: 0, session: 0, cookie: '' }, 'no token readable by the page');
    });

    test('enable the authenticator app: QR, secret, first code, show-once recovery codes', async () => {
      await enableTotp(ctx.page, account, tag);
      await assertFits(ctx.page, width, 'after TOTP');
    });

    test('sign out, sign in with a TOTP code', async () => {
      await signOut(ctx.page);
      await assertLabelled(ctx.page, 'sign in');
      await shot(ctx.page, `${tag}-signin`);
      await signInPassword(ctx.page, account, 'Wrong-Password-1');
      await expectStatus(ctx.page, /address or password is not right/, 'a wrong password');
      await signInTotp(ctx.page, account);
      await assertFits(ctx.page, width, 'overview after sign-in');
    });

    test('list the sessions and end another one', async () => {
      const other = await otherSession(account);
      if (tag === 'desktop') {
        // After a reload the sudo token of the sign-in is gone: the page asks for a code.
        await ctx.page.reload();
        await heading(ctx.page, 'Your account');
        await endOtherSession(ctx.page, other, tag, account);
      } else {
        await endOtherSession(ctx.page, other, tag, null);
      }
    });

    test('forgot password: reset from the mailed link, then sign in with a recovery code', async () => {
      await signOut(ctx.page);
      await forgotAndReset(ctx.page, account, tag);
      await assertFits(ctx.page, width, 'sign in after reset');
      await signInRecoveryCode(ctx.page, account);
    });

    test('delete the account (with 2FA: a sudo token)', async () => {
      const { page } = ctx;
      await page.reload(); // the sign-in's sudo token is gone: the page asks for a code
      await heading(page, 'Your account');
      await page.getByRole('button', { name: 'Delete account…' }).click();
      assert.equal(await page.getByLabel('Password').count(), 0, 'no password field with 2FA on');
      await page.getByLabel('I understand that this cannot be undone').check();
      await page.getByRole('button', { name: 'Delete my account permanently' }).click();
      await page.getByRole('heading', { name: 'Confirm it is you' }).waitFor();
      await page.getByLabel('Code from your authenticator app').fill(await freshCode(account));
      await page.getByRole('button', { name: 'Confirm' }).click();
      await heading(page, 'Sign in');
      await expectStatus(page, /account has been deleted/, 'deleted');
      const login = await request(srv.url, 'POST', '/auth/login', { json: { username: account.email, password: account.password } });
      assert.equal(login.status, 401, 'the account is gone');
    });

    test('no page error, no console error, nothing fetched from outside', async () => {
      await checkProblems(ctx.problems, tag);
    });
  });
}

describe('more flows at desktop width', { concurrency: 1 }, () => {
  const account = { email: uniqueEmail('web-more'), password: GOOD_PASSWORD, usedSteps: new Set() };
  let ctx;
  before(async () => {
    ctx = await openPage(1280);
  });
  after(async () => {
    await ctx?.context.close();
  });

  test('change the password (other sessions end)', async () => {
    const { page } = ctx;
    await register(page, account);
    const other = await otherSession(account);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByLabel('Current password').fill('Not-The-Password-1');
    await page.getByLabel('New password').fill(OTHER_PASSWORD);
    await page.getByRole('button', { name: 'Save new password' }).click();
    await expectStatus(page, /current password is not right/, 'a wrong current password');
    await page.getByLabel('Current password').fill(account.password);
    await page.getByRole('button', { name: 'Save new password' }).click();
    await expectStatus(page, /password has been changed/, 'password change');
    account.password = OTHER_PASSWORD;
    const r = await request(srv.url, 'GET', '/auth/accesstoken', { token: other });
    assert.equal(r.status, 401, 'the other session ended with the change');
    const login = await request(srv.url, 'POST', '/auth/login', { json: { username: account.email, password: OTHER_PASSWORD } });
    assert.equal(login.status, 200, 'the new password signs in');
    assert.equal((await request(srv.url, 'POST', '/auth/logout', { token: login.text })).status, 204);
  });

  test('email codes as the second factor: set up, sign in with one, turn off with sudo', async () => {
    const { page } = ctx;
    await page.getByRole('button', { name: 'Set up email codes' }).click();
    assert.equal(await page.getByLabel('Address for the codes').inputValue(), account.email, 'the account address is proposed');
    let mark = smtp.lastId;
    await page.getByRole('button', { name: 'Send code' }).click();
    let m = await mailTo(account.email, mark, 'email-otp setup');
    let code = /\b(\d{6})\b/.exec(m.text)?.[1];
    await page.getByLabel('Code from the email').fill(code);
    await page.getByRole('button', { name: 'Enable email codes' }).click();
    await page.getByRole('heading', { name: 'Your recovery codes' }).waitFor();
    await expectStatus(page, /Email codes are on/, 'email-otp enabled');
    account.recoveryCodes = (await page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem').allTextContents()).map((c) => c.trim());
    await page.getByRole('button', { name: 'I have saved them' }).click();
    await signOut(page);
    await signInPassword(page, account);
    await heading(page, 'Two-step verification');
    // The only method is email codes: its form comes first.
    // The setup mail went less than 60 s ago: the send limiter says when the next may go.
    await page.getByRole('button', { name: 'Send a code by email' }).click();
    await expectStatus(page, /Too many attempts\. Try again in \d+ seconds/, 'a second mail within 60 s');
    const wait = Number(/in (\d+) seconds/.exec(await status(page).textContent())[1]);
    assert.ok(wait > 0 && wait <= 60, `retry after ${wait} s`);
    await new Promise((r) => setTimeout(r, (wait + 1) * 1000));
    mark = smtp.lastId;
    await page.getByRole('button', { name: 'Send a code by email' }).click();
    await expectStatus(page, /code has been sent/, 'email challenge');
    m = await mailTo(account.email, mark, 'email-otp challenge');
    code = /\b(\d{6})\b/.exec(m.text)?.[1];
    await page.getByLabel('Code from the email').fill(code);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await heading(page, 'Your account');
    // New recovery codes (sudo: the sign-in's sudo token is still fresh).
    await page.getByRole('button', { name: 'New recovery codes' }).click();
    await page.getByRole('heading', { name: 'Your recovery codes' }).waitFor();
    const fresh = (await page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem').allTextContents()).map((c) => c.trim());
    assert.equal(fresh.length, 10);
    assert.notDeepEqual(fresh, account.recoveryCodes, 'new codes');
    account.recoveryCodes = fresh;
    await page.getByRole('button', { name: 'I have saved them' }).click();
    await page.getByRole('button', { name: 'Turn off email codes' }).click();
    await expectStatus(page, /Email codes are off/, 'email-otp off');
    await page.getByText('Two-factor authentication is off.', { exact: false }).waitFor();
  });

  test('change the address with a code sent to the new one', async () => {
    const { page } = ctx;
    const newEmail = uniqueEmail('web-moved');
    await page.getByRole('button', { name: 'Change email address' }).click();
    await page.getByLabel('New email address').fill(newEmail);
    const mark = smtp.lastId;
    await page.getByRole('button', { name: 'Send code' }).click();
    const m = await mailTo(newEmail, mark, 'transfer code');
    await page.getByLabel('Code from the email').fill(/\b(\d{6})\b/.exec(m.text)[1]);
    await page.getByRole('button', { name: 'Change address' }).click();
    await expectStatus(page, new RegExp(`address is now ${newEmail.replace(/[.+]/g, '\\$&')}`), 'address changed');
    account.email = newEmail;
    const login = await request(srv.url, 'POST', '/auth/login', { json: { username: newEmail, password: account.password } });
    assert.equal(login.status, 200, 'the new address signs in');
    assert.equal((await request(srv.url, 'POST', '/auth/logout', { token: login.text })).status, 204);
  });

  test('sign out everywhere', async () => {
    const { page } = ctx;
    const other = await otherSession(account);
    await page.reload();
    await heading(page, 'Your account');
    await page.getByRole('button', { name: 'Sign out everywhere' }).click();
    await heading(page, 'Sign in');
    const r = await request(srv.url, 'GET', '/auth/accesstoken', { token: other });
    assert.equal(r.status, 401, 'the other session ended too');
    await signInPassword(page, account);
    await heading(page, 'Your account');
  });

  test('signed out elsewhere: the next action leads to sign-in, saying why', async () => {
    const { page } = ctx;
    const other = await otherSession(account);
    assert.equal((await request(srv.url, 'POST', '/auth/logout/all', { token: other })).status, 204);
    await page.getByRole('button', { name: /Set up authenticator app/ }).click();
    await heading(page, 'Sign in');
    await expectStatus(page, /session has ended/, 'session over');
    await signInPassword(page, account);
    await heading(page, 'Your account');
  });

  test('delete the account (without 2FA: with the password)', async () => {
    const { page } = ctx;
    await page.getByRole('button', { name: 'Delete account…' }).click();
    // No 2FA: the password proves presence (a wrong one is refused).
    await page.getByLabel('Password').fill('Not-The-Password-1');
    await page.getByLabel('I understand that this cannot be undone').check();
    await page.getByRole('button', { name: 'Delete my account permanently' }).click();
    await expectStatus(page, /password is not right/, 'a wrong password');
    await page.getByLabel('Password').fill(account.password);
    await page.getByRole('button', { name: 'Delete my account permanently' }).click();
    await heading(page, 'Sign in');
    await expectStatus(page, /account has been deleted/, 'deleted');
    const login = await request(srv.url, 'POST', '/auth/login', { json: { username: account.email, password: account.password } });
    assert.equal(login.status, 401, 'the account is gone');
  });

  test('no page error, no console error, nothing fetched from outside', async () => {
    await checkProblems(ctx.problems, 'more flows');
  });
});

describe('address confirmation (GATEHOUSE_VERIFY_EMAIL=required)', { concurrency: 1 }, () => {
  let vsrv;
  let ctx;
  before(async () => {
    vsrv = await startServer({
      env: {
        GATEHOUSE_REGISTRATION: 'open',
        GATEHOUSE_VERIFY_EMAIL: 'required',
        GATEHOUSE_MAILER: 'smtp',
        GATEHOUSE_SMTP_ADDR: smtp.addr,
        GATEHOUSE_SMTP_FROM: 'gatehouse@example.com',
      },
    });
    ctx = await openPage(390, 'en-US', vsrv);
  });
  after(async () => {
    await ctx?.context.close();
    await vsrv?.stop();
  });

  test('register, confirm the address with the mailed code, then the overview', async () => {
    const { page } = ctx;
    const email = uniqueEmail('web-verify');
    const mark = smtp.lastId;
    await page.goto(`${vsrv.url}/account/#register`);
    await heading(page, 'Create an account');
    await page.getByLabel('Email address').fill(email);
    await page.getByLabel('Password').fill(GOOD_PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await heading(page, 'Confirm your address');
    const m = await mailTo(email, mark, 'verification mail');
    const code = /\b(\d{6})\b/.exec(m.text)?.[1];
    assert.ok(code, `a code in the mail: ${m.text}`);
    const wrong = code === '000000' ? '111111' : '000000';
    await page.getByLabel('Code from the email').fill(wrong);
    await page.getByRole('button', { name: 'Confirm address' }).click();
    await expectStatus(page, /not right or has expired/, 'a wrong code');
    await page.getByLabel('Code from the email').fill(code);
    await shot(page, 'phone-verify');
    await page.getByRole('button', { name: 'Confirm address' }).click();
    await heading(page, 'Your account');
    await page.getByText('verified', { exact: true }).waitFor();
    await assertFits(page, 390, 'overview after confirmation');
    await checkProblems(ctx.problems, 'address confirmation');
  });
});

describe('passkeys (a CDP virtual authenticator; the page at http://localhost, the RP ID)', { concurrency: 1 }, () => {
  let psrv;
  let origin;
  let ctx;
  let cdp;
  const account = { email: uniqueEmail('web-passkey'), password: GOOD_PASSWORD };
  before(async () => {
    const port = await freePort();
    origin = `http://localhost:${port}`;
    psrv = new GatehouseServer({ env: { GATEHOUSE_REGISTRATION: 'open', GATEHOUSE_PUBLIC_URL: origin } });
    await psrv.start({ port });
    ctx = await openPage(390, 'en-US', { url: origin });
    cdp = await ctx.context.newCDPSession(ctx.page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', ctap2Version: 'ctap2_1', transport: 'internal', hasResidentKey: true,
        hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
  });
  after(async () => {
    await ctx?.context.close();
    await psrv?.stop();
  });

  test('add a passkey, sign in with it, remove it', async () => {
    const { page } = ctx;
    await page.goto(`${origin}/account/#register`);
    await heading(page, 'Create an account');
    await page.getByLabel('Email address').fill(account.email);
    await page.getByLabel('Password').fill(account.password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await heading(page, 'Your account');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page.getByLabel('Name of the passkey (optional)').fill('Test phone');
    await page.getByRole('button', { name: 'Create passkey' }).click();
    await page.getByRole('heading', { name: 'Your recovery codes' }).waitFor();
    await expectStatus(page, /passkey has been added/, 'passkey added');
    await page.getByRole('button', { name: 'I have saved them' }).click();
    await page.getByRole('list', { name: 'Your passkeys' }).getByText('Test phone').waitFor();
    await shot(page, 'phone-passkey');
    await signOut(page);
    await signInPassword(page, account);
    await heading(page, 'Two-step verification');
    // The only method is the passkey: its form comes first.
    await page.getByRole('button', { name: 'Sign in' }).click();
    await heading(page, 'Your account');
    await page.getByRole('button', { name: 'Remove passkeys' }).click();
    await expectStatus(page, /Passkeys are off/, 'passkeys removed');
    await page.getByText('Two-factor authentication is off.', { exact: false }).waitFor();
    await checkProblems(ctx.problems, 'passkeys');
  });
});

// The check of issue 16 ("How it will be checked"), written as a script that has not seen the
// markup: fields by loose label patterns, buttons and links by loose name patterns, the server
// with its default settings (no GATEHOUSE_PUBLIC_URL, the outbox mailer), mail read from the
// .eml files of the data folder's outbox.
describe('the check of issue 16, as an outside script with default settings', { concurrency: 1 }, () => {
  let dsrv;
  before(async () => {
    dsrv = await startServer({ env: { GATEHOUSE_REGISTRATION: 'open' } });
  });
  after(async () => {
    await dsrv?.stop();
  });

  /** A mail in the outbox (an .eml file) to `to`, written after `since` (ms), whose text matches re. */
  async function outboxMail(to, since, re) {
    const dir = join(dsrv.dataDir, 'outbox');
    const deadline = Date.now() + MAIL_TIMEOUT;
    for (;;) {
      let files = [];
      try {
        files = readdirSync(dir).filter((f) => f.endsWith('.eml')).map((f) => join(dir, f));
      } catch {
        /* no mail yet */
      }
      const mails = files.filter((f) => statSync(f).mtimeMs >= since).map((f) => parseMessage(readFileSync(f, 'utf8')))
        .filter((m) => (m.headers.to || '').toLowerCase().includes(to.toLowerCase()) && re.test(m.text));
      if (mails.length) return mails[mails.length - 1];
      if (Date.now() > deadline) throw new Error(`no mail to ${to} in ${dir}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  for (const width of [1280, 390]) {
    test(`sign up, TOTP, sign out, sign in with a code, end a session, reset from the mailed link (${width} px)`, async () => {
      const { context, page, problems } = await openPage(width, 'en-US', dsrv);
      const account = { email: uniqueEmail(`check-${width}`), password: GOOD_PASSWORD, usedSteps: new Set() };
      const button = (re) => page.getByRole('button', { name: re });
      try {
        await page.goto(`${dsrv.url}/account/`);
        // Sign up.
        await page.getByRole('link', { name: /sign up|register|create/i }).click();
        await page.getByLabel(/e-?mail/i).fill(account.email);
        await page.getByLabel(/password/i).fill(account.password);
        await button(/sign up|register|create/i).click();
        // Enable TOTP: the secret from the page, the code computed here.
        await button(/authenticator|totp/i).click();
        account.secret = (await page.getByLabel(/secret/i).textContent()).replace(/\s+/g, '');
        await page.getByLabel(/code/i).fill(await freshCode(account));
        await button(/enable|verify|confirm|activate|turn on/i).click();
        await page.getByText(/recovery codes/i).first().waitFor();
        // Sign out.
        await button(/sign out|log out/i).click();
        // Sign in with a code.
        await page.getByLabel(/e-?mail/i).fill(account.email);
        await page.getByLabel(/password/i).fill(account.password);
        await button(/sign in|log in/i).click();
        await page.getByLabel(/code/i).fill(await freshCode(account));
        await button(/verify|sign in|log in|continue/i).click();
        // List the sessions and end the other one (a sign-in from elsewhere).
        const other = await request(dsrv.url, 'POST', '/auth/login', { json: { username: account.email, password: account.password } });
        assert.equal(other.status, 200);
        const rows = page.getByRole('listitem').filter({ has: page.getByRole('button', { name: /sign out|end|revoke/i }) });
        await rows.first().waitFor({ timeout: 30000 });
        assert.equal(await rows.count(), 1, 'one other session with a button');
        await rows.first().getByRole('button', { name: /sign out|end|revoke/i }).click();
        await rows.first().waitFor({ state: 'detached', timeout: 15000 });
        const after = await request(dsrv.url, 'GET', '/auth/accesstoken', { token: other.text });
        assert.equal(after.status, 401, 'the other session has ended');
        // Forget the password; the mailed link opens the reset form.
        await button(/sign out|log out/i).click();
        await page.getByRole('link', { name: /forgot/i }).click();
        const since = Date.now() - 1000;
        await page.getByLabel(/e-?mail/i).fill(account.email);
        await button(/send|reset/i).click();
        const mail = await outboxMail(account.email, since, /reset-password\?/);
        const link = /https?:\/\/\S+reset-password\?\S+/.exec(mail.text)?.[0];
        assert.ok(link?.startsWith(dsrv.url), `the link leads to this server: ${link}`);
        await page.goto(link);
        await page.getByLabel(/new password/i).fill(NEW_PASSWORD);
        await button(/reset|save|set|change/i).click();
        await page.getByLabel(/e-?mail/i).fill(account.email);
        await page.getByLabel(/password/i).fill(NEW_PASSWORD);
        await button(/sign in|log in/i).click();
        await page.getByLabel(/code/i).fill(await freshCode(account));
        await button(/verify|sign in|log in|continue/i).click();
        await page.getByRole('heading', { level: 1, name: /account/i }).waitFor();
        await assertFits(page, width, 'the check');
        await shot(page, `check-${width}`);
        await checkProblems(problems, `the check at ${width} px`);
      } finally {
        await context.close();
      }
    });
  }
});

describe('keyboard only', () => {
  test('sign in with Tab, typing and Enter; the focus moves to each view\'s heading', async () => {
    const email = uniqueEmail('web-keys');
    assert.equal((await request(srv.url, 'POST', '/user', { json: { email, password: GOOD_PASSWORD } })).status, 200);
    const { context, page, problems } = await openPage(390);
    try {
      await page.goto(`${srv.url}/account/`);
      await heading(page, 'Sign in');
      assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'H1', 'the focus is on the heading');
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('autocomplete')), 'username', 'Tab reaches the address');
      await page.keyboard.type(email);
      await page.keyboard.press('Tab');
      await page.keyboard.type(GOOD_PASSWORD);
      await page.keyboard.press('Enter');
      await heading(page, 'Your account');
      assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Your account', 'the focus moved to the new heading');
      // Every control of the overview is reachable with Tab, and shows where the focus is.
      const reached = new Set();
      for (let i = 0; i < 40; i++) {
        await page.keyboard.press('Tab');
        const f = await page.evaluate(() => {
          const el = document.activeElement;
          const style = el && getComputedStyle(el);
          return el && el !== document.body ? { name: el.textContent.trim(), outline: style.outlineStyle !== 'none' && style.outlineWidth !== '0px' } : null;
        });
        if (!f) continue;
        assert.ok(f.outline, `a visible focus ring on ${f.name}`);
        reached.add(f.name);
      }
      for (const name of ['Sign out', 'Change email address', 'Set up authenticator app (TOTP)', 'Set up email codes', 'Change password', 'Delete account…']) {
        assert.ok(reached.has(name), `Tab reaches "${name}" (reached: ${[...reached].join(', ')})`);
      }
      await checkProblems(problems, 'keyboard');
    } finally {
      await context.close();
    }
  });
});

describe('languages', () => {
  for (const [locale, title, button] of [['nl-NL', 'Inloggen', 'Inloggen'], ['fr-FR', 'Connexion', 'Se connecter'], ['de-DE', 'Anmelden', 'Anmelden'], ['es-ES', 'Sign in', 'Sign in']]) {
    test(`${locale}: the sign-in page in its language (English when not offered)`, async () => {
      const { context, page } = await openPage(390, locale);
      try {
        await page.goto(`${srv.url}/account/`);
        await heading(page, title);
        await page.getByRole('button', { name: button }).waitFor();
        assert.equal(await page.evaluate(() => document.documentElement.lang), locale === 'es-ES' ? 'en' : locale.slice(0, 2));
        await shot(page, `lang-${locale}`);
      } finally {
        await context.close();
      }
    });
  }
});

describe('the page over HTTP', () => {
  test('strict security headers on the page and its assets', async () => {
    for (const path of ['/account/', '/account/account.js', '/account/account.css']) {
      const r = await request(srv.url, 'GET', path);
      assert.equal(r.status, 200, path);
      const csp = r.headers.get('content-security-policy');
      assert.match(csp, /script-src 'self'/, `${path}: CSP ${csp}`);
      assert.match(csp, /frame-ancestors 'none'/, `${path}: CSP ${csp}`);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, `${path}: CSP ${csp}`);
      assert.equal(r.headers.get('referrer-policy'), 'no-referrer', path);
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff', path);
    }
  });

  test('GET /reset-password sends the browser to the reset form, the code in the fragment', async () => {
    const r = await request(srv.url, 'GET', '/reset-password?email=a%40example.com&otp=123456');
    assert.equal(r.status, 302);
    assert.equal(r.headers.get('location'), '/account/#reset?email=a%40example.com&otp=123456');
  });
});
