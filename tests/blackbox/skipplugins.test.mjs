// Black-box suite of GATEHOUSE_SKIP_PLUGINS (issue 12): first-party plugins left out by name are
// not loaded (the server is ready, their 2FA routes answer 404, /openapi.json has none of them)
// while the rest serve as usual; a name that is not a first-party plugin, the mailer in use
// and a password policy in use are refused at start with a message naming the setting.
//
// Run: make build && GATEHOUSE_BIN=$PWD/bin/gatehouse node --test tests/blackbox/skipplugins.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, runCli, tempDir, freePort, FAST_ENV } from './lib.mjs';
import { rmSync } from 'node:fs';

test('skipped first-party plugins are not loaded; the others serve', async () => {
  const srv = await startServer({ env: { GATEHOUSE_REGISTRATION: 'open', GATEHOUSE_SKIP_PLUGINS: 'passkey,email-otp' } });
  try {
    const ready = await srv.request('GET', '/readyz');
    assert.equal(ready.status, 200, ready.text);
    const spec = await srv.request('GET', '/openapi.json');
    assert.equal(spec.status, 200);
    assert.doesNotMatch(spec.text, /\/user\/2fa\/passkey|\/user\/2fa\/email-otp/, 'openapi.json still has a skipped method');
    assert.match(spec.text, /\/user\/2fa\/totp\/setup/, 'openapi.json lacks totp');
    const { access } = await srv.newSession();
    for (const path of ['/user/2fa/passkey/setup', '/user/2fa/email-otp/setup']) {
      const r = await srv.request('POST', path, { token: access, json: {} });
      assert.equal(r.status, 404, `${path}: ${r.status} ${r.text}`);
    }
    const totp = await srv.request('POST', '/user/2fa/totp/setup', { token: access, json: {} });
    assert.equal(totp.status, 200, `totp setup: ${totp.status} ${totp.text}`);
  } finally {
    await srv.stop();
  }
});

async function refusedStart(skip, env = {}) {
  const data = tempDir();
  try {
    const port = await freePort();
    return await runCli(['serve'], { env: { ...FAST_ENV, GATEHOUSE_ADDR: `127.0.0.1:${port}`, GATEHOUSE_DATA: data, GATEHOUSE_SKIP_PLUGINS: skip, ...env }, timeoutMs: 60000 });
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
}

test('an unknown name, the mailer in use and a policy in use are refused at start', async () => {
  const cases = [
    ['twofactor.passkey', {}, /GATEHOUSE_SKIP_PLUGINS: "twofactor\.passkey" is not a first-party plugin \(password-default, .*passkey\)/],
    ['mailer-outbox', {}, /GATEHOUSE_SKIP_PLUGINS: "mailer-outbox" is the mailer in use/],
    ['password-default', {}, /GATEHOUSE_SKIP_PLUGINS: "password-default" is a password policy in use/],
  ];
  for (const [skip, env, want] of cases) {
    const r = await refusedStart(skip, env);
    assert.notEqual(r.code, 0, `${skip}: started`);
    assert.match(r.stderr, want, `${skip}: ${r.stderr}`);
  }
});
