// RabbitMQ's own CLI, rabbitmqadmin (Debian's, /usr/bin/rabbitmqadmin), managing users, vhosts
// and permissions on Baton with its own bodies; the effect checked with amqplib.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import amqp from 'amqplib';
import { requireCapability } from '../helpers/broker-child.js';
import { connect, startBroker } from '../helpers/server.js';

const ADMIN = '/usr/bin/rabbitmqadmin';

function admin(port: number, ...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      '/usr/bin/python3',
      [ADMIN, '-H', '127.0.0.1', '-P', String(port), '-u', 'guest', '-p', 'guest', ...args],
      { timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({ code, out: stdout + stderr });
      },
    );
  });
}

async function ok(port: number, ...args: string[]): Promise<string> {
  const r = await admin(port, ...args);
  assert.equal(r.code, 0, `rabbitmqadmin ${args.join(' ')}: ${r.out}`);
  return r.out;
}

async function list(port: number, what: string): Promise<Record<string, unknown>[]> {
  return JSON.parse(await ok(port, '-f', 'raw_json', 'list', what)) as Record<string, unknown>[];
}

function lacksAdmin(t: TestContext): boolean {
  return requireCapability(
    t,
    existsSync(ADMIN),
    `${ADMIN} not installed (apt-get install rabbitmq-server ships it)`,
  );
}

void test('rabbitmqadmin declares a user, a vhost and a permission, lists them and deletes them', async (t) => {
  if (lacksAdmin(t)) return;
  const b = await startBroker(t, { httpPort: 0 });
  const http = b.server.ports.get('http')!;
  const url = `amqp://u:p@127.0.0.1:${b.port}/v`;

  await ok(http, 'declare', 'user', 'name=u', 'password=p', 'tags=management');
  await ok(http, 'declare', 'vhost', 'name=v');
  await ok(
    http,
    'declare',
    'permission',
    'vhost=v',
    'user=u',
    'configure=.*',
    'write=.*',
    'read=.*',
  );

  const users = await list(http, 'users');
  const u = users.find((x) => x.name === 'u');
  assert.deepEqual(u?.tags, ['management']);
  assert.ok(!users.some((x) => 'password_hash' in x), 'no hashes in the listing');
  const table = await ok(http, 'list', 'users');
  assert.match(table, /\| u +\| management/);
  assert.ok((await list(http, 'vhosts')).some((v) => v.name === 'v'));
  assert.deepEqual(
    (await list(http, 'permissions')).find((p) => p.user === 'u'),
    { user: 'u', vhost: 'v', configure: '.*', write: '.*', read: '.*' },
  );

  // The new user logs in to the new vhost and works there.
  const conn = await connect(t, url);
  const ch = await conn.createChannel();
  await ch.assertQueue('jobs');
  await conn.close();

  await ok(http, 'delete', 'user', 'name=u');
  assert.ok(!(await list(http, 'users')).some((x) => x.name === 'u'));
  await assert.rejects(amqp.connect(url), /ACCESS_REFUSED/);
  await ok(http, 'delete', 'vhost', 'name=v');
  assert.ok(!(await list(http, 'vhosts')).some((v) => v.name === 'v'));
  assert.ok(!b.server.broker.vhosts.has('v'));
  // rabbitmqadmin reports RabbitMQ's 404 for what is gone.
  const again = await admin(http, 'delete', 'vhost', 'name=v');
  assert.notEqual(again.code, 0);
  assert.match(again.out, /Not found: \/api\/vhosts\/v/);
});
