// Black-box suite of issue 11 item 4: GATEHOUSE_PLUGIN_CONFIG reaches the plugins' configure
// (examples/nist-policy: minLength; examples/http-mailer: the request path), validated against
// each plugin's JSON Schema at start-up; a refused configuration, or a configured id no plugin
// has, stops the start with a message naming the plugin and the field; an unknown GATEHOUSE_*
// variable logs a warning with the closest setting.
//
// Run: make plugins && go build -o bin/gatehouse ./cmd/gatehouse && node --test tests/blackbox/pluginconfig.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { copyFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, runCli, tempDir, freePort, uniqueEmail, sleep, FAST_ENV } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const cache = resolve(here, '../../.cache/wasm');
const NIST = join(cache, 'examples_nist-policy.wasm');
const MAILER = join(cache, 'examples_http-mailer.wasm');
for (const f of [NIST, MAILER]) if (!existsSync(f)) throw new Error(`${f} not built: run \`make plugins\``);

function pluginsDir() {
  const dir = tempDir('gatehouse-bb-plugins-');
  copyFileSync(NIST, join(dir, 'nist.wasm'));
  copyFileSync(MAILER, join(dir, 'mailer.wasm'));
  return dir;
}

test('the configuration reaches nist-policy (minLength) and http-mailer (path), given as @file', async () => {
  const hits = [];
  const api = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => { hits.push({ url: req.url, body }); res.writeHead(202).end('{}'); });
  });
  const apiPort = await freePort();
  await new Promise((r) => api.listen(apiPort, '127.0.0.1', r));
  const dir = pluginsDir();
  const cfgFile = join(dir, 'plugin-config.json');
  writeFileSync(cfgFile, JSON.stringify({ 'password.nist': { minLength: 14 }, 'mailer.httpapi': { connection: 'mail', path: '/v3/custom-send' } }));
  const srv = await startServer({ env: {
    GATEHOUSE_REGISTRATION: 'open', GATEHOUSE_PLUGINS_DIR: dir,
    GATEHOUSE_PASSWORD_POLICIES: 'password.nist',
    GATEHOUSE_MAILER: 'mailer.httpapi', GATEHOUSE_PLUGIN_GRANTS: 'mailer.httpapi=http',
    GATEHOUSE_HTTP_CONNECTIONS: JSON.stringify({ mail: { baseURL: `http://127.0.0.1:${apiPort}`, pathPrefix: '/v3/' } }),
    GATEHOUSE_PLUGIN_CONFIG: '@' + cfgFile,
  } });
  try {
    // minLength 14 (the plugin's default is 8): a 13-character password is refused.
    const short = await srv.request('POST', '/user', { json: { email: uniqueEmail(), password: 'thirteen-char' } });
    assert.equal(short.status, 400, `13 characters under minLength 14: ${short.status} ${short.text}`);
    const email = uniqueEmail();
    const okr = await srv.request('POST', '/user', { json: { email, password: 'fourteen-chars' } });
    assert.equal(okr.status, 200, `14 characters: ${okr.status} ${okr.text}`);
    // The mailer posts to the configured path.
    await srv.request('POST', '/user/password/reset/send', { json: { email } });
    for (let i = 0; i < 200 && hits.length === 0; i++) await sleep(50);
    assert.equal(hits[0]?.url, '/v3/custom-send', `the mail API got ${JSON.stringify(hits)}`);
  } finally {
    await srv.stop();
    api.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

async function refusedStart(env) {
  const dir = pluginsDir();
  const data = tempDir();
  try {
    const port = await freePort();
    return await runCli(['serve'], { env: { ...FAST_ENV, GATEHOUSE_ADDR: `127.0.0.1:${port}`, GATEHOUSE_DATA: data, GATEHOUSE_PLUGINS_DIR: dir, ...env }, timeoutMs: 60000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(data, { recursive: true, force: true });
  }
}

test('a configuration the schema refuses stops the start, naming the plugin and the field', async () => {
  const r = await refusedStart({ GATEHOUSE_PASSWORD_POLICIES: 'password.nist', GATEHOUSE_PLUGIN_CONFIG: '{"password.nist": {"minLength": 5}}' });
  assert.equal(r.code, 1, `exit code; ${r.stderr}`);
  assert.match(r.stderr, /cannot start.*password\.nist.*config field \\?"\/minLength\\?": must be at least 8/);
  const typo = await refusedStart({ GATEHOUSE_PLUGIN_CONFIG: '{"password.nist": {"minLenght": 12}}' });
  assert.equal(typo.code, 1, typo.stderr);
  assert.match(typo.stderr, /password\.nist.*\/minLenght.*not a setting of this plugin \(it takes: minLength\)/);
});

test('a configured plugin id that is not found stops the start; an unknown GATEHOUSE_* variable is warned about', async () => {
  const r = await refusedStart({ GATEHOUSE_PLUGIN_CONFIG: '{"password.nsit": {}}' });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /plugin password\.nsit, configured in GATEHOUSE_PLUGIN_CONFIG, is not found/);
  const g = await refusedStart({ GATEHOUSE_PLUGIN_GRANTS: 'mailer.nope=http' });
  assert.equal(g.code, 1, g.stderr);
  assert.match(g.stderr, /plugin mailer\.nope, configured in GATEHOUSE_PLUGIN_GRANTS, is not found/);
  const w = await refusedStart({ GATEHOUSE_PASWORD_POLICIES: 'password.nist', GATEHOUSE_PLUGIN_CONFIG: '{"password.nsit": {}}' });
  assert.match(w.stderr, /GATEHOUSE_PASWORD_POLICIES is not a setting of gatehouse \(ignored\); did you mean GATEHOUSE_PASSWORD_POLICIES\?/);
});
