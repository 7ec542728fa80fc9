// Records WebAuthn ceremonies of Chromium's virtual authenticators (CDP WebAuthn domain) for
// the passkey plugin's unit tests: for ES256 (internal, resident key), EdDSA and RS256 (USB), a
// registration and an assertion on http://localhost:<port> with RP ID localhost, user handle
// "42", and the options given. Run from tests/web (for playwright-core, after npm ci):
//   cd tests/web && cp ../../plugins/passkey/passkey/testdata/record.mjs . &&
//   node record.mjs > ../../plugins/passkey/passkey/testdata/chromium-<version>.json; rm record.mjs
import { chromium } from 'playwright-core';
import { createServer } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const srv = createServer((q, r) => { r.writeHead(200, { 'content-type': 'text/html' }); r.end('<!doctype html><title>rec</title>'); });
await new Promise((r) => srv.listen(0, '127.0.0.1', r));
const origin = `http://localhost:${srv.address().port}`;
const ctx = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'rec-')), { executablePath: '/usr/bin/chromium', headless: true, args: ['--headless', '--no-sandbox'] });
const page = ctx.pages()[0] ?? await ctx.newPage();
await page.goto(origin);
const cdp = await ctx.newCDPSession(page);
await cdp.send('WebAuthn.enable');
const out = { origin, browser: ctx.browser()?.version?.() ?? 'chromium', ceremonies: [] };
for (const [transport, resident, alg] of [['internal', true, -7], ['usb', false, -8], ['usb', false, -257]]) {
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: { protocol: 'ctap2', ctap2Version: 'ctap2_1', transport, hasResidentKey: resident, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true } });
  const rec = await page.evaluate(async ([alg]) => {
    const b64u = (b) => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    const creation = { rp: { id: 'localhost', name: 'Gatehouse' }, user: { id: b64u(new TextEncoder().encode('42')), name: 'ada@example.com', displayName: 'ada@example.com' },
      challenge: b64u(crypto.getRandomValues(new Uint8Array(32))), pubKeyCredParams: [{ type: 'public-key', alg }], attestation: 'none', timeout: 300000,
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' } };
    const c = await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(creation) });
    const request = { challenge: b64u(crypto.getRandomValues(new Uint8Array(32))), rpId: 'localhost', allowCredentials: [{ type: 'public-key', id: c.id }], userVerification: 'preferred', timeout: 300000 };
    const g = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(request) });
    return { creation, registration: c.toJSON(), request, assertion: g.toJSON() };
  }, [alg]);
  out.ceremonies.push({ transport, alg, ...rec });
  await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
}
console.log(JSON.stringify(out, null, 1));
await ctx.close(); srv.close();
