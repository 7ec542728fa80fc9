// Browser test of the Gatehouse API reference page (issue 6): GET /openapi.json validated
// against the OpenAPI 3.1 schema (@seriousme/openapi-schema-validator), then GET /docs loaded
// in Debian's Chromium driven by playwright-core (no browser download): every endpoint of the
// document rendered, grouped like the spec, with a curl example; no console error, no failed
// request, no request leaving the server (usable offline). A screenshot of the run goes to
// .cache/web/docs.png (tests/web/docs-screenshot.png is a committed one for the README), and
// the page at phone width (390 px) must not scroll sideways (.cache/web/docs-390.png). The
// document must also lint clean with @redocly/cli (0 errors; warnings are allowed).
//
// Run: make test-web   (or: cd tests/web && npm ci && cd ../.. &&
//      GATEHOUSE_BIN=$PWD/bin/gatehouse node --test tests/web/docs.test.mjs)
// CHROMIUM=/path/to/chromium overrides /usr/bin/chromium.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { Validator } from '@seriousme/openapi-schema-validator';
import { startServer } from '../blackbox/lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(here, '../..');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SCREENSHOT = join(REPO, '.cache/web/docs.png');
// The phone-width run (tests/web/docs-screenshot-390.png is a committed copy).
const PHONE_WIDTH = 390;
const PHONE_SCREENSHOT = join(REPO, '.cache/web/docs-390.png');
const METHODS = ['get', 'post', 'put', 'delete', 'patch'];
// The groups of API.md section 5, in its order, with the account holders' routes of issue 16
// (section 6: GET /user, sessions, DELETE /user, email verification) after registration.
const SPEC_GROUPS = ['Authentication', 'User: registration', 'User: account', 'User: 2FA', 'User: email and password', 'Operations'];

let srv;
let doc;
let docText;
let context;
let userDataDir;

before(async () => {
  srv = await startServer({ env: { GATEHOUSE_REGISTRATION: 'open' } });
  const r = await srv.request('GET', '/openapi.json');
  assert.equal(r.status, 200, `GET /openapi.json: ${r.status} ${r.text.slice(0, 200)}`);
  doc = r.json;
  docText = r.text;
});

after(async () => {
  await context?.close().catch(() => {});
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  await srv?.stop();
});

function endpoints(d) {
  const out = [];
  for (const [path, item] of Object.entries(d.paths)) {
    for (const m of Object.keys(item)) if (METHODS.includes(m)) out.push({ key: `${m.toUpperCase()} ${path}`, method: m, path, op: item[m] });
  }
  return out;
}

describe('GET /openapi.json', () => {
  test('is valid against the OpenAPI 3.1 schema', async () => {
    const validator = new Validator();
    const res = await validator.validate(JSON.parse(docText));
    assert.equal(validator.version, '3.1', `validated as OpenAPI ${validator.version}`);
    assert.ok(res.valid, `schema errors: ${JSON.stringify(res.errors, null, 1)?.slice(0, 3000)}`);
  });
});

describe('GET /openapi.json for linters and clients', () => {
  test('lint-clean: @redocly/cli lint (recommended rules) finds 0 errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-lint-'));
    try {
      const file = join(dir, 'openapi.json');
      writeFileSync(file, docText);
      const r = spawnSync(join(here, 'node_modules/.bin/redocly'), ['lint', '--format=json', file], {
        encoding: 'utf8',
        timeout: 120000,
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      });
      assert.ok(r.stdout, `redocly printed nothing: ${r.error ?? ''} ${r.stderr}`);
      const out = JSON.parse(r.stdout);
      const errors = out.problems.filter((p) => p.severity === 'error').map((p) => `${p.ruleId}: ${p.message} at ${p.location?.[0]?.pointer}`);
      assert.deepEqual(errors, [], 'redocly lint errors');
      assert.equal(out.totals.errors, 0, `redocly totals ${JSON.stringify(out.totals)}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('security on every operation ([] when public), a schema and a media type on every 2xx with a body', () => {
    const textAnswers = ['POST /auth/login', 'GET /auth/refreshtoken', 'GET /auth/accesstoken', 'GET /metrics'];
    for (const { key, op } of endpoints(doc)) {
      assert.ok(Array.isArray(op.security), `${key}: security is set`);
      for (const [status, resp] of Object.entries(op.responses)) {
        if (!status.startsWith('2') || status === '204') continue;
        const types = Object.keys(resp.content ?? {});
        assert.equal(types.length, 1, `${key} ${status}: one media type, not ${types}`);
        assert.ok(resp.content[types[0]].schema, `${key} ${status}: a schema`);
        if (textAnswers.includes(key)) assert.equal(types[0], 'text/plain', `${key}: answers text/plain`);
      }
    }
    const publicOps = endpoints(doc).filter((e) => e.op.security.length === 0).map((e) => e.key);
    for (const k of ['POST /auth/login', 'POST /user', 'GET /.well-known/jwks.json', 'GET /healthz', 'GET /docs'])
      assert.ok(publicOps.includes(k), `${k} is public (security: [])`);
    assert.ok(!publicOps.includes('GET /user/2fa'), 'GET /user/2fa needs a token');
    assert.equal(doc.paths['/docs'].get.responses['200'].content['text/html'].schema.type, 'string');
  });

  test('servers is the server itself', () => {
    assert.deepEqual(doc.servers.map((s) => s.url), ['/'], 'with the default issuer (a word), servers is "/": this server');
  });
});

describe('GET /docs in Chromium', { concurrency: 1 }, () => {
  let page;
  const consoleErrors = [];
  const pageErrors = [];
  const failedRequests = [];
  const badResponses = [];
  const foreign = [];

  before(async () => {
    userDataDir = mkdtempSync(join(tmpdir(), 'gatehouse-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1280, height: 900 },
    });
    // Offline: anything not served by Gatehouse itself is refused and recorded.
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(srv.url + '/') || url.startsWith('data:')) return route.continue();
      foreign.push(url);
      return route.abort();
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(`${msg.text()} @ ${msg.location()?.url ?? ''}`);
    });
    page.on('pageerror', (err) => pageErrors.push(String(err?.stack ?? err)));
    page.on('requestfailed', (req) => failedRequests.push(`${req.method()} ${req.url()}: ${req.failure()?.errorText}`));
    page.on('response', (res) => {
      if (res.status() >= 400) badResponses.push(`${res.request().method()} ${res.url()}: ${res.status()}`);
    });
    const resp = await page.goto(`${srv.url}/docs`, { waitUntil: 'load' });
    assert.equal(resp?.status(), 200, 'GET /docs');
    const want = endpoints(doc).length;
    await page.waitForFunction(
      (n) => document.querySelectorAll('article[data-endpoint]').length >= n || document.getElementById('error'),
      want,
      { timeout: 15000 },
    );
    await page.waitForLoadState('networkidle');
  });

  test('renders every endpoint of the document (data-endpoint="METHOD /path"), once', async () => {
    const rendered = await page.$$eval('article[data-endpoint]', (els) => els.map((e) => e.getAttribute('data-endpoint')));
    const expected = endpoints(doc).map((e) => e.key).sort();
    assert.deepEqual([...rendered].sort(), expected, 'rendered endpoints = the endpoints of /openapi.json');
    assert.equal(new Set(rendered).size, rendered.length, 'no endpoint rendered twice');
    assert.equal(await page.$('#error'), null, `no load error: ${await page.$eval('#error', (e) => e.textContent).catch(() => '')}`);
    const title = await page.textContent('#title');
    assert.match(title, new RegExp(doc.info.version.replace(/\./g, '\\.')), `title shows the version: ${title}`);
  });

  test('groups the endpoints like the spec, each under its tag', async () => {
    const sections = await page.$$eval('section', (els) =>
      els.map((s) => ({ name: s.querySelector('h2')?.textContent ?? '', endpoints: [...s.querySelectorAll('article[data-endpoint]')].map((a) => a.getAttribute('data-endpoint')) })),
    );
    assert.deepEqual(sections.map((s) => s.name), SPEC_GROUPS, 'section headings in the order of API.md section 5');
    for (const s of sections) {
      for (const key of s.endpoints) {
        const [m, p] = key.split(' ');
        const tag = doc.paths[p][m.toLowerCase()].tags?.[0];
        assert.equal(tag, s.name, `${key} rendered under "${s.name}", tagged "${tag}"`);
      }
    }
  });

  test('each endpoint shows its responses with message codes and a curl example', async () => {
    const arts = await page.$$eval('article[data-endpoint]', (els) =>
      els.map((a) => ({
        key: a.getAttribute('data-endpoint'),
        text: a.textContent,
        pre: a.querySelector('pre')?.textContent ?? '',
        rows: [...a.querySelectorAll('table')].pop()?.querySelectorAll('tr').length ?? 0,
      })),
    );
    for (const a of arts) {
      const [m, p] = a.key.split(' ');
      const op = doc.paths[p][m.toLowerCase()];
      assert.ok(a.pre.startsWith(`curl -X ${m} '${srv.url}${p}'`), `${a.key}: curl example: ${a.pre}`);
      if (op.security.length) assert.match(a.pre, /Authorization: Bearer/, `${a.key}: curl sends a token`);
      else assert.doesNotMatch(a.pre, /Authorization/, `${a.key}: a public route's curl sends no token`);
      const body = op.requestBody?.content?.['application/json']?.schema;
      if (body) {
        const m2 = /-d '(.*)'/.exec(a.pre);
        assert.ok(m2, `${a.key}: curl has a body`);
        const sent = JSON.parse(m2[1]);
        for (const f of body.required ?? []) assert.ok(f in sent, `${a.key}: example body has ${f}`);
      }
      assert.equal(a.rows, Object.keys(op.responses).length + 1, `${a.key}: one row per documented response`);
      for (const resp of Object.values(op.responses)) {
        for (const c of resp['x-message-codes'] ?? []) assert.ok(a.text.includes(c), `${a.key}: shows message code ${c}`);
      }
    }
  });

  test('no console error, no failed request, nothing fetched from outside the server', async () => {
    assert.deepEqual(pageErrors, [], 'uncaught page errors');
    assert.deepEqual(consoleErrors, [], 'console errors');
    assert.deepEqual(failedRequests, [], 'failed requests');
    assert.deepEqual(badResponses, [], 'responses >= 400');
    assert.deepEqual(foreign, [], 'requests to other hosts (the page must work offline)');
  });

  test('readable at 1280 px: no endpoint card overflows, no horizontal scrolling', async () => {
    const m = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      clientWidth: document.documentElement.clientWidth,
      overflowing: [...document.querySelectorAll('article[data-endpoint]')]
        .filter((a) => a.scrollWidth > a.clientWidth + 1)
        .map((a) => `${a.getAttribute('data-endpoint')} (${a.scrollWidth} px of content in ${a.clientWidth} px)`),
    }));
    assert.deepEqual(m.overflowing, [], 'endpoint cards whose content spills out of them');
    assert.ok(m.scrollWidth <= m.clientWidth, `the page is ${m.scrollWidth} px wide in a ${m.clientWidth} px window`);
  });

  test('screenshot', async () => {
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    const png = await page.screenshot({ path: SCREENSHOT });
    assert.ok(png.length > 10000, `a real screenshot (${png.length} bytes) at ${SCREENSHOT}`);
  });

  test('GET / leads to /docs', async () => {
    const p = await context.newPage();
    try {
      const resp = await p.goto(`${srv.url}/`, { waitUntil: 'load' });
      assert.equal(new URL(p.url()).pathname, '/docs', `GET / ended at ${p.url()}`);
      assert.equal(resp?.status(), 200);
      assert.equal(resp?.request().redirectedFrom()?.url(), `${srv.url}/`, 'reached through a redirect');
    } finally {
      await p.close();
    }
  });

  test('usable at phone width (390 px): nothing wider than the screen; screenshot', async () => {
    const p = await context.newPage();
    try {
      await p.setViewportSize({ width: PHONE_WIDTH, height: 844 });
      await p.goto(`${srv.url}/docs`, { waitUntil: 'load' });
      await p.waitForFunction((n) => document.querySelectorAll('article[data-endpoint]').length >= n, endpoints(doc).length, { timeout: 15000 });
      const m = await p.evaluate(() => ({
        scrollWidth: document.documentElement.scrollWidth,
        bodyScrollWidth: document.body.scrollWidth,
        clientWidth: document.documentElement.clientWidth,
        // Every element's right edge, to name the culprit when something sticks out.
        wide: [...document.querySelectorAll('body *')]
          .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
          .slice(0, 5)
          .map((e) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}${e.className ? '.' + e.className : ''}: right edge ${Math.round(e.getBoundingClientRect().right)} px`),
      }));
      assert.equal(m.clientWidth, PHONE_WIDTH, 'the layout viewport is the phone width (meta viewport)');
      assert.deepEqual(m.wide, [], 'elements reaching past the right edge of the screen');
      assert.ok(m.scrollWidth <= PHONE_WIDTH, `document.scrollWidth ${m.scrollWidth} > ${PHONE_WIDTH}`);
      assert.ok(m.bodyScrollWidth <= PHONE_WIDTH, `body.scrollWidth ${m.bodyScrollWidth} > ${PHONE_WIDTH}`);
      mkdirSync(dirname(PHONE_SCREENSHOT), { recursive: true });
      const png = await p.screenshot({ path: PHONE_SCREENSHOT });
      assert.ok(png.length > 10000, `a real screenshot (${png.length} bytes) at ${PHONE_SCREENSHOT}`);
    } finally {
      await p.close();
    }
  });
});
