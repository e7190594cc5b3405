// RabbitMQ's own CLI, rabbitmqadmin (Debian's rabbitmq-server ships 3.10.8 at
// /usr/bin/rabbitmqadmin), run as a child process against Baton's management API: it calls
// RabbitMQ's paths with its own bodies and reads the answers as it reads RabbitMQ's.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { requireCapability } from '../helpers/broker-child.js';
import { connect, startBroker } from '../helpers/server.js';

const ADMIN = '/usr/bin/rabbitmqadmin';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function admin(port: number, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      '/usr/bin/python3',
      [ADMIN, '-H', '127.0.0.1', '-P', String(port), '-u', 'guest', '-p', 'guest', ...args],
      { timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** rabbitmqadmin that must succeed; its stdout. */
async function ok(port: number, ...args: string[]): Promise<string> {
  const r = await admin(port, ...args);
  assert.equal(r.code, 0, `rabbitmqadmin ${args.join(' ')}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** rabbitmqadmin's JSON output (-f raw_json) of a list. */
async function list(port: number, what: string): Promise<Record<string, unknown>[]> {
  return JSON.parse(await ok(port, '-f', 'raw_json', 'list', what)) as Record<string, unknown>[];
}

async function httpBroker(t: TestContext) {
  const b = await startBroker(t, { httpPort: 0 });
  return { ...b, http: b.server.ports.get('http')! };
}

function lacksAdmin(t: TestContext): boolean {
  return requireCapability(
    t,
    existsSync(ADMIN),
    `${ADMIN} not installed (apt-get install rabbitmq-server ships it)`,
  );
}

void test('rabbitmqadmin declares a queue, exchange and binding, publishes, gets, purges and deletes', async (t) => {
  if (lacksAdmin(t)) return;
  const { http, url } = await httpBroker(t);
  await ok(http, 'declare', 'queue', 'name=orders', 'durable=true');
  await ok(http, 'declare', 'exchange', 'name=events', 'type=topic');
  await ok(
    http,
    'declare',
    'binding',
    'source=events',
    'destination=orders',
    'routing_key=order.*',
  );
  const published = await ok(
    http,
    'publish',
    'exchange=events',
    'routing_key=order.created',
    'payload=first',
    'properties={"delivery_mode":2,"headers":{"tenant":"acme"}}',
  );
  assert.match(published, /Message published$/m);
  assert.doesNotMatch(published, /NOT routed/);
  const lost = await ok(http, 'publish', 'exchange=events', 'routing_key=other', 'payload=x');
  assert.match(lost, /Message published but NOT routed/);
  await ok(http, 'publish', 'routing_key=orders', 'payload=second');

  const queues = await list(http, 'queues');
  assert.deepEqual(
    queues.map((q) => [q.name, q.messages]),
    [['orders', 2]],
  );
  const bindings = await list(http, 'bindings');
  assert.ok(
    bindings.some((b) => b.source === 'events' && b.routing_key === 'order.*'),
    JSON.stringify(bindings),
  );

  // get, default ackmode ack_requeue_true: shown, then back in the queue.
  const got = JSON.parse(
    await ok(http, '-f', 'raw_json', 'get', 'queue=orders', 'count=2'),
  ) as Record<string, unknown>[];
  assert.deepEqual(
    got.map((m) => [m.payload, m.routing_key, m.redelivered]),
    [
      ['first', 'order.created', false],
      ['second', 'orders', false],
    ],
  );
  assert.deepEqual(got[0]!.properties, { delivery_mode: 2, headers: { tenant: 'acme' } });
  const taken = JSON.parse(
    await ok(http, '-f', 'raw_json', 'get', 'queue=orders', 'ackmode=ack_requeue_false'),
  ) as Record<string, unknown>[];
  assert.equal(taken[0]!.payload, 'first');
  assert.equal(taken[0]!.redelivered, true);
  const conn = await connect(t, url);
  const ch = await conn.createChannel();
  assert.equal((await ch.checkQueue('orders')).messageCount, 1);

  await ok(http, 'purge', 'queue', 'name=orders');
  assert.equal((await ch.checkQueue('orders')).messageCount, 0);
  await ok(
    http,
    'delete',
    'binding',
    'source=events',
    'destination_type=queue',
    'destination=orders',
    'properties_key=order.*',
  );
  assert.ok(!(await list(http, 'bindings')).some((b) => b.source === 'events'));
  await ok(http, 'delete', 'exchange', 'name=events');
  await ok(http, 'delete', 'queue', 'name=orders');
  assert.deepEqual(await list(http, 'queues'), []);

  // Errors come back as rabbitmqadmin prints RabbitMQ's: the reason of a 400, "Not found" of a 404.
  await ok(http, 'declare', 'queue', 'name=q', 'durable=true');
  const clash = await admin(http, 'declare', 'queue', 'name=q', 'durable=false');
  assert.notEqual(clash.code, 0);
  assert.match(clash.stderr, /inequivalent arg 'durable' for queue 'q'/);
  const missing = await admin(http, 'get', 'queue=nope');
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /Not found: \/api\/queues\/%2F\/nope\/get/);
});

void test('rabbitmqadmin export to a file, import into a fresh broker: list queues shows them', async (t) => {
  if (lacksAdmin(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'baton-defs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'defs.json');
  const first = await httpBroker(t);
  await ok(
    first.http,
    'declare',
    'queue',
    'name=orders',
    'durable=true',
    'arguments={"x-max-length":50}',
  );
  await ok(first.http, 'declare', 'queue', 'name=audit', 'durable=true');
  await ok(first.http, 'declare', 'exchange', 'name=events', 'type=fanout', 'durable=true');
  await ok(first.http, 'declare', 'binding', 'source=events', 'destination=orders');
  await ok(first.http, 'declare', 'binding', 'source=events', 'destination=audit');
  await ok(first.http, 'export', file);
  const defs = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown[]>;
  assert.equal(defs.queues!.length, 2);
  assert.equal(defs.bindings!.length, 2);

  const fresh = await httpBroker(t);
  assert.deepEqual(await list(fresh.http, 'queues'), []);
  await ok(fresh.http, 'import', file);
  assert.deepEqual((await list(fresh.http, 'queues')).map((q) => q.name).sort(), [
    'audit',
    'orders',
  ]);
  assert.ok(
    (await list(fresh.http, 'exchanges')).some((x) => x.name === 'events' && x.type === 'fanout'),
  );
  // The bindings came along: a message to the fanout reaches both queues.
  const conn = await connect(t, fresh.url);
  const ch = await conn.createChannel();
  ch.publish('events', '', Buffer.from('x'));
  await ch.assertQueue('orders', { durable: true, arguments: { 'x-max-length': 50 } });
  assert.equal((await ch.checkQueue('orders')).messageCount, 1);
  assert.equal((await ch.checkQueue('audit')).messageCount, 1);
  // Per vhost (-V /): the single-vhost format, imported back the same way.
  await ok(fresh.http, '-V', '/', 'export', join(dir, 'vhost.json'));
  const one = JSON.parse(readFileSync(join(dir, 'vhost.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(one.users, undefined);
  await ok(fresh.http, '-V', '/', 'import', join(dir, 'vhost.json'));
});
