import assert from 'node:assert/strict';
import { test } from 'node:test';
import { baton, batonOk, brokerWithHttp } from '../helpers/baton-cli.js';
import { until } from '../helpers/core.js';
import { connect } from '../helpers/server.js';

/** The table's rows as cells split on runs of 2+ spaces (cells themselves hold single spaces). */
function rows(table: string): string[][] {
  return table
    .trimEnd()
    .split('\n')
    .map((l) => l.trim().split(/ {2,}/));
}

function row(table: string, first: string): string[] {
  const r = rows(table).find((cells) => cells[0] === first);
  assert.ok(r !== undefined, `no row '${first}' in:\n${table}`);
  return r;
}

void test('baton queues list: a table with name, type, durable, depth, consumers and rates; --json is the API', async (t) => {
  const b = await brokerWithHttp(t);
  const conn = await connect(t, b.amqpUrl);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue('orders', { durable: true });
  await ch.assertQueue('scratch', { durable: false });
  for (let i = 0; i < 3; i++) ch.sendToQueue('orders', Buffer.from(`o${i}`));
  await ch.waitForConfirms();
  // One of the three delivered and not yet acked.
  const got = await ch.get('orders');
  assert.ok(got !== false);
  await ch.consume('scratch', () => {});

  let table = '';
  await until(async () => {
    table = await batonOk(b.env, ['queues', 'list']);
    return row(table, 'orders')[4] === '2';
  }, 'orders: 2 ready in the table');
  assert.deepEqual(rows(table)[0], [
    'name',
    'type',
    'durable',
    'messages',
    'ready',
    'unacked',
    'consumers',
    'publish',
    'deliver',
  ]);
  assert.deepEqual(row(table, 'orders').slice(0, 7), [
    'orders',
    'classic',
    'yes',
    '3',
    '2',
    '1',
    '0',
  ]);
  assert.deepEqual(row(table, 'scratch').slice(0, 7), [
    'scratch',
    'classic',
    'no',
    '0',
    '0',
    '0',
    '1',
  ]);
  // Numbers are right-aligned: the 'messages' cells end where the title ends.
  const lines = table.split('\n');
  const end = lines[0]!.indexOf('messages') + 'messages'.length;
  const orders = lines.find((l) => l.startsWith('orders'))!;
  assert.equal(orders[end - 1], '3');
  assert.equal(orders[end], ' ');

  const json = JSON.parse(await batonOk(b.env, ['queues', 'list', '--json'])) as Record<
    string,
    unknown
  >[];
  const q = json.find((x) => x.name === 'orders');
  assert.ok(q !== undefined);
  assert.equal(q.vhost, '/');
  assert.equal(q.durable, true);
  assert.equal(q.messages, 3);
  assert.equal(q.messages_ready, 2);
  assert.equal(q.messages_unacknowledged, 1);

  // --vhost narrows through /api/queues/{vhost}; an unknown vhost is an error, not an empty list.
  const slash = JSON.parse(
    await batonOk(b.env, ['queues', 'list', '--vhost', '/', '--json']),
  ) as unknown[];
  assert.equal(slash.length, json.length);
  const nowhere = await baton(['queues', 'list', '--vhost', 'nope'], { env: b.env });
  assert.equal(nowhere.code, 1);
  assert.match(nowhere.stderr, /^baton: .*nope/);
});

void test('baton queues list fits the terminal: long names are cut with …, numbers never', async (t) => {
  const b = await brokerWithHttp(t);
  const conn = await connect(t, b.amqpUrl);
  const ch = await conn.createChannel();
  const long = `invoices.${'x'.repeat(60)}.retry`;
  await ch.assertQueue(long);
  ch.sendToQueue(long, Buffer.from('a'));
  let table = '';
  await until(async () => {
    table = await batonOk({ ...b.env, COLUMNS: '80' }, ['queues', 'list']);
    return /\s1\s+1\s+0\s+0/.test(table);
  }, 'one message in the long-named queue');
  for (const line of table.split('\n')) assert.ok(line.length <= 80, `too wide: '${line}'`);
  assert.match(table, /^invo\S*… +classic +yes +1 +1 +0 +0 /m);
  assert.doesNotMatch(table, /\.retry/);
  // Piped without COLUMNS: nothing is cut.
  assert.match(await batonOk(b.env, ['queues', 'list']), /\.retry/);
});

void test('baton exchanges|bindings|connections|channels|consumers|vhosts list show what the broker has', async (t) => {
  const b = await brokerWithHttp(t);
  const conn = await connect(t, b.amqpUrl);
  const ch = await conn.createChannel();
  await ch.assertExchange('events', 'topic', { durable: true });
  await ch.assertQueue('audit');
  await ch.bindQueue('audit', 'events', 'order.*');
  const { consumerTag } = await ch.consume('audit', () => {}, { noAck: false });
  await ch.prefetch(7);

  const ex = await batonOk(b.env, ['exchanges', 'list']);
  assert.deepEqual(row(ex, 'events').slice(0, 3), ['events', 'topic', 'yes']);
  assert.deepEqual(row(ex, '(AMQP default)').slice(0, 2), ['(AMQP default)', 'direct']);
  const exJson = JSON.parse(await batonOk(b.env, ['exchanges', 'list', '--json'])) as {
    name: string;
  }[];
  assert.ok(exJson.some((e) => e.name === 'amq.topic'));

  const bindings = await batonOk(b.env, ['bindings', 'list']);
  assert.deepEqual(row(bindings, 'events').slice(0, 4), ['events', 'audit', 'queue', 'order.*']);

  const conns = await batonOk(b.env, ['connections', 'list']);
  assert.equal(rows(conns)[0]![0], 'name');
  assert.equal(rows(conns).length, 2, conns); // the title and our one connection
  assert.equal(rows(conns)[1]![1], 'guest');
  const connJson = JSON.parse(await batonOk(b.env, ['connections', 'list', '--json'])) as {
    user: string;
    vhost: string;
  }[];
  assert.equal(connJson.length, 1);
  assert.equal(connJson[0]!.user, 'guest');
  // A vhost with no connections lists none (filtered by each row's vhost).
  const other = JSON.parse(
    await batonOk(b.env, ['connections', 'list', '--vhost', 'other', '--json']),
  ) as unknown[];
  assert.equal(other.length, 0);

  const chans = await batonOk(b.env, ['channels', 'list']);
  const chRow = rows(chans)[1]!;
  assert.equal(chRow[1], 'guest');
  assert.ok(chRow.includes('7'), chans);

  const consumers = await batonOk(b.env, ['consumers', 'list']);
  assert.deepEqual(row(consumers, 'audit').slice(0, 2), ['audit', consumerTag]);
  assert.ok(row(consumers, 'audit').includes('manual'));

  const vhosts = await batonOk(b.env, ['vhosts', 'list']);
  assert.deepEqual(rows(vhosts)[0]!.slice(0, 2), ['name', 'messages']);
  assert.equal(row(vhosts, '/')[0], '/');
});

void test('baton connection close <name>: the client is closed with the reason; an unknown name is an error', async (t) => {
  const b = await brokerWithHttp(t);
  const conn = await connect(t, b.amqpUrl);
  // amqplib reports a server's connection.close 320 on 'close', with the error.
  const closed = new Promise<Error>((resolve) => conn.on('close', resolve));
  const [c] = JSON.parse(await batonOk(b.env, ['connections', 'list', '--json'])) as {
    name: string;
  }[];
  assert.ok(c !== undefined);
  assert.equal(
    await batonOk(b.env, ['connection', 'close', c.name, '--reason', 'maintenance window']),
    `closed connection '${c.name}'\n`,
  );
  const err = await closed;
  assert.match(err.message, /320.*maintenance window/);
  await until(
    async () =>
      (JSON.parse(await batonOk(b.env, ['connections', 'list', '--json'])) as unknown[]).length ===
      0,
    'the connection gone from the listing',
  );
  const ghost = await baton(['connection', 'close', 'nobody'], { env: b.env });
  assert.equal(ghost.code, 1);
  assert.match(ghost.stderr, /^baton: /);
});
