/**
 * Debian's rabbitmqadmin 3.10.8 (a real RabbitMQ client of the management API) lists Baton's
 * objects unchanged: its `list …` and `show overview` as a child process, on real clients.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { connect, startBroker } from '../helpers/server.js';

const run = promisify(execFile);
const ADMIN = '/usr/bin/rabbitmqadmin';
const skip = existsSync(ADMIN) ? false : 'rabbitmqadmin is not installed';

void test('rabbitmqadmin list … and show overview print what Baton has', { skip }, async (t) => {
  const b = await startBroker(t, { httpPort: 0 });
  const port = b.server.ports.get('http')!;
  const admin = async (...args: string[]): Promise<string> =>
    (
      await run(ADMIN, [
        '-H',
        '127.0.0.1',
        '-P',
        String(port),
        '-u',
        'guest',
        '-p',
        'guest',
        ...args,
      ])
    ).stdout;
  const rawJson = async (...args: string[]) =>
    JSON.parse(await admin('-f', 'raw_json', ...args)) as Record<string, unknown>[];
  /** tsv rows (header first) of a list command. */
  const tsv = async (...args: string[]) =>
    (await admin('-f', 'tsv', ...args))
      .trim()
      .split('\n')
      .map((l) => l.split('\t'));

  const conn = await connect(t, b.url);
  const ch = await conn.createChannel();
  await ch.assertExchange('jobs.x', 'direct', { durable: true });
  await ch.assertQueue('jobs', { durable: true });
  await ch.bindQueue('jobs', 'jobs.x', 'run');
  ch.sendToQueue('jobs', Buffer.from('one'));
  ch.sendToQueue('jobs', Buffer.from('two'));
  await ch.assertQueue('busy');
  await ch.consume('busy', () => {}, { consumerTag: 'worker-1' });

  // Default columns (name messages) and what they say.
  const queues = await tsv('list', 'queues');
  assert.deepEqual(queues[0], ['name', 'messages']);
  assert.deepEqual(queues.slice(1), [
    ['busy', '0'],
    ['jobs', '2'],
  ]);
  const exchanges = await tsv('list', 'exchanges');
  assert.deepEqual(exchanges[0], ['name', 'type']);
  assert.deepEqual(exchanges.slice(1), [
    ['', 'direct'],
    ['amq.direct', 'direct'],
    ['amq.fanout', 'fanout'],
    ['amq.headers', 'headers'],
    ['amq.match', 'headers'],
    ['amq.topic', 'topic'],
    ['jobs.x', 'direct'],
  ]);
  const bindings = await tsv('list', 'bindings');
  assert.deepEqual(bindings[0], ['source', 'destination', 'routing_key']);
  assert.deepEqual(bindings.slice(1), [
    ['', 'busy', 'busy'],
    ['', 'jobs', 'jobs'],
    ['jobs.x', 'jobs', 'run'],
  ]);
  const connections = await tsv('list', 'connections');
  assert.deepEqual(connections[0], ['name', 'user', 'channels']);
  assert.equal(connections.length, 2);
  assert.match(connections[1]![0]!, /^127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+$/);
  assert.deepEqual(connections[1]!.slice(1), ['guest', '1']);
  const channels = await tsv('list', 'channels');
  assert.deepEqual(channels.slice(1), [[`${connections[1]![0]!} (1)`, 'guest']]);
  const vhosts = await tsv('list', 'vhosts');
  assert.deepEqual(vhosts, [
    ['name', 'messages'],
    ['/', '2'],
  ]);
  const nodes = await tsv('list', 'nodes');
  assert.deepEqual(nodes[0], ['name', 'type', 'mem_used']);
  assert.match(nodes[1]![0]!, /^baton@/);
  assert.equal(nodes[1]![1], 'disc');
  assert.ok(Number(nodes[1]![2]) > 0);

  // No default columns: every field, flattened.
  const consumers = await rawJson('list', 'consumers');
  assert.equal(consumers.length, 1);
  assert.equal(consumers[0]!.consumer_tag, 'worker-1');
  assert.deepEqual(consumers[0]!.queue, { name: 'busy', vhost: '/' });
  const users = await tsv('list', 'users');
  const header = users[0]!;
  assert.deepEqual(header.slice().sort(), ['name', 'tags'].sort());
  assert.equal(users[1]![header.indexOf('name')], 'guest');
  assert.equal(users[1]![header.indexOf('tags')], 'administrator');
  const permissions = await rawJson('list', 'permissions');
  assert.deepEqual(permissions, [
    { user: 'guest', vhost: '/', configure: '.*', write: '.*', read: '.*' },
  ]);

  // show overview asks for dotted columns.
  const overview = await tsv('show', 'overview');
  assert.deepEqual(overview[0], [
    'rabbitmq_version',
    'cluster_name',
    'queue_totals.messages',
    'object_totals.queues',
  ]);
  assert.deepEqual(overview[1]!.slice(1), ['baton', '2', '2']);

  // Sorting flags become sort / sort_reverse.
  const sorted = await tsv('-S', 'messages', '-R', 'list', 'queues');
  assert.deepEqual(
    sorted.slice(1).map((r) => r[0]),
    ['jobs', 'busy'],
  );
  // A vhost that does not exist: rabbitmqadmin reports the 404 and exits non-zero.
  await assert.rejects(
    admin('-V', 'nope', 'list', 'queues'),
    /\*\*\* Not found: \/api\/queues\/nope/,
  );
});
