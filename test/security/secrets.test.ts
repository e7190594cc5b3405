/**
 * Nothing secret leaves the broker (issue 13 item 6): passwords, password hashes and the
 * base64 `Authorization` value never appear in the log (every level, JSON), in /metrics or in
 * management API answers, after logins right and wrong over AMQP PLAIN, AMQPLAIN and HTTP
 * basic auth.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { FULL_PERMISSIONS } from '../../src/core/access/access-control.js';
import { startBrokerProcess } from '../helpers/broker-process.js';
import { startBroker } from '../helpers/server.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** Distinctive strings, so a match can only be a leak. */
const ADMIN_PASS = 'Adm1n-s3cret-7f2a9c';
const WRONG_PASS = 'Wr0ng-guess-b81d44';
const ALICE_PASS = 'Al1ce-s3cret-93e0d1';

const basic = (user: string, pass: string): string =>
  Buffer.from(`${user}:${pass}`).toString('base64');

function assertClean(what: string, text: string, secrets: readonly string[]): void {
  for (const s of secrets)
    assert.ok(!text.includes(s), `${what} contains the secret '${s.slice(0, 6)}…'`);
}

async function logins(
  amqpPort: number,
  user: string,
  pass: string,
  wrong: string,
): Promise<amqp.ChannelModel> {
  const props = { clientProperties: { connection_name: 'secrets-test', product: 'secrets' } };
  // PLAIN (amqplib's default), right and wrong.
  const plain = await amqp.connect(`amqp://${user}:${pass}@127.0.0.1:${amqpPort}`, props);
  await assert.rejects(amqp.connect(`amqp://${user}:${wrong}@127.0.0.1:${amqpPort}`), /403/);
  // AMQPLAIN, right and wrong.
  const server = { protocol: 'amqp', hostname: '127.0.0.1', port: amqpPort };
  const viaAmqplain = await amqp.connect(server, {
    ...props,
    credentials: amqp.credentials.amqplain(user, pass),
  });
  await viaAmqplain.close();
  await assert.rejects(
    amqp.connect(server, { credentials: amqp.credentials.amqplain(user, wrong) }),
    /403/,
  );
  // An unknown user with the real password.
  await assert.rejects(amqp.connect(`amqp://nobody:${pass}@127.0.0.1:${amqpPort}`), /403/);
  return plain;
}

async function get(
  url: string,
  user: string,
  pass: string,
): Promise<{ status: number; body: string }> {
  const r = await fetch(url, { headers: { authorization: `Basic ${basic(user, pass)}` } });
  return { status: r.status, body: await r.text() };
}

const API = ['/api/overview', '/api/users', '/api/connections', '/api/definitions', '/api/whoami'];

void test('a broker process logs no password, no Authorization value, at any level, in JSON (default user from BATON_DEFAULT_USER/PASS)', async (t) => {
  const b = await startBrokerProcess(t, {
    args: ['--log-level', 'trace', '--http-port', '0', '--prometheus-port', '0'],
    env: { BATON_DEFAULT_USER: 'admin', BATON_DEFAULT_PASS: ADMIN_PASS },
  });
  const ports = (await b.ready)!.ports;
  const secrets = [ADMIN_PASS, WRONG_PASS, basic('admin', ADMIN_PASS), basic('admin', WRONG_PASS)];
  const conn = await logins(b.port, 'admin', ADMIN_PASS, WRONG_PASS);
  // guest was not created: the default user replaced it.
  await assert.rejects(amqp.connect(`amqp://guest:guest@127.0.0.1:${b.port}`), /403/);
  const http = `http://127.0.0.1:${ports.http}`;
  for (const path of API) {
    const r = await get(`${http}${path}`, 'admin', ADMIN_PASS);
    assert.ok(r.status === 200 || r.status === 404, `${path}: ${r.status}`);
    assertClean(path, r.body, secrets);
  }
  const wrong = await get(`${http}/api/overview`, 'admin', WRONG_PASS);
  assert.equal(wrong.status, 401);
  assertClean('a 401 answer', wrong.body, secrets);
  const connections = await get(`${http}/api/connections`, 'admin', ADMIN_PASS);
  assert.match(connections.body, /secrets-test/, 'client properties are listed');
  const metrics = await fetch(`http://127.0.0.1:${ports.prometheus}/metrics`);
  assertClean('/metrics', await metrics.text(), secrets);
  await conn.close();
  // SIGTERM: a clean stop; 'close' comes once stdout has been read to its end.
  const closed = once(b.child, 'close');
  b.child.kill('SIGTERM');
  await closed;
  const log = `${b.stdout}\n${b.stderr}`;
  assert.ok(b.logs.length > 0, 'the broker logged in JSON');
  assert.match(log, /amqp login refused for user 'admin'/, 'the refusals are logged');
  assert.match(log, /HTTP login failed for user 'admin'/);
  assert.match(log, /created the default user 'admin'/);
  // Five failures from 127.0.0.1 (PLAIN, AMQPLAIN, unknown user, guest, HTTP): one warning.
  const throttled = b.logs.filter((l) => /^login throttling: /.test(String(l.msg)));
  assert.equal(throttled.length, 1, log);
  assert.equal(throttled[0]!.level, 'warn');
  assert.equal(throttled[0]!.peer, '127.0.0.1');
  assertClean('the log', log, secrets);
});

void test('baton serve --help and a config error never show the default password', () => {
  const env = { ...process.env, BATON_DEFAULT_PASS: ADMIN_PASS };
  const help = spawnSync(process.execPath, [cli, 'serve', '--help'], { env, encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--default-pass\s+BATON_DEFAULT_PASS\s+-\s/);
  assertClean('serve --help', help.stdout + help.stderr, [ADMIN_PASS]);
  // The password without the user is refused at startup, without quoting it.
  const bad = spawnSync(process.execPath, [cli, 'serve', '--store', 'memory', '--amqp-port', '0'], {
    env,
    encoding: 'utf8',
  });
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /BATON_DEFAULT_USER .* and BATON_DEFAULT_PASS .* go together/);
  assertClean('the config error', bad.stdout + bad.stderr, [ADMIN_PASS]);
});

void test('no password, hash or Authorization value in management API answers or /metrics (a user made through broker.access.putUser)', async (t) => {
  const { server, port } = await startBroker(t, { httpPort: 0, prometheusPort: 0 });
  const access = server.broker.access;
  access.putUser('alice', { password: ALICE_PASS, tags: ['administrator'] });
  access.setPermissions('alice', '/', FULL_PERMISSIONS);
  const hash = access.users.get('alice')!.passwordHash;
  assert.ok(hash.length > 20);
  const secrets = [
    ALICE_PASS,
    WRONG_PASS,
    hash,
    access.users.get('guest')!.passwordHash,
    basic('alice', ALICE_PASS),
    basic('alice', WRONG_PASS),
  ];
  const conn = await logins(port, 'alice', ALICE_PASS, WRONG_PASS);
  t.after(() => conn.close().catch(() => {}));
  const http = `http://127.0.0.1:${server.ports.get('http')}`;
  for (const path of [...API, '/api/users/alice', '/api/permissions']) {
    const r = await get(`${http}${path}`, 'alice', ALICE_PASS);
    assert.ok(r.status === 200 || r.status === 404, `${path}: ${r.status}`);
    // /api/definitions: the export omits hashes on this branch. If the definitions helpers
    // decide the export carries RabbitMQ's password_hash (for import round trips), this is
    // the assertion that must change (the lead decides).
    assertClean(path, r.body, secrets);
  }
  const wrong = await get(`${http}/api/users`, 'alice', WRONG_PASS);
  assert.equal(wrong.status, 401);
  assertClean('a 401 answer', wrong.body, secrets);
  const metrics = await fetch(`http://127.0.0.1:${server.ports.get('prometheus')}/metrics`);
  assert.equal(metrics.status, 200);
  assertClean('/metrics', await metrics.text(), secrets);
});
