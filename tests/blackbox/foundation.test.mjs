// Black-box suite for the Gatehouse foundation (issue 2): accounts, passwords, tokens,
// sessions, the seed endpoint PUT /user/password/old-password, the login throttle, errors.
// Contract: ../../../shared/spec/API.md sections 1-3 and 5 (Authentication, registration,
// old-password) and the seed page. Node.js standard library only.
//
// Run: make build && GATEHOUSE_BIN=$PWD/bin/gatehouse node --test tests/blackbox/

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, createPublicKey, verify as cryptoVerify, randomBytes } from 'node:crypto';
import {
  startServer,
  sleep,
  uniqueEmail,
  GOOD_PASSWORD,
  assertError,
  decodeJwt,
  crossNode,
  b64url,
  b64urlJson,
} from './lib.mjs';

const ISSUER = `https://issuer.gatehouse.test/${randomBytes(3).toString('hex')}`;
const JWT_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Shared server: open registration, a custom issuer, default token lifetimes. */
let srv;
const startedServers = new Set();
async function ownServer(opts) {
  const s = await startServer(opts);
  startedServers.add(s);
  return s;
}

before(async () => {
  srv = await ownServer({ env: { GATEHOUSE_REGISTRATION: 'open', GATEHOUSE_ISSUER: ISSUER } });
});

after(async () => {
  await Promise.all([...startedServers].map((s) => s.stop()));
});

function assertTokenResponse(r, what) {
  assert.equal(r.status, 200, `${what}: ${r.status} ${r.text}`);
  assert.match(r.headers.get('content-type') || '', /^text\/plain/i, `${what} content-type`);
  assert.match(r.text, JWT_RE, `${what} is a bare JWT (no quotes, no whitespace)`);
  return r.text;
}

function assertNullBody(r, what) {
  assert.equal(r.status, 200, `${what}: ${r.status} ${r.text}`);
  assert.match(r.headers.get('content-type') || '', /^application\/json/i, `${what} content-type`);
  assert.equal(r.text.trim(), 'null', `${what} body is JSON null`);
}

function assertUserId(r, userId, what) {
  assert.equal(r.status, 200, `${what}: ${r.status} ${r.text}`);
  assert.match(r.headers.get('content-type') || '', /^application\/json/i, `${what} content-type`);
  assert.deepEqual(r.json, { userId }, what);
}

/** Up to `n` wrong-password logins, asserting each is 401 PASSWORD_INCORRECT. */
async function failLogins(s, username, n, note) {
  for (let i = 1; i <= n; i++) {
    const r = await s.login(username, 'Wrong-Password-1');
    assertError(r, 401, 'PASSWORD_INCORRECT', `${note} failure #${i}`);
  }
}

describe('gatehouse foundation', { concurrency: true }, () => {
  // ------------------------------------------------------------------ registration
  describe('registration: POST /user', { concurrency: true }, () => {
    test('200 {userId} with an integer id; distinct users get distinct ids', async () => {
      const a = await srv.request('POST', '/user', { json: { email: uniqueEmail('reg'), password: GOOD_PASSWORD } });
      const b = await srv.request('POST', '/user', { json: { email: uniqueEmail('reg'), password: GOOD_PASSWORD } });
      for (const r of [a, b]) {
        assert.equal(r.status, 200, r.text);
        assert.match(r.headers.get('content-type') || '', /^application\/json/i);
        assert.deepEqual(Object.keys(r.json), ['userId']);
        assert.ok(Number.isInteger(r.json.userId), `userId is an integer: ${r.text}`);
      }
      assert.notEqual(a.json.userId, b.json.userId);
    });

    test('unknown body properties are ignored', async () => {
      const r = await srv.request('POST', '/user', {
        json: { email: uniqueEmail('extra'), password: GOOD_PASSWORD, favouriteColour: 'green' },
      });
      assert.equal(r.status, 200, r.text);
      assert.ok(Number.isInteger(r.json.userId));
    });

    test('409 EMAIL_ALREADY_IN_USE, compared case-insensitively; login is case-insensitive', async () => {
      const local = `dup-${randomBytes(5).toString('hex')}`;
      const u = await srv.register(`${local}@example.com`);
      assertError(await srv.request('POST', '/user', { json: { email: `${local}@example.com`, password: GOOD_PASSWORD } }),
        409, 'EMAIL_ALREADY_IN_USE', 'same address');
      assertError(await srv.request('POST', '/user', { json: { email: `${local.toUpperCase()}@EXAMPLE.COM`, password: GOOD_PASSWORD } }),
        409, 'EMAIL_ALREADY_IN_USE', 'upper-cased address');
      const l = await srv.login(`${local.toUpperCase()}@Example.Com`, u.password);
      const t = assertTokenResponse(l, 'login with differently-cased email');
      assert.equal(decodeJwt(t).payload.sub, String(u.userId));
    });

    test('400 password-policy messages exactly as the spec', async () => {
      const cases = [
        ['alllowercase1', 'Password must contain at least one uppercase character'],
        ['stringst', 'Password must contain at least one uppercase character'],
        ['ALLUPPERCASE1', 'Password must contain at least one lowercase character'],
        ['NoDigitsInHere', 'Password must contain at least one digit'],
        ['Ab1cdef', 'body/password must NOT have fewer than 8 characters'],
        ['Ab1' + 'x'.repeat(254), 'body/password must NOT have more than 256 characters'],
      ];
      for (const [password, message] of cases) {
        const r = await srv.request('POST', '/user', { json: { email: uniqueEmail('pol'), password } });
        assertError(r, 400, message, `password ${JSON.stringify(password.slice(0, 20))}`);
      }
      // Boundaries are accepted: exactly 8 and exactly 256 characters.
      for (const password of ['Abcdef1x', 'Ab1' + 'x'.repeat(253)]) {
        const r = await srv.request('POST', '/user', { json: { email: uniqueEmail('pol'), password } });
        assert.equal(r.status, 200, `length ${password.length}: ${r.text}`);
      }
    });

    test('400 validator-style messages', async () => {
      const cases = [
        [{ password: GOOD_PASSWORD }, "body must have required property 'email'"],
        [{ email: uniqueEmail('val') }, "body must have required property 'password'"],
        [{ email: 'not-an-email', password: GOOD_PASSWORD }, 'body/email must match format "email"'],
        [{ email: 42, password: GOOD_PASSWORD }, 'body/email must be string'],
        [{ email: uniqueEmail('val'), password: 12345678 }, 'body/password must be string'],
      ];
      for (const [json, message] of cases) {
        assertError(await srv.request('POST', '/user', { json }), 400, message, JSON.stringify(json));
      }
      // Malformed JSON and a non-object body: 400 in the envelope.
      assertError(await srv.request('POST', '/user', { body: '{"email": ', headers: { 'content-type': 'application/json' } }),
        400, undefined, 'malformed JSON');
      assertError(await srv.request('POST', '/user', { json: [1, 2] }), 400, undefined, 'array body');
    });

    test('403 FORBIDDEN_MAIL_PROVIDER for a disposable domain', async () => {
      for (const email of [
        `x-${randomBytes(4).toString('hex')}@mailinator.com`,
        `x-${randomBytes(4).toString('hex')}@Mailinator.COM`,
      ]) {
        assertError(await srv.request('POST', '/user', { json: { email, password: GOOD_PASSWORD } }),
          403, 'FORBIDDEN_MAIL_PROVIDER', email);
      }
    });

    test('403 REGISTRATION_CLOSED when registration is closed', async () => {
      const closed = await ownServer({ env: { GATEHOUSE_REGISTRATION: 'closed' } });
      const r = await closed.request('POST', '/user', { json: { email: uniqueEmail('closed'), password: GOOD_PASSWORD } });
      assertError(r, 403, 'REGISTRATION_CLOSED');
      await closed.stop();
      startedServers.delete(closed);
    });

    test('registration defaults to closed when GATEHOUSE_REGISTRATION is unset', async () => {
      const dflt = await ownServer({});
      const r = await dflt.request('POST', '/user', { json: { email: uniqueEmail('dflt'), password: GOOD_PASSWORD } });
      assertError(r, 403, 'REGISTRATION_CLOSED');
      await dflt.stop();
      startedServers.delete(dflt);
    });
  });

  // ------------------------------------------------------------------ CLI
  test('`gatehouse user create` with closed registration, then login', async () => {
    const s = await ownServer({ env: { GATEHOUSE_REGISTRATION: 'closed', GATEHOUSE_ISSUER: ISSUER } });
    const email = uniqueEmail('cli');
    const password = 'Cli-Created-Pw7';
    assertError(await s.request('POST', '/user', { json: { email, password } }), 403, 'REGISTRATION_CLOSED');
    await s.kill('SIGTERM');

    const created = await s.cli(['user', 'create', '--email', email], { input: password + '\n' });
    assert.equal(created.code, 0, `user create exit code; stdout=${created.stdout} stderr=${created.stderr}`);

    const dup = await s.cli(['user', 'create', '--email', email.toUpperCase()], { input: password + '\n' });
    assert.notEqual(dup.code, 0, 'creating the same (case-insensitive) address twice fails');

    const weak = await s.cli(['user', 'create', '--email', uniqueEmail('cliweak')], { input: 'weakpass\n' });
    assert.notEqual(weak.code, 0, 'the password policy applies to the CLI as well');

    await s.start();
    const token = assertTokenResponse(await s.login(email, password), 'login of the CLI-created user');
    const v = await s.request('GET', '/auth/refreshtoken/validate', { token });
    assert.equal(v.status, 200, v.text);
    assert.ok(Number.isInteger(v.json.userId));
    assert.equal(decodeJwt(token).payload.sub, String(v.json.userId));
    await s.stop();
    startedServers.delete(s);
  });

  // ------------------------------------------------------------------ token chain
  describe('tokens and sessions', { concurrency: true }, () => {
    test('token chain: login, rotation (old refresh still valid), access, validate, logout', async () => {
      const u = await srv.register(uniqueEmail('chain'));
      const r1 = assertTokenResponse(await srv.login(u.email, u.password), 'login');

      const r2 = assertTokenResponse(await srv.request('GET', '/auth/refreshtoken', { token: r1 }), 'refresh rotation');
      assert.notEqual(r2, r1, 'rotation issues a new token');
      assert.equal(decodeJwt(r2).payload.sid, decodeJwt(r1).payload.sid, 'rotation stays in the same session');

      // The old refresh token stays valid.
      assertUserId(await srv.request('GET', '/auth/refreshtoken/validate', { token: r1 }), u.userId, 'old refresh validate');
      assertTokenResponse(await srv.request('GET', '/auth/accesstoken', { token: r1 }), 'access token from the old refresh');
      assertTokenResponse(await srv.request('GET', '/auth/refreshtoken', { token: r1 }), 'second rotation from the old refresh');

      const a = assertTokenResponse(await srv.request('GET', '/auth/accesstoken', { token: r2 }), 'access token');
      assert.equal(decodeJwt(a).payload.typ, 'access');

      assertUserId(await srv.request('GET', '/auth/refreshtoken/validate', { token: r2 }), u.userId, 'refresh validate');
      assertUserId(await srv.request('GET', '/auth/accesstoken/validate', { token: a }), u.userId, 'access validate');

      const out = await srv.request('POST', '/auth/logout', { token: r2 });
      assert.equal(out.status, 204, `logout: ${out.status} ${out.text}`);
      assert.equal(out.text, '', 'logout 204 has no body');

      assertError(await srv.request('GET', '/auth/refreshtoken/validate', { token: r2 }), 401, 'TOKEN_REVOKED', 'logged-out refresh');
      assertError(await srv.request('GET', '/auth/accesstoken', { token: r2 }), 401, 'TOKEN_REVOKED', 'logged-out refresh at accesstoken');
      assertError(await srv.request('GET', '/auth/refreshtoken', { token: r1 }), 401, 'TOKEN_REVOKED', 'older refresh of the same session');
      assertError(await srv.request('GET', '/auth/accesstoken/validate', { token: a }), 401, 'TOKEN_REVOKED', 'access token of the session');
      assertError(await srv.request('POST', '/auth/logout', { token: r2 }), 401, 'TOKEN_REVOKED', 'logout twice');

      // A fresh login still works.
      assertTokenResponse(await srv.login(u.email, u.password), 'login after logout');
    });

    test('logout only ends its own session', async () => {
      const u = await srv.register(uniqueEmail('one'));
      const s1 = await srv.newSession(u.email, u.password);
      const s2 = await srv.newSession(u.email, u.password);
      assert.equal((await srv.request('POST', '/auth/logout', { token: s1.refresh })).status, 204);
      assertError(await srv.request('GET', '/auth/refreshtoken/validate', { token: s1.refresh }), 401, 'TOKEN_REVOKED');
      assertUserId(await srv.request('GET', '/auth/refreshtoken/validate', { token: s2.refresh }), u.userId, 'other session');
      assertUserId(await srv.request('GET', '/auth/accesstoken/validate', { token: s2.access }), u.userId, 'other session access');
    });

    test('POST /auth/logout/all revokes every session of the user (and only that user)', async () => {
      const u = await srv.register(uniqueEmail('all'));
      const sessions = [];
      for (let i = 0; i < 3; i++) sessions.push(await srv.newSession(u.email, u.password));
      const other = await srv.newSession();

      const r = await srv.request('POST', '/auth/logout/all', { token: sessions[1].refresh });
      assert.equal(r.status, 204, `logout/all: ${r.status} ${r.text}`);
      assert.equal(r.text, '');

      for (const [i, s] of sessions.entries()) {
        assertError(await srv.request('GET', '/auth/refreshtoken/validate', { token: s.refresh }), 401, 'TOKEN_REVOKED', `session ${i} refresh`);
        assertError(await srv.request('GET', '/auth/accesstoken', { token: s.refresh }), 401, 'TOKEN_REVOKED', `session ${i} accesstoken`);
        assertError(await srv.request('GET', '/auth/accesstoken/validate', { token: s.access }), 401, 'TOKEN_REVOKED', `session ${i} access`);
      }
      assertUserId(await srv.request('GET', '/auth/refreshtoken/validate', { token: other.refresh }), other.userId, 'another user');
      assertTokenResponse(await srv.login(u.email, u.password), 'login after logout/all');
    });

    test('claims: iss, sub, iat, exp, jti, typ, sid; header alg EdDSA with kid', async () => {
      const u = await srv.register(uniqueEmail('claims'));
      const r1 = assertTokenResponse(await srv.login(u.email, u.password), 'login');
      const r2 = assertTokenResponse(await srv.request('GET', '/auth/refreshtoken', { token: r1 }), 'rotation');
      const a = assertTokenResponse(await srv.request('GET', '/auth/accesstoken', { token: r1 }), 'access');
      const now = Math.floor(Date.now() / 1000);
      const jwks = (await srv.request('GET', '/.well-known/jwks.json')).json;
      const kids = new Set(jwks.keys.map((k) => k.kid));

      const decoded = [[r1, 'refresh', 14 * 24 * 3600], [r2, 'refresh', 14 * 24 * 3600], [a, 'access', 300]].map(
        ([tok, typ, ttl]) => {
          const { header, payload } = decodeJwt(tok);
          assert.equal(header.alg, 'EdDSA', 'header.alg');
          assert.equal(typeof header.kid, 'string');
          assert.ok(header.kid.length > 0, 'header.kid present');
          assert.ok(kids.has(header.kid), 'kid is published in the JWKS');
          assert.equal(payload.iss, ISSUER, 'iss is GATEHOUSE_ISSUER');
          assert.equal(payload.sub, String(u.userId), 'sub is the user id as a string');
          assert.equal(payload.typ, typ, 'typ');
          for (const c of ['iat', 'exp']) assert.ok(Number.isInteger(payload[c]), `${c} is an integer NumericDate`);
          assert.ok(Math.abs(payload.iat - now) <= 60, 'iat is now');
          assert.equal(payload.exp - payload.iat, ttl, `default ${typ} lifetime`);
          for (const c of ['jti', 'sid']) {
            assert.equal(typeof payload[c], 'string', `${c} is a string`);
            assert.ok(payload[c].length >= 8, `${c} is not trivially short`);
          }
          return payload;
        },
      );
      assert.equal(new Set(decoded.map((p) => p.jti)).size, 3, 'jti unique per token');
      assert.equal(new Set(decoded.map((p) => p.sid)).size, 1, 'all three tokens belong to one session');

      const other = await srv.newSession(u.email, u.password);
      assert.notEqual(decodeJwt(other.refresh).payload.sid, decoded[0].sid, 'a new login is a new session');
    });

    test('offline verification of an access token with the JWKS key (node:crypto Ed25519)', async () => {
      const s = await srv.newSession();
      const jwksRes = await srv.request('GET', '/.well-known/jwks.json');
      assert.equal(jwksRes.status, 200, jwksRes.text);
      assert.match(jwksRes.headers.get('content-type') || '', /^application\/(jwk-set\+)?json/i);
      assert.ok(Array.isArray(jwksRes.json.keys) && jwksRes.json.keys.length >= 1, 'JWKS has keys');
      for (const k of jwksRes.json.keys) {
        assert.equal(k.kty, 'OKP');
        assert.equal(k.crv, 'Ed25519');
        assert.equal(typeof k.x, 'string');
        assert.equal(k.d, undefined, 'no private key material in the JWKS');
      }

      const { header, signature, signingInput } = decodeJwt(s.access);
      const jwk = jwksRes.json.keys.find((k) => k.kid === header.kid);
      assert.ok(jwk, 'the token kid is in the JWKS');
      const key = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, format: 'jwk' });
      const sig = Buffer.from(signature, 'base64url');
      assert.equal(sig.length, 64, 'Ed25519 signature length');
      assert.equal(cryptoVerify(null, Buffer.from(signingInput), key, sig), true, 'signature verifies offline');

      // And the verifier is not vacuous: a modified payload does not verify.
      const [h, p] = signingInput.split('.');
      const payload = JSON.parse(Buffer.from(p, 'base64url'));
      const forged = `${h}.${b64urlJson({ ...payload, sub: '999999' })}`;
      assert.equal(cryptoVerify(null, Buffer.from(forged), key, sig), false);
    });

    test('?cookie=true: Set-Cookie id_token (HttpOnly, Secure, SameSite=Strict), accepted without Authorization', async () => {
      const u = await srv.register(uniqueEmail('cookie'));
      const cookieOf = (r) => {
        const sc = r.headers.getSetCookie().find((c) => c.startsWith('id_token='));
        assert.ok(sc, `Set-Cookie id_token present: ${JSON.stringify(r.headers.getSetCookie())}`);
        const [pair, ...attrs] = sc.split(';').map((x) => x.trim());
        const lower = attrs.map((x) => x.toLowerCase());
        assert.ok(lower.includes('httponly'), `HttpOnly in ${sc}`);
        assert.ok(lower.includes('secure'), `Secure in ${sc}`);
        assert.ok(lower.includes('samesite=strict'), `SameSite=Strict in ${sc}`);
        return pair.slice('id_token='.length);
      };

      const l = await srv.login(u.email, u.password, '?cookie=true');
      const refresh = assertTokenResponse(l, 'login?cookie=true');
      assert.equal(cookieOf(l), refresh, 'cookie carries the refresh token');

      // Without the flag: no cookie.
      const plain = await srv.login(u.email, u.password);
      assert.equal(plain.headers.getSetCookie().filter((c) => c.startsWith('id_token=')).length, 0, 'no cookie without ?cookie=true');

      const rot = await srv.request('GET', '/auth/refreshtoken?cookie=true', { headers: { cookie: `id_token=${refresh}` } });
      const refresh2 = assertTokenResponse(rot, 'refreshtoken via cookie');
      assert.equal(cookieOf(rot), refresh2);

      const acc = await srv.request('GET', '/auth/accesstoken?cookie=true', { headers: { cookie: `id_token=${refresh2}` } });
      const access = assertTokenResponse(acc, 'accesstoken via cookie');
      assert.equal(cookieOf(acc), access);
      assert.equal(decodeJwt(access).payload.typ, 'access');

      assertUserId(await srv.request('GET', '/auth/refreshtoken/validate', { headers: { cookie: `id_token=${refresh}` } }), u.userId, 'refresh validate via cookie');
      assertUserId(await srv.request('GET', '/auth/accesstoken/validate', { headers: { cookie: `id_token=${access}` } }), u.userId, 'access validate via cookie');

      // Cookie tokens go through the same checks.
      assertError(await srv.request('GET', '/auth/accesstoken/validate', { headers: { cookie: `id_token=${refresh}` } }), 401, 'WRONG_TOKEN_TYPE', 'refresh cookie at access endpoint');
      assertError(await srv.request('GET', '/auth/accesstoken/validate', { headers: { cookie: 'id_token=garbage' } }), 401, 'INVALID_TOKEN', 'garbage cookie');

      const out = await srv.request('POST', '/auth/logout', { headers: { cookie: `id_token=${refresh}` } });
      assert.equal(out.status, 204, `logout via cookie: ${out.text}`);
      await crossNode('the session cache of the other node', async () => {
        assertError(await srv.request('GET', '/auth/refreshtoken/validate', { headers: { cookie: `id_token=${refresh2}` } }), 401, 'TOKEN_REVOKED');
      });
    });

    test('a cookie over 4096 bytes: 400 id_token is too long', async () => {
      const r = await srv.request('GET', '/auth/accesstoken/validate', { headers: { cookie: `id_token=${'a'.repeat(5000)}` } });
      assertError(r, 400, 'id_token is too long');
      const r2 = await srv.request('GET', '/auth/refreshtoken', { headers: { cookie: `id_token=${'b'.repeat(4097)}` } });
      assertError(r2, 400, 'id_token is too long', 'just over the limit');
    });
  });

  // ------------------------------------------------------------------ 401 codes
  describe('401 codes', { concurrency: true }, () => {
    const refreshEndpoints = [
      ['GET', '/auth/refreshtoken'],
      ['GET', '/auth/accesstoken'],
      ['GET', '/auth/refreshtoken/validate'],
      ['POST', '/auth/logout'],
      ['POST', '/auth/logout/all'],
    ];
    const accessEndpoints = [['GET', '/auth/accesstoken/validate']];

    test('NO_TOKEN_PROVIDED on every authenticated endpoint', async () => {
      for (const [m, p] of [...refreshEndpoints, ...accessEndpoints]) {
        assertError(await srv.request(m, p), 401, 'NO_TOKEN_PROVIDED', `${m} ${p}`);
      }
      assertError(await srv.request('PUT', '/user/password/old-password', { json: { oldPassword: GOOD_PASSWORD, newPassword: 'New-Password-1' } }),
        401, 'NO_TOKEN_PROVIDED', 'old-password');
    });

    test('INVALID_TOKEN for garbage tokens', async () => {
      for (const tok of ['garbage', 'a.b.c', 'eyJhbGciOiJFZERTQSJ9.e30.', `${b64urlJson({ alg: 'EdDSA' })}.${b64urlJson({})}.${b64url(randomBytes(64))}`]) {
        for (const [m, p] of [['GET', '/auth/refreshtoken/validate'], ['GET', '/auth/accesstoken/validate'], ['GET', '/auth/accesstoken']]) {
          assertError(await srv.request(m, p, { token: tok }), 401, 'INVALID_TOKEN', `${m} ${p} with ${tok.slice(0, 30)}`);
        }
      }
    });

    test('INVALID_TOKEN for alg:none forgeries', async () => {
      const s = await srv.newSession();
      for (const [tok, endpoint] of [[s.access, '/auth/accesstoken/validate'], [s.refresh, '/auth/refreshtoken/validate']]) {
        const { header, payload } = decodeJwt(tok);
        for (const alg of ['none', 'None', 'NONE']) {
          const h = b64urlJson({ ...header, alg });
          const p = b64urlJson(payload);
          for (const forged of [`${h}.${p}.`, `${h}.${p}.${decodeJwt(tok).signature}`]) {
            assertError(await srv.request('GET', endpoint, { token: forged }), 401, 'INVALID_TOKEN', `alg ${alg} at ${endpoint}`);
          }
        }
      }
    });

    test('INVALID_TOKEN for a tampered payload', async () => {
      const victim = await srv.register(uniqueEmail('victim'));
      const s = await srv.newSession();
      for (const [tok, endpoint] of [[s.access, '/auth/accesstoken/validate'], [s.refresh, '/auth/refreshtoken/validate']]) {
        const [h, , sig] = tok.split('.');
        const { payload } = decodeJwt(tok);
        const variants = [
          { ...payload, sub: String(victim.userId) },
          { ...payload, exp: payload.exp + 3600 },
          { ...payload, typ: payload.typ === 'access' ? 'refresh' : 'access' },
        ];
        for (const v of variants) {
          assertError(await srv.request('GET', endpoint, { token: `${h}.${b64urlJson(v)}.${sig}` }), 401, 'INVALID_TOKEN', `tampered at ${endpoint}`);
        }
        // A flipped signature bit.
        const sigBuf = Buffer.from(sig, 'base64url');
        sigBuf[10] ^= 1;
        assertError(await srv.request('GET', endpoint, { token: `${h}.${tok.split('.')[1]}.${b64url(sigBuf)}` }), 401, 'INVALID_TOKEN', 'flipped signature bit');
      }
    });

    test('INVALID_TOKEN for HS256 signed with the public key bytes', async () => {
      const s = await srv.newSession();
      const jwks = (await srv.request('GET', '/.well-known/jwks.json')).json;
      const { header, payload } = decodeJwt(s.access);
      const jwk = jwks.keys.find((k) => k.kid === header.kid);
      const pub = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, format: 'jwk' });
      const secrets = {
        'raw x bytes': Buffer.from(jwk.x, 'base64url'),
        'x string': Buffer.from(jwk.x),
        'PEM': Buffer.from(pub.export({ type: 'spki', format: 'pem' })),
        'DER': pub.export({ type: 'spki', format: 'der' }),
        'JWK JSON': Buffer.from(JSON.stringify(jwk)),
      };
      for (const [name, secret] of Object.entries(secrets)) {
        for (const [tok, endpoint] of [[s.access, '/auth/accesstoken/validate'], [s.refresh, '/auth/refreshtoken/validate']]) {
          const p = decodeJwt(tok).payload;
          const input = `${b64urlJson({ ...header, alg: 'HS256' })}.${b64urlJson(p)}`;
          const sig = createHmac('sha256', secret).update(input).digest('base64url');
          assertError(await srv.request('GET', endpoint, { token: `${input}.${sig}` }), 401, 'INVALID_TOKEN', `HS256 with ${name} at ${endpoint}`);
        }
      }
      void payload;
    });

    test('INVALID_TOKEN for an unknown kid and for a token signed by another key', async () => {
      const s = await srv.newSession();
      const { header, payload, signature } = decodeJwt(s.access);
      const unknownKid = `${b64urlJson({ ...header, kid: 'not-a-real-kid' })}.${b64urlJson(payload)}.${signature}`;
      assertError(await srv.request('GET', '/auth/accesstoken/validate', { token: unknownKid }), 401, 'INVALID_TOKEN', 'unknown kid');
      // Properly formed EdDSA token, but signed by a key the server never issued.
      const { generateKeyPairSync, sign } = await import('node:crypto');
      const { privateKey } = generateKeyPairSync('ed25519');
      const input = `${b64urlJson(header)}.${b64urlJson(payload)}`;
      const foreign = `${input}.${b64url(sign(null, Buffer.from(input), privateKey))}`;
      assertError(await srv.request('GET', '/auth/accesstoken/validate', { token: foreign }), 401, 'INVALID_TOKEN', 'foreign key');
    });

    test('WRONG_TOKEN_TYPE: access token at refresh endpoints, refresh token at access endpoints', async () => {
      const s = await srv.newSession();
      for (const [m, p] of refreshEndpoints) {
        assertError(await srv.request(m, p, { token: s.access }), 401, 'WRONG_TOKEN_TYPE', `access token at ${m} ${p}`);
      }
      for (const [m, p] of accessEndpoints) {
        assertError(await srv.request(m, p, { token: s.refresh }), 401, 'WRONG_TOKEN_TYPE', `refresh token at ${m} ${p}`);
      }
      assertError(await srv.request('PUT', '/user/password/old-password', { token: s.refresh, json: { oldPassword: s.password, newPassword: 'New-Password-1' } }),
        401, 'WRONG_TOKEN_TYPE', 'refresh token at old-password');
      // Neither wrong-type call had an effect: the session is still alive and the password unchanged.
      assertUserId(await srv.request('GET', '/auth/refreshtoken/validate', { token: s.refresh }), s.userId, 'session still valid');
      assertTokenResponse(await srv.login(s.email, s.password), 'password unchanged');
    });

    test('TOKEN_EXPIRED (GATEHOUSE_ACCESS_TTL=1s)', async () => {
      const short = await ownServer({ env: { GATEHOUSE_REGISTRATION: 'open', GATEHOUSE_ACCESS_TTL: '1s' } });
      const s = await short.newSession();
      const { payload } = decodeJwt(s.access);
      assert.equal(payload.exp - payload.iat, 1, 'access lifetime follows GATEHOUSE_ACCESS_TTL');
      // Wait until the token is unambiguously past its exp (whole seconds).
      const waitMs = (payload.exp + 1) * 1000 - Date.now() + 100;
      if (waitMs > 0) await sleep(waitMs);
      assertError(await short.request('GET', '/auth/accesstoken/validate', { token: s.access }), 401, 'TOKEN_EXPIRED');
      // The refresh token (14 days) still works and yields a fresh access token.
      const fresh = assertTokenResponse(await short.request('GET', '/auth/accesstoken', { token: s.refresh }), 'new access token');
      assertUserId(await short.request('GET', '/auth/accesstoken/validate', { token: fresh }), s.userId, 'fresh access token');
      await short.stop();
      startedServers.delete(short);
    });

    test('TOKEN_REVOKED after logout, for refresh and access tokens', async () => {
      const s = await srv.newSession();
      assert.equal((await srv.request('POST', '/auth/logout', { token: s.refresh })).status, 204);
      assertError(await srv.request('GET', '/auth/refreshtoken', { token: s.refresh }), 401, 'TOKEN_REVOKED', 'refresh');
      assertError(await srv.request('GET', '/auth/accesstoken', { token: s.refresh }), 401, 'TOKEN_REVOKED', 'accesstoken');
      assertError(await srv.request('POST', '/auth/logout/all', { token: s.refresh }), 401, 'TOKEN_REVOKED', 'logout/all');
      assertError(await srv.request('GET', '/auth/accesstoken/validate', { token: s.access }), 401, 'TOKEN_REVOKED', 'access');
      assertError(await srv.request('PUT', '/user/password/old-password', { token: s.access, json: { oldPassword: s.password, newPassword: 'New-Password-1' } }),
        401, 'TOKEN_REVOKED', 'old-password with a revoked access token');
    });
  });

  // ------------------------------------------------------------------ seed endpoint
  describe('PUT /user/password/old-password (seed page)', { concurrency: true }, () => {
    const change = (token, oldPassword, newPassword) =>
      srv.request('PUT', '/user/password/old-password', { token, json: { oldPassword, newPassword } });

    test('200 null; other sessions revoked, this session stays valid; new password logs in', async () => {
      const u = await srv.register(uniqueEmail('chpw'));
      const other1 = await srv.newSession(u.email, u.password);
      const other2 = await srv.newSession(u.email, u.password);
      const me = await srv.newSession(u.email, u.password);
      const bystander = await srv.newSession();
      const newPassword = 'Brand-New-Pass-42';

      assertNullBody(await change(me.access, u.password, newPassword), 'change password');

      for (const [i, s] of [other1, other2].entries()) {
        assertError(await srv.request('GET', '/auth/refreshtoken/validate', { token: s.refresh }), 401, 'TOKEN_REVOKED', `other session ${i} refresh`);
        assertError(await srv.request('GET', '/auth/accesstoken', { token: s.refresh }), 401, 'TOKEN_REVOKED', `other session ${i} accesstoken`);
        assertError(await srv.request('GET', '/auth/accesstoken/validate', { token: s.access }), 401, 'TOKEN_REVOKED', `other session ${i} access`);
      }
      assertUserId(await srv.request('GET', '/auth/accesstoken/validate', { token: me.access }), u.userId, 'own access token');
      assertUserId(await srv.request('GET', '/auth/refreshtoken/validate', { token: me.refresh }), u.userId, 'own refresh token');
      assertTokenResponse(await srv.request('GET', '/auth/accesstoken', { token: me.refresh }), 'own session mints access tokens');
      assertUserId(await srv.request('GET', '/auth/refreshtoken/validate', { token: bystander.refresh }), bystander.userId, 'other user untouched');

      assertError(await srv.login(u.email, u.password), 401, 'PASSWORD_INCORRECT', 'old password no longer works');
      assertTokenResponse(await srv.login(u.email, newPassword), 'new password logs in');
      // And the session that made the change can change it again with the new password.
      assertNullBody(await change(me.access, newPassword, 'Third-Pass-77'), 'second change');
      assertTokenResponse(await srv.login(u.email, 'Third-Pass-77'), 'third password logs in');
    });

    test('400 password-policy messages (seed example "stringst")', async () => {
      const s = await srv.newSession();
      const cases = [
        ['stringst', 'Password must contain at least one uppercase character'],
        ['nouppercase1', 'Password must contain at least one uppercase character'],
        ['NOLOWERCASE1', 'Password must contain at least one lowercase character'],
        ['NoDigitsHere', 'Password must contain at least one digit'],
        ['Ab1', 'body/newPassword must NOT have fewer than 8 characters'],
        ['Ab1' + 'x'.repeat(254), 'body/newPassword must NOT have more than 256 characters'],
      ];
      for (const [newPassword, message] of cases) {
        assertError(await change(s.access, s.password, newPassword), 400, message, `newPassword ${newPassword.slice(0, 20)}`);
      }
      // Nothing changed, nothing revoked.
      assertTokenResponse(await srv.login(s.email, s.password), 'old password still valid');
      assertUserId(await srv.request('GET', '/auth/refreshtoken/validate', { token: s.refresh }), s.userId, 'session still valid');
    });

    test('400 validator messages', async () => {
      const s = await srv.newSession();
      const cases = [
        [{ oldPassword: 'x'.repeat(257), newPassword: 'New-Password-1' }, 'body/oldPassword must NOT have more than 256 characters'],
        [{ newPassword: 'New-Password-1' }, "body must have required property 'oldPassword'"],
        [{ oldPassword: s.password }, "body must have required property 'newPassword'"],
        [{ oldPassword: 5, newPassword: 'New-Password-1' }, 'body/oldPassword must be string'],
      ];
      for (const [json, message] of cases) {
        assertError(await srv.request('PUT', '/user/password/old-password', { token: s.access, json }), 400, message, JSON.stringify(json).slice(0, 60));
      }
    });

    test('401 NO_TOKEN_PROVIDED', async () => {
      const r = await srv.request('PUT', '/user/password/old-password', { json: { oldPassword: 'string', newPassword: 'stringsT1' } });
      assertError(r, 401, 'NO_TOKEN_PROVIDED');
    });

    test('401 PASSWORD_INCORRECT; the password is unchanged', async () => {
      const s = await srv.newSession();
      assertError(await change(s.access, 'Not-My-Password-1', 'New-Password-1'), 401, 'PASSWORD_INCORRECT');
      assertTokenResponse(await srv.login(s.email, s.password), 'old password still valid');
      assertError(await srv.login(s.email, 'New-Password-1'), 401, 'PASSWORD_INCORRECT', 'new password not set');
    });

    test('429 TOO_MANY_FAILED_PASSWORD_CHECKS with retryAfter; shared with login; correct password not evaluated', async () => {
      const s = await srv.newSession();
      for (let i = 1; i <= 6; i++) {
        assertError(await change(s.access, `Wrong-Old-${i}A`, 'New-Password-1'), 401, 'PASSWORD_INCORRECT', `failure #${i}`);
      }
      const body = assertError(await change(s.access, 'Wrong-Old-7A', 'New-Password-1'), 429, 'TOO_MANY_FAILED_PASSWORD_CHECKS', '7th attempt');
      assert.equal(body.retryAfter, 1, 'retryAfter = ceil(2^(6-6) s)');
      // The correct old password is not evaluated during the throttle ...
      assertError(await change(s.access, s.password, 'New-Password-1'), 429, 'TOO_MANY_FAILED_PASSWORD_CHECKS', 'correct password during throttle');
      // ... and login shares the same counter.
      assertError(await srv.login(s.email, s.password), 429, 'TOO_MANY_FAILED_PASSWORD_CHECKS', 'login during old-password throttle');
      await sleep(body.retryAfter * 1000 + 150);
      assertNullBody(await change(s.access, s.password, 'New-Password-1'), 'after the wait the change succeeds');
      assertTokenResponse(await srv.login(s.email, 'New-Password-1'), 'new password logs in');
    });
  });

  // ------------------------------------------------------------------ login throttle
  describe('login throttle (guess limiter)', { concurrency: true }, () => {
    test('5 free failures, 6th sets +1 s, then 429 (retryAfter + Retry-After); correct password not evaluated; resets after success', async () => {
      const u = await srv.register(uniqueEmail('thr'));
      await failLogins(srv, u.email, 6, 'known user');
      const r7 = await srv.login(u.email, 'Wrong-Password-1');
      const body = assertError(r7, 429, 'TOO_MANY_FAILED_PASSWORD_CHECKS', '7th attempt');
      assert.equal(body.retryAfter, 1, 'retryAfter is 2^(6-6) s rounded up');
      assert.equal(r7.headers.get('retry-after'), '1');

      const ok = await srv.login(u.email, u.password);
      assertError(ok, 429, 'TOO_MANY_FAILED_PASSWORD_CHECKS', 'correct password during the throttle is not evaluated');

      await sleep(1150);
      assertTokenResponse(await srv.login(u.email, u.password), 'correct password after the wait');

      // The success reset the counter: again 5 free failures + the 6th, then 429.
      await failLogins(srv, u.email, 6, 'after reset');
      assertError(await srv.login(u.email, u.password), 429, 'TOO_MANY_FAILED_PASSWORD_CHECKS', 'throttled again after 6 new failures');
    });

    test('a throttled guess is not counted; the next window doubles', async () => {
      const u = await srv.register(uniqueEmail('dbl'));
      await failLogins(srv, u.email, 6, 'known user');
      // Several throttled attempts: none of them may extend the window.
      for (let i = 0; i < 3; i++) assertError(await srv.login(u.email, 'Wrong-Password-1'), 429, 'TOO_MANY_FAILED_PASSWORD_CHECKS');
      await sleep(1150);
      // 7th counted failure: next allowed = now + 2 s.
      assertError(await srv.login(u.email, 'Wrong-Password-1'), 401, 'PASSWORD_INCORRECT', '7th counted failure');
      const b = assertError(await srv.login(u.email, u.password), 429, 'TOO_MANY_FAILED_PASSWORD_CHECKS');
      assert.equal(b.retryAfter, 2, 'retryAfter = 2^(7-6) s');
    });

    test('unknown usernames: throttled the same way, PASSWORD_INCORRECT like known ones', async () => {
      const ghost = uniqueEmail('ghost');
      await failLogins(srv, ghost, 6, 'unknown user');
      const r = await srv.login(ghost, 'Wrong-Password-1');
      const body = assertError(r, 429, 'TOO_MANY_FAILED_PASSWORD_CHECKS', 'unknown user 7th attempt');
      assert.equal(body.retryAfter, 1);
      assert.equal(r.headers.get('retry-after'), '1');
      // A username that is not an email address is just an unknown user.
      assertError(await srv.login(`bob-${randomBytes(3).toString('hex')}`, 'Wrong-Password-1'), 401, 'PASSWORD_INCORRECT', 'non-email username');
      // Same message, same envelope as a known user's wrong password.
      const known = await srv.register(uniqueEmail('known'));
      const a = await srv.login(known.email, 'Wrong-Password-1');
      const b = await srv.login(uniqueEmail('ghost2'), 'Wrong-Password-1');
      assert.equal(a.status, b.status);
      assert.deepEqual(a.json, b.json);
    });

    test('atomic: a burst of concurrent wrong guesses evaluates at most 6 (5 free + 1)', async () => {
      const u = await srv.register(uniqueEmail('burst'));
      const burstStart = Date.now();
      const rs = await Promise.all(Array.from({ length: 16 }, () => srv.login(u.email, 'Wrong-Password-1')));
      const evaluated = rs.filter((r) => r.status === 401);
      const throttled = rs.filter((r) => r.status === 429);
      for (const r of evaluated) assertError(r, 401, 'PASSWORD_INCORRECT');
      for (const r of throttled) assertError(r, 429, 'TOO_MANY_FAILED_PASSWORD_CHECKS');
      assert.equal(evaluated.length + throttled.length, rs.length, `statuses: ${rs.map((r) => r.status)}`);
      assert.ok(evaluated.length <= 6, `at most 6 guesses evaluated, got ${evaluated.length} (statuses ${rs.map((r) => r.status)})`);
      // Right after the burst the account is throttled; on a slow machine the 1 s window of the
      // 6th failure may already be over, and then (only then) the right password logs in.
      const after = await srv.login(u.email, u.password);
      if (after.status === 200) {
        assert.ok(Date.now() - burstStart >= 1000, `logged in ${Date.now() - burstStart} ms after the burst began, inside the 1 s window`);
      } else {
        assertError(after, 429, 'TOO_MANY_FAILED_PASSWORD_CHECKS', 'throttled after the burst');
      }
    });

    test('per-user: one throttled account does not throttle another', async () => {
      const a = await srv.register(uniqueEmail('pa'));
      const b = await srv.register(uniqueEmail('pb'));
      await failLogins(srv, a.email, 6, 'a');
      assertError(await srv.login(a.email, a.password), 429, 'TOO_MANY_FAILED_PASSWORD_CHECKS');
      assertTokenResponse(await srv.login(b.email, b.password), 'b unaffected');
    });

    test('400 validation errors at login are not counted as guesses', async () => {
      const u = await srv.register(uniqueEmail('val'));
      for (let i = 0; i < 8; i++) {
        assertError(await srv.login(u.email, 'x'.repeat(257)), 400, 'body/password must NOT have more than 256 characters');
      }
      assertError(await srv.request('POST', '/auth/login', { json: { password: 'x' } }), 400, "body must have required property 'username'");
      assertError(await srv.request('POST', '/auth/login', { json: { username: u.email } }), 400, "body must have required property 'password'");
      assertError(await srv.login('u'.repeat(257), 'x'), 400, 'body/username must NOT have more than 256 characters');
      assertTokenResponse(await srv.login(u.email, u.password), 'not throttled');
    });

    test('the throttle survives kill -9 and restart on the same data dir', async () => {
      const s = await ownServer({ env: { GATEHOUSE_REGISTRATION: 'open' } });
      const u = await s.register(uniqueEmail('k9'));
      const ghost = uniqueEmail('k9ghost');
      await failLogins(s, u.email, 6, 'known');
      await failLogins(s, ghost, 6, 'unknown');
      await sleep(1150);
      // 7th failure sets +2 s; wait; the 8th failure sets +4 s, long enough to outlive a restart.
      await failLogins(s, u.email, 1, 'known 7th');
      await failLogins(s, ghost, 1, 'unknown 7th');
      await sleep(2150);
      await failLogins(s, ghost, 1, 'unknown 8th');
      await failLogins(s, u.email, 1, 'known 8th');
      // SIGKILL right after the 401 response: the counter must already be durable.
      const exit = await s.kill('SIGKILL');
      assert.equal(exit.signal, 'SIGKILL');
      await s.start();
      const r = await s.login(u.email, u.password);
      const body = assertError(r, 429, 'TOO_MANY_FAILED_PASSWORD_CHECKS', 'known user after kill -9 + restart');
      assert.ok(body.retryAfter >= 1 && body.retryAfter <= 4, `retryAfter ${body.retryAfter} within the 4 s window`);
      const g = await s.login(ghost, 'Whatever-1');
      assertError(g, 429, 'TOO_MANY_FAILED_PASSWORD_CHECKS', 'unknown user after kill -9 + restart');
      await s.stop();
      startedServers.delete(s);
    });
  });

  // ------------------------------------------------------------------ errors, ops
  describe('errors and operations', { concurrency: true }, () => {
    test('413 Payload Too Large envelope for a body over 16 KiB', async () => {
      const big = JSON.stringify({ email: uniqueEmail('big'), password: GOOD_PASSWORD, pad: 'x'.repeat(17 * 1024) });
      assertError(await srv.request('POST', '/user', { body: big, headers: { 'content-type': 'application/json' } }), 413, undefined, 'POST /user');
      const bigLogin = JSON.stringify({ username: 'a@example.com', password: 'x', pad: 'y'.repeat(20000) });
      assertError(await srv.request('POST', '/auth/login', { body: bigLogin, headers: { 'content-type': 'application/json' } }), 413, undefined, 'POST /auth/login');
      // Just under the limit is fine (unknown properties are ignored).
      const fits = JSON.stringify({ email: uniqueEmail('fits'), password: GOOD_PASSWORD, pad: 'x'.repeat(15 * 1024) });
      const ok = await srv.request('POST', '/user', { body: fits, headers: { 'content-type': 'application/json' } });
      assert.equal(ok.status, 200, ok.text);
    });

    test('unknown route: 404 envelope', async () => {
      assertError(await srv.request('GET', '/no/such/route'), 404);
      assertError(await srv.request('POST', '/no/such/route', { json: {} }), 404);
      assertError(await srv.request('DELETE', '/auth/login'), 404, undefined, 'known path, unknown method');
    });

    test('/healthz and /readyz answer 200', async () => {
      for (const p of ['/healthz', '/readyz']) {
        const r = await srv.request('GET', p);
        assert.equal(r.status, 200, `${p}: ${r.text}`);
      }
    });

    test('hashes made with other argon2 parameters still verify across restarts (default params)', async () => {
      // Register with cheap parameters, then restart with the defaults (19 MiB, t=2): login must work
      // (and may upgrade the hash); then back to cheap parameters: login must still work.
      const s = await ownServer({ env: { GATEHOUSE_REGISTRATION: 'open' } });
      const u = await s.register(uniqueEmail('argon'));
      await s.kill('SIGTERM');
      s.extraEnv = { GATEHOUSE_REGISTRATION: 'open', GATEHOUSE_LOG_LEVEL: 'warn' }; // default argon2 params
      await s.start();
      assertTokenResponse(await s.login(u.email, u.password), 'login with default params');
      assertError(await s.login(u.email, 'Wrong-Password-1'), 401, 'PASSWORD_INCORRECT', 'wrong password with default params');
      await s.kill('SIGTERM');
      s.extraEnv = { GATEHOUSE_REGISTRATION: 'open', GATEHOUSE_ARGON2_MEMORY: '2048', GATEHOUSE_ARGON2_TIME: '1', GATEHOUSE_LOG_LEVEL: 'warn' };
      await s.start();
      assertTokenResponse(await s.login(u.email, u.password), 'login after changing params again');
      await s.stop();
      startedServers.delete(s);
    });

    test('graceful SIGTERM exits 0 and the data survives', async () => {
      const s = await ownServer({ env: { GATEHOUSE_REGISTRATION: 'open' } });
      const u = await s.register(uniqueEmail('term'));
      const sess = await s.newSession(u.email, u.password);
      const exit = await s.kill('SIGTERM');
      assert.deepEqual(exit, { code: 0, signal: null }, `exit after SIGTERM; log:\n${s.logs}`);
      await s.start();
      assertTokenResponse(await s.login(u.email, u.password), 'login after restart');
      assertUserId(await s.request('GET', '/auth/refreshtoken/validate', { token: sess.refresh }), u.userId, 'session survives restart');
      assertUserId(await s.request('GET', '/auth/accesstoken/validate', { token: sess.access }), u.userId, 'signing key survives restart');
      await s.stop();
      startedServers.delete(s);
    });
  });
});
