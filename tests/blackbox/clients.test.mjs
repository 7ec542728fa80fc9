// The client examples of examples/clients run against a real server: login with a password and
// a TOTP code, token refresh, and a sudo action.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, request, uniqueEmail, otpauthSecret, Totp, totpStepAt } from './lib.mjs';

const clients = resolve(dirname(fileURLToPath(import.meta.url)), '../../examples/clients');

function run(cmd, args, env) {
  return new Promise((res) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout: 60000 }, (err, stdout, stderr) =>
      res({ code: err ? err.code ?? 1 : 0, stdout, stderr }));
  });
}

// A user with TOTP enabled by a code of the previous step, so the clients' current codes are fresh.
async function userWithTotp(url) {
  const email = uniqueEmail('client');
  const password = 'Analytical1';
  assert.equal((await request(url, 'POST', '/user', { json: { email, password } })).status, 200);
  const refresh = (await request(url, 'POST', '/auth/login', { json: { username: email, password } })).text;
  const access = (await request(url, 'GET', '/auth/accesstoken', { token: refresh })).text;
  const setup = await request(url, 'POST', '/user/2fa/totp/setup', { token: access, json: {} });
  const secret = otpauthSecret(setup.json.url);
  const totp = new Totp(secret);
  const enable = await request(url, 'POST', '/user/2fa/totp/enable', { token: access, json: { totp: totp.codeAt(totpStepAt() - 1) } });
  assert.equal(enable.status, 200, enable.text);
  return { email, password, secret };
}

test('example clients: login with 2FA, refresh, sudo action', async (t) => {
  const srv = await startServer({ env: { GATEHOUSE_REGISTRATION: 'open' } });
  t.after(() => srv.stop());
  for (const [name, cmd, script] of [['shell', 'bash', 'login-2fa.sh'], ['python', 'python3', 'client.py']]) {
    await t.test(name, async () => {
      const u = await userWithTotp(srv.url);
      const r = await run(cmd, [resolve(clients, script), u.email, u.password, u.secret, 'Difference2'], { GATEHOUSE_URL: srv.url });
      assert.equal(r.code, 0, `${script} failed:\n${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /password changed/);
      const login = await request(srv.url, 'POST', '/auth/login', { json: { username: u.email, password: 'Difference2' } });
      assert.equal(login.status, 200, 'the new password logs in');
    });
  }
});

// examples/clients/README.md, line by line: setup-totp.sh makes the account, then both clients
// log in as the same user (the second waits for a fresh code if the first used this step's).
test('example clients: the README lines as written', async (t) => {
  const srv = await startServer({ env: { GATEHOUSE_REGISTRATION: 'open' } });
  t.after(() => srv.stop());
  const env = { GATEHOUSE_URL: srv.url };
  const email = uniqueEmail('readme');
  const setup = await run('bash', [resolve(clients, 'setup-totp.sh'), email, 'Analytical1'], env);
  assert.equal(setup.code, 0, `setup-totp.sh failed:\n${setup.stdout}\n${setup.stderr}`);
  const secret = setup.stdout.trim();
  assert.match(secret, /^[A-Z2-7]{16,}$/, `setup-totp.sh prints the secret: ${setup.stdout}`);
  const sh = await run('bash', [resolve(clients, 'login-2fa.sh'), email, 'Analytical1', secret, 'Difference2'], env);
  assert.equal(sh.code, 0, `login-2fa.sh failed:\n${sh.stdout}\n${sh.stderr}`);
  const py = await run('python3', [resolve(clients, 'client.py'), email, 'Difference2', secret, 'Analytical1'], env);
  assert.equal(py.code, 0, `client.py failed:\n${py.stdout}\n${py.stderr}`);
  assert.match(py.stdout, /password changed/);
  const login = await request(srv.url, 'POST', '/auth/login', { json: { username: email, password: 'Analytical1' } });
  assert.equal(login.status, 200, 'the password client.py set back logs in');
});
