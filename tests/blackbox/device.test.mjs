// Black-box tests of the device tokens (issue 16): a lockout that a stranger cannot turn
// against the account's owner. A successful login hands out a device token (header
// X-Gatehouse-Device and the gh_device cookie); a login that presents a valid one for that
// account is counted on its own (user, device) counter. Spec section 3 (the guess limiter and
// its 429 wait) still holds for every counter.
//
// Run: make build && GATEHOUSE_BIN=$PWD/bin/gatehouse node --test tests/blackbox/device.test.mjs

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, assertError, assertTokenText, sleep } from './lib.mjs';

let srv;
before(async () => {
  srv = await startServer({ env: { GATEHOUSE_REGISTRATION: 'open' } });
});
after(async () => {
  await srv?.stop();
});

const login = (username, password, headers = {}) =>
  srv.request('POST', '/auth/login', { json: { username, password }, headers });

/** The owner's first login: returns its device token (header and cookie agree). */
async function ownerDevice(u) {
  const r = await login(u.email, u.password);
  assertTokenText(r, 'owner login');
  const device = r.headers.get('x-gatehouse-device');
  assert.match(device ?? '', /^\d+\.\d+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'device token header');
  const cookie = r.headers.getSetCookie().find((c) => c.startsWith('gh_device='));
  assert.ok(cookie, 'gh_device cookie');
  assert.equal(cookie.split(';')[0], `gh_device=${device}`);
  return { device, cookie };
}

/**
 * The attacker: 20 wrong passwords (without a device token unless headers give one). A 429 is waited out while its wait
 * is under 16 s, so the account's counter ends with at least 16 s to wait (the last ones are
 * refused unevaluated, as spec section 3 says).
 */
async function attack(email, headers = {}) {
  let last;
  for (let i = 0; i < 20; i++) {
    last = await login(email, 'Wrong-Password-1', headers);
    if (last.status === 429 && last.json.retryAfter < 16) await sleep(last.json.retryAfter * 1000 + 50);
    else if (last.status !== 429) assertError(last, 401, 'PASSWORD_INCORRECT');
  }
  assertError(last, 429, 'TOO_MANY_FAILED_PASSWORD_CHECKS', 'the attack ends throttled');
  assert.ok(last.json.retryAfter >= 16, `retryAfter ${last.json.retryAfter}`);
}

describe('device tokens', { concurrency: true }, () => {
  test('the login answer sets gh_device: HttpOnly, Secure, SameSite=Strict, for the login path, a year', async () => {
    const u = await srv.register();
    const { cookie } = await ownerDevice(u);
    const attrs = cookie.split(';').map((s) => s.trim().toLowerCase());
    assert.ok(attrs.includes('httponly'), cookie);
    assert.ok(attrs.includes('secure'), cookie);
    assert.ok(attrs.includes('samesite=strict'), cookie);
    assert.ok(attrs.includes('path=/auth/login'), cookie);
    assert.ok(attrs.includes(`max-age=${365 * 24 * 3600}`), cookie);
  });

  test('an attacker\'s 20 wrong passwords: the owner\'s known device logs in at once, a new device is throttled', async () => {
    const u = await srv.register();
    const { device } = await ownerDevice(u);
    await attack(u.email);
    // A new device (no token), even with the right password: the account's counter, throttled.
    const fresh = assertError(await login(u.email, u.password), 429, 'TOO_MANY_FAILED_PASSWORD_CHECKS', 'new device');
    assert.ok(fresh.retryAfter > 0);
    // The owner's known device, as the header: its own counter, never failed.
    const owner = await login(u.email, u.password, { 'x-gatehouse-device': device });
    assertTokenText(owner, 'the owner\'s device logs in at once');
    const next = owner.headers.get('x-gatehouse-device');
    assert.ok(next && next !== device, 'a new device token each login');
    // ... and as the cookie a browser sends back.
    assertTokenText(await login(u.email, u.password, { cookie: `gh_device=${next}` }), 'the cookie works too');
    // The older token stays valid (it is in date and signed), the new device still throttled.
    assertTokenText(await login(u.email, u.password, { 'x-gatehouse-device': device }), 'older device token');
    assertError(await login(u.email, u.password), 429, 'TOO_MANY_FAILED_PASSWORD_CHECKS', 'new device still throttled');
  });

  test('a device token that is not valid for the account counts on the account\'s counter', async () => {
    const u = await srv.register();
    const other = await srv.register();
    const { device: otherDevice } = await ownerDevice(other);
    const { device } = await ownerDevice(u);
    await attack(u.email);
    const [id, issued, dev, mac] = device.split('.');
    const forged = [
      ['another account\'s token', otherDevice],
      ['the account id swapped in', [other.userId, issued, dev, mac].join('.')],
      ['a changed device id', [id, issued, 'AAAAAAAAAAAAAAAAAAAAAA', mac].join('.')],
      ['a changed MAC', [id, issued, dev, 'A'.repeat(mac.length)].join('.')],
      ['garbage', 'x'.repeat(300)],
    ];
    for (const [what, tok] of forged) {
      assertError(await login(u.email, u.password, { 'x-gatehouse-device': tok }), 429, 'TOO_MANY_FAILED_PASSWORD_CHECKS', what);
    }
    assertTokenText(await login(u.email, u.password, { 'x-gatehouse-device': device }), 'the real device');
  });

  test('a known device\'s own wrong passwords throttle that device alone', async () => {
    const u = await srv.register();
    const { device: mine } = await ownerDevice(u);
    const { device: stolen } = await ownerDevice(u);
    await attack(u.email, { 'x-gatehouse-device': stolen });
    assertError(await login(u.email, u.password, { 'x-gatehouse-device': stolen }), 429, 'TOO_MANY_FAILED_PASSWORD_CHECKS', 'that device');
    assertTokenText(await login(u.email, u.password, { 'x-gatehouse-device': mine }), 'another device of the owner');
    assertTokenText(await login(u.email, u.password), 'a new device: the account counter was not touched');
  });

  test('an unknown username with a device token is throttled as before (no enumeration)', async () => {
    const u = await srv.register();
    const { device } = await ownerDevice(u);
    const r = await login('nobody-' + u.email, u.password, { 'x-gatehouse-device': device });
    assertError(r, 401, 'PASSWORD_INCORRECT');
    assert.equal(r.headers.get('x-gatehouse-device'), null, 'no device token on a failure');
  });
});
