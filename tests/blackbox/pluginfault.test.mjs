// Black-box suite of issue 11 item 8: a plugin fault is not the user's fault.
//  - A plugin whose circuit breaker is open (5 failed calls in a row) answers 503
//    PLUGIN_UNAVAILABLE with Retry-After (and retryAfter in the envelope, as a 429), not 500;
//    the trap's cause is in the log.
//  - A configured 2FA plugin that failed to load (here: its crypto capability is not granted)
//    answers its routes with 503 PLUGIN_UNAVAILABLE instead of 404, so a user who had enabled it
//    is told why; GET /user/2fa still lists it.
//
// Fixtures: host/testdata/chaos.wasm (committed; password "...T" traps) and
// host/testdata/twofactor-granted, built here with `go build` when .cache/wasm lacks it.
//
// Run: go build -o bin/gatehouse ./cmd/gatehouse && node --test tests/blackbox/pluginfault.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, tempDir, assertError, uniqueEmail, GOOD_PASSWORD, request } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const CHAOS = join(root, 'host/testdata/chaos.wasm');

function grantedWasm() {
  const out = join(root, '.cache/wasm/host_testdata_twofactor-granted.wasm');
  if (!existsSync(out)) {
    mkdirSync(dirname(out), { recursive: true });
    execFileSync('go', ['build', '-buildmode=c-shared', '-trimpath', '-o', out, './host/testdata/twofactor-granted'], {
      cwd: root, env: { ...process.env, GOOS: 'wasip1', GOARCH: 'wasm', CGO_ENABLED: '0', GOFLAGS: '' }, stdio: 'inherit',
    });
  }
  return out;
}

/** Wait for /healthz (the process serves), for a server that is not ready. */
async function waitLive(srv, timeoutMs = 60000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (srv.exit) throw new Error(`gatehouse exited early (${JSON.stringify(srv.exit)})`);
    try {
      const r = await fetch(`${srv.url}/healthz`);
      await r.arrayBuffer();
      if (r.status === 200) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('gatehouse not live');
}

test('an open circuit breaker answers 503 PLUGIN_UNAVAILABLE with Retry-After, and the trap is logged with its cause', async () => {
  const dir = tempDir('gatehouse-bb-plugins-');
  copyFileSync(CHAOS, join(dir, 'chaos.wasm'));
  const srv = await startServer({ env: {
    GATEHOUSE_REGISTRATION: 'open', GATEHOUSE_PLUGINS_DIR: dir,
    GATEHOUSE_PASSWORD_POLICIES: 'password.default,password.chaos',
  } });
  try {
    // A password ending in T makes the chaos policy trap: 500 PLUGIN_FAILED, five times in a row.
    // The circuit breaker is per process: on PostgreSQL every request of this test goes to node A.
    const register = () => request(srv.url, 'POST', '/user', { json: { email: uniqueEmail(), password: 'Correct-Horse-9T' } });
    for (let i = 0; i < 5; i++) {
      const r = await register();
      assertError(r, 500, 'PLUGIN_FAILED', `trap ${i}`);
      assert.ok(r.headers.get('x-request-id'), 'a 500 names the request');
    }
    // Now the breaker is open: the plugin is not run, and the answer says it is not the user's fault.
    for (const r of [await register(), await request(srv.url, 'POST', '/user', { json: { email: uniqueEmail(), password: GOOD_PASSWORD } })]) {
      assert.equal(r.status, 503, `circuit open: ${r.status} ${r.text}`);
      assert.deepEqual(r.json, { statusCode: 503, error: 'Service Unavailable', message: 'PLUGIN_UNAVAILABLE', retryAfter: 1 });
      assert.equal(r.headers.get('retry-after'), '1', 'Retry-After: the rest of the 1 s cooldown, rounded up');
    }
    assert.match(srv.logs, /plugin call failed.*plugin=password\.chaos.*hook=password_check.*code=PLUGIN_FAILED.*cause="wasm error: unreachable"/);
    assert.match(srv.logs, /calls fail fast.*last_error=.*wasm error: unreachable/);
    // After the cooldown the plugin is tried again: a good password registers.
    await new Promise((r) => setTimeout(r, 1100));
    const r = await request(srv.url, 'POST', '/user', { json: { email: uniqueEmail(), password: GOOD_PASSWORD } });
    assert.equal(r.status, 200, `after the cooldown: ${r.status} ${r.text}`);
  } finally {
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a 2FA plugin that failed to load answers its routes with 503 PLUGIN_UNAVAILABLE, not 404', async () => {
  const dir = tempDir('gatehouse-bb-plugins-');
  copyFileSync(grantedWasm(), join(dir, 'keyed.wasm'));
  const env = { GATEHOUSE_REGISTRATION: 'open', GATEHOUSE_PLUGINS_DIR: dir, GATEHOUSE_LOG_LEVEL: 'info' };
  const srv = await startServer({ env: { ...env, GATEHOUSE_PLUGIN_GRANTS: 'twofactor.keyed=crypto' } });
  try {
    // With the grant the method works: the user enables it.
    const u = await srv.newSession();
    const setup = await srv.request('POST', '/user/2fa/keyed/setup', { token: u.access, json: {} });
    assert.equal(setup.status, 200, setup.text);
    const en = await srv.request('POST', '/user/2fa/keyed/enable', { token: u.access, json: { code: '123456' } });
    assert.equal(en.status, 200, en.text);

    // The operator drops the grant: the plugin does not load (/readyz says so) ...
    srv.extraEnv = { ...srv.extraEnv, GATEHOUSE_PLUGIN_GRANTS: '' };
    srv.waitReady = () => waitLive(srv); // /readyz stays 503 now
    await srv.restart();
    assertError(await srv.request('GET', '/readyz'), 503, 'PLUGIN_NOT_LOADED: twofactor.keyed');
    assert.match(srv.logs, /2FA method not loaded: its routes answer 503 PLUGIN_UNAVAILABLE.*plugin=twofactor\.keyed/);

    // ... and the user who logs in is told the method is unavailable, not that it does not exist.
    const partial = await srv.login(u.email, u.password);
    assert.equal(partial.status, 200, partial.text);
    assertError(await srv.request('POST', '/user/2fa/keyed/authenticate', { token: partial.text, json: { code: '123456' } }), 503, 'PLUGIN_UNAVAILABLE');
    assertError(await srv.request('POST', '/user/2fa/keyed/setup', { token: partial.text, json: {} }), 401);
    // GET /user/2fa still lists what it can.
    const st = await srv.request('GET', '/user/2fa', { token: partial.text });
    assert.equal(st.status, 200, st.text);
    assert.equal(st.json.enabled, true);
    assert.deepEqual(st.json.methods.map((m) => m.id), ['keyed']);
    // A fresh user gets the same 503 at setup.
    const v = await srv.newSession();
    assertError(await srv.request('POST', '/user/2fa/keyed/setup', { token: v.access, json: {} }), 503, 'PLUGIN_UNAVAILABLE');
  } finally {
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
