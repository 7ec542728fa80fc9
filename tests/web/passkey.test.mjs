// Browser test of passkeys (issue 14): Debian's Chromium driven by playwright-core, with CDP
// virtual authenticators (WebAuthn.enable, WebAuthn.addVirtualAuthenticator: ctap2, internal
// transport, resident keys, user verification). A small page served by this test on
// http://localhost:<port> (an accepted origin, GATEHOUSE_PUBLIC_URL; RP ID localhost) calls the
// API cross-origin as a browser app would, with the README's browser code
// (PublicKeyCredential.parseCreationOptionsFromJSON / parseRequestOptionsFromJSON, toJSON()):
// register an account, add a passkey (enable), log in with the password, authenticate with the
// passkey, add a second authenticator (a USB security key) with a sudo token, authenticate with
// each, and remove the method.
//
// Run: make test-web   (or: cd tests/web && npm ci && cd ../.. &&
//      GATEHOUSE_BIN=$PWD/bin/gatehouse node --test tests/web/passkey.test.mjs)
// CHROMIUM=/path/to/chromium overrides /usr/bin/chromium.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer, uniqueEmail, GOOD_PASSWORD, decodeJwt } from '../blackbox/lib.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

// The page: the app's code. The two functions in the middle are the README's.
const PAGE = `<!doctype html>
<html lang="en"><meta charset="utf-8"><title>Gatehouse passkeys</title>
<body><h1>Gatehouse passkeys (test page)</h1>
<script>
const API = new URLSearchParams(location.search).get('api');

async function api(method, path, token, body) {
  const headers = {};
  if (token) headers.authorization = 'Bearer ' + token;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  if (!r.ok) throw new Error(method + ' ' + path + ': ' + r.status + ' ' + text);
  try { return JSON.parse(text); } catch { return text; }
}

// Add a passkey to the account (a sudo token once one is active).
async function addPasskey(token, name) {
  const { publicKey } = await api('POST', '/user/2fa/passkey/setup', token, name ? { name } : {});
  const credential = await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(publicKey) });
  return api('POST', '/user/2fa/passkey/enable', token, { credential: credential.toJSON() });
}

// Prove the second factor (a partial token after the password, or an access token for sudo).
async function usePasskey(token) {
  const { publicKey } = await api('POST', '/user/2fa/passkey/challenge', token, {});
  const credential = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(publicKey) });
  return api('POST', '/user/2fa/passkey/authenticate', token, { credential: credential.toJSON() });
}

async function login(email, password) {
  return api('POST', '/auth/login', undefined, { username: email, password });
}
</script>
</body></html>`;

let page;
let pageServer;
let pageOrigin;
let srv;
let context;
let userDataDir;
let cdp;
const problems = [];

before(async () => {
  pageServer = createServer((req, res) => {
    if (req.url.startsWith('/?') || req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(PAGE);
    } else if (req.url === '/favicon.ico') {
      res.writeHead(204).end();
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => pageServer.listen(0, '127.0.0.1', r));
  pageOrigin = `http://localhost:${pageServer.address().port}`;
  srv = await startServer({
    env: {
      GATEHOUSE_REGISTRATION: 'open',
      GATEHOUSE_PUBLIC_URL: pageOrigin,
      GATEHOUSE_ORIGINS: pageOrigin,
      GATEHOUSE_WEBAUTHN_RP_NAME: 'Gatehouse browser test',
    },
  });
  userDataDir = mkdtempSync(join(tmpdir(), 'gatehouse-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (msg) => msg.type() === 'error' && problems.push(`console: ${msg.text()} @ ${msg.location()?.url ?? ''}`));
  page.on('pageerror', (err) => problems.push(`page error: ${err}`));
  page.on('requestfailed', (req) => problems.push(`request failed: ${req.method()} ${req.url()}: ${req.failure()?.errorText}`));
  const resp = await page.goto(`${pageOrigin}/?api=${encodeURIComponent(srv.url)}`, { waitUntil: 'load' });
  assert.equal(resp?.status(), 200);
  cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
});

after(async () => {
  await context?.close().catch(() => {});
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  await srv?.stop();
  await new Promise((r) => (pageServer ? pageServer.close(r) : r()));
});

async function addAuthenticator(options) {
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', ctap2Version: 'ctap2_1', hasUserVerification: true, isUserVerified: true,
      automaticPresenceSimulation: true, ...options },
  });
  return authenticatorId;
}

/** Only `id` answers ceremonies: the others wait for a touch that never comes. */
async function onlyAnswering(id, all) {
  for (const other of all) {
    await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId: other, enabled: other === id });
  }
}

const typ = (t) => decodeJwt(t).payload.typ;
const inPage = (fn, ...args) => page.evaluate(fn, args);

test('a passkey in a real browser: register, log in, authenticate, a second authenticator, remove', async () => {
  const email = uniqueEmail('browser');
  const platform = await addAuthenticator({ transport: 'internal', hasResidentKey: true });

  // Register an account and get an access token, as the app does.
  const access = await inPage(async ([email, password]) => {
    await api('POST', '/user', undefined, { email, password });
    const refresh = await login(email, password);
    return api('GET', '/auth/accesstoken', refresh);
  }, email, GOOD_PASSWORD);
  assert.equal(typ(access), 'access');

  // Add the built-in passkey.
  const enabled = await inPage(([token]) => addPasskey(token, 'This laptop'), access);
  assert.equal(enabled.recoveryCodes.length, 10, JSON.stringify(enabled));
  const { credentials: onPlatform } = await cdp.send('WebAuthn.getCredentials', { authenticatorId: platform });
  assert.equal(onPlatform.length, 1, 'the platform authenticator holds one credential');
  assert.equal(onPlatform[0].rpId, 'localhost');
  assert.equal(onPlatform[0].isResidentCredential, true, 'a resident (discoverable) key');

  // Log in with the password: a partial token; the passkey gives the three tokens.
  const tokens = await inPage(async ([email, password]) => {
    const partial = await login(email, password);
    return { partial, out: await usePasskey(partial) };
  }, email, GOOD_PASSWORD);
  assert.equal(typ(tokens.partial), 'partial');
  assert.deepEqual(Object.keys(tokens.out).sort(), ['accessToken', 'refreshToken', 'sudoToken']);
  const { credentials: used } = await cdp.send('WebAuthn.getCredentials', { authenticatorId: platform });
  assert.ok(used[0].signCount >= 1, `the authenticator signed: counter ${used[0].signCount}`);

  // A second authenticator, a USB security key, added with a sudo token.
  const usbKey = await addAuthenticator({ transport: 'usb', hasResidentKey: false });
  const both = [platform, usbKey];
  const sudo = (await inPage(([token]) => usePasskey(token), tokens.out.accessToken)).sudoToken;
  assert.equal(typ(sudo), 'sudo');
  await onlyAnswering(usbKey, both);
  const second = await inPage(([token]) => addPasskey(token, 'Security key'), sudo);
  assert.deepEqual(second, { recoveryCodes: [] });
  const { credentials: onKey } = await cdp.send('WebAuthn.getCredentials', { authenticatorId: usbKey });
  assert.equal(onKey.length, 1, 'the security key holds one credential');

  const summary = await inPage(([token]) => api('GET', '/user/2fa', token), tokens.out.accessToken);
  assert.equal(summary.enabled, true);
  assert.deepEqual(summary.passkey.credentials.map((c) => c.name), ['This laptop', 'Security key']);
  assert.deepEqual(summary.passkey.credentials.map((c) => c.id),
    [onPlatform[0].credentialId, onKey[0].credentialId].map((id) => Buffer.from(id, 'base64').toString('base64url')));

  // Each authenticator alone completes a password login.
  for (const [name, id] of [['security key', usbKey], ['platform', platform]]) {
    await onlyAnswering(id, both);
    const out = await inPage(async ([email, password]) => usePasskey(await login(email, password)), email, GOOD_PASSWORD);
    assert.ok(out.accessToken && out.sudoToken, `${name}: ${JSON.stringify(out)}`);
  }

  // Remove the method (sudo), then the password alone logs in.
  const after = await inPage(async ([token, email, password]) => {
    const { sudoToken } = await usePasskey(token);
    const deleted = await fetch(API + '/user/2fa/passkey', { method: 'DELETE', headers: { authorization: 'Bearer ' + sudoToken } });
    return { status: deleted.status, body: await deleted.text(), login: await login(email, password) };
  }, tokens.out.accessToken, email, GOOD_PASSWORD);
  assert.equal(after.status, 200);
  assert.equal(after.body.trim(), 'null');
  assert.equal(typ(after.login), 'refresh', 'no second factor any more');
  assert.deepEqual(problems, [], 'no console error, page error or failed request');
});
