// `baton serve --definitions FILE` (BATON_DEFINITIONS): RabbitMQ's load_definitions. The file
// is merged in at every boot after recovery; with users in it no guest is created; a bad file
// stops the start with a message naming the problem. Child-process brokers, amqplib clients.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import amqp from 'amqplib';
import { BrokerProcess, startBrokerProcess } from '../helpers/broker-process.js';
import { tempDir } from '../helpers/core.js';
import { connect } from '../helpers/server.js';

interface Doc {
  users: { name: string }[];
  permissions: { user: string }[];
  [key: string]: unknown;
}

/** The RabbitMQ 3.10 export (defs-alice's password is alice-s3cret), without its guest. */
function withoutGuest(): Doc {
  const url = new URL('../../../test/fixtures/rabbitmq-definitions-users.json', import.meta.url);
  const doc = JSON.parse(readFileSync(url, 'utf8')) as Doc;
  doc.users = doc.users.filter((u) => u.name !== 'guest');
  doc.permissions = doc.permissions.filter((p) => p.user !== 'guest');
  return doc;
}

function write(t: TestContext, doc: unknown): string {
  const file = join(tempDir(t), 'definitions.json');
  writeFileSync(file, typeof doc === 'string' ? doc : JSON.stringify(doc));
  return file;
}

const alice = (port: number): string =>
  `amqp://defs-alice:alice-s3cret@127.0.0.1:${port}/defs-fixture`;

function refused(err: Error): boolean {
  assert.match(err.message, /403|ACCESS_REFUSED/);
  return true;
}

void test('--definitions with users: they log in, no guest is created, and every boot merges the file again', async (t) => {
  const file = write(t, withoutGuest());
  const dataDir = tempDir(t);
  const b = await startBrokerProcess(t, { dataDir, args: ['--definitions', file] });
  const c = await connect(t, alice(b.port));
  const ch = await c.createChannel();
  ch.publish('alice-events', 'order.kept', Buffer.from('kept'), { persistent: true });
  assert.equal((await ch.checkQueue('alice-orders')).queue, 'alice-orders');
  await assert.rejects(amqp.connect(b.url), refused);
  assert.ok(
    b.logs.some((l) => l.msg === `definitions loaded from ${file}`),
    'the load is logged',
  );
  await c.close();
  await b.kill();

  // The same file again: nothing changes, the message is still there.
  const again = await startBrokerProcess(t, { dataDir, args: ['--definitions', file] });
  const c2 = await connect(t, alice(again.port));
  assert.equal((await (await c2.createChannel()).checkQueue('alice-orders')).messageCount, 1);
  await c2.close();
  await again.kill();

  // Without the file what it created stays (it is in the store), and guest stays absent.
  const plain = await startBrokerProcess(t, { dataDir });
  const c3 = await connect(t, alice(plain.port));
  await (await c3.createChannel()).checkExchange('alice-events');
  await assert.rejects(amqp.connect(plain.url), refused);
});

void test('BATON_DEFINITIONS without users: the default guest is kept, so the broker is not locked', async (t) => {
  const file = write(t, {
    vhosts: [{ name: 'boot-vhost' }],
    permissions: [{ user: 'guest', vhost: 'boot-vhost', configure: '.*', write: '.*', read: '.*' }],
    queues: [{ name: 'boot-q', vhost: 'boot-vhost', durable: true, arguments: {} }],
  });
  const b = await startBrokerProcess(t, { env: { BATON_DEFINITIONS: file } });
  const c = await connect(t, `${b.url}/boot-vhost`);
  assert.equal((await (await c.createChannel()).checkQueue('boot-q')).queue, 'boot-q');
});

void test('a bad definitions file stops the start (exit 1) with a message naming the problem', async (t) => {
  const bad = withoutGuest();
  bad.users.push({ name: 'dave', password_hash: 'nothash' } as { name: string });
  const cases: [unknown, RegExp][] = [
    [bad, /cannot start: definitions file .*user 'dave': password_hash is not a valid/],
    ['{"users": [', /cannot start: cannot read definitions file .*JSON/],
    [
      { ...withoutGuest(), topic_permissions: [{ user: 'defs-alice', vhost: 'defs-fixture' }] },
      /topic permissions are not implemented yet/,
    ],
    [
      { queues: [{ name: 'q', vhost: 'nowhere' }] },
      /definitions file .*vhost 'nowhere' does not exist/,
    ],
  ];
  for (const [doc, message] of cases) {
    const b = new BrokerProcess(t, { args: ['--definitions', write(t, doc)] });
    assert.equal(await b.exited, 1, b.output());
    assert.match(b.stderr, message);
    assert.equal(await b.ready, undefined, 'never ready');
  }
  // Refused after the broker opened (guest is not in a file with users, so it is not created):
  // the first boot is taken back, and a start without the file has its default guest.
  const dataDir = tempDir(t);
  const locked = {
    ...withoutGuest(),
    permissions: [{ user: 'guest', vhost: '/', configure: '.*', write: '.*', read: '.*' }],
  };
  const first = new BrokerProcess(t, { dataDir, args: ['--definitions', write(t, locked)] });
  assert.equal(await first.exited, 1, first.output());
  assert.match(first.stderr, /no user 'guest'/);
  const plain = await startBrokerProcess(t, { dataDir });
  await connect(t, plain.url);
  await plain.kill();

  const missing = new BrokerProcess(t, { args: ['--definitions', '/nonexistent/defs.json'] });
  assert.equal(await missing.exited, 1);
  assert.match(missing.stderr, /cannot read definitions file \/nonexistent\/defs.json/);
});
