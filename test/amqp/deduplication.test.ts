// Message deduplication (LavinMQ / rabbitmq-message-deduplication names): x-message-deduplication,
// x-cache-size, x-cache-ttl (argument and header), x-deduplication-header, on queues and
// exchanges; duplicates are confirmed but neither enqueued nor routed; ids survive restarts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type amqp from 'amqplib';
import { hasCode, nextChannelError, openConfirmChannel } from '../helpers/amqp-raw.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, startBroker } from '../helpers/server.js';

const ID = 'x-deduplication-header';

/** Publish and wait for the confirm; resolves true for an ack, false for a nack. */
function send(
  ch: amqp.ConfirmChannel,
  exchange: string,
  key: string,
  body: string,
  headers: Record<string, unknown>,
  options: amqp.Options.Publish = {},
): Promise<boolean> {
  return new Promise((resolve) => {
    ch.publish(exchange, key, Buffer.from(body), { persistent: true, headers, ...options }, (err) =>
      resolve(err === null || err === undefined),
    );
  });
}

async function bodies(ch: amqp.Channel, queue: string): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const m = await ch.get(queue, { noAck: true });
    if (m === false) return out;
    out.push(m.content.toString());
  }
}

void test('queue: a duplicate id is confirmed (basic.ack) but not enqueued; ids without the header are not checked', async (t) => {
  const { url } = await startBroker(t);
  const ch = await openConfirmChannel(await connect(t, url));
  await ch.assertQueue('dq', { durable: true, arguments: { 'x-message-deduplication': true } });
  assert.equal(await send(ch, '', 'dq', 'a1', { [ID]: 'a' }), true);
  assert.equal(await send(ch, '', 'dq', 'a2', { [ID]: 'a' }), true, 'the duplicate is acked');
  assert.equal(await send(ch, '', 'dq', 'b1', { [ID]: 'b' }), true);
  assert.equal(await send(ch, '', 'dq', 'n1', {}), true);
  assert.equal(await send(ch, '', 'dq', 'n2', {}), true);
  // The number 1 and the string '1' are different ids (typed, as LavinMQ's).
  assert.equal(await send(ch, '', 'dq', 'one-n', { [ID]: 1 }), true);
  assert.equal(await send(ch, '', 'dq', 'one-s', { [ID]: '1' }), true);
  assert.equal(await send(ch, '', 'dq', 'one-n2', { [ID]: 1 }), true);
  assert.deepEqual(await bodies(ch, 'dq'), ['a1', 'b1', 'n1', 'n2', 'one-n', 'one-s']);
  // Consumed and acked: the id is still held within the window (LavinMQ's cache, not the
  // plugin's "while in the queue").
  assert.equal(await send(ch, '', 'dq', 'a3', { [ID]: 'a' }), true);
  assert.deepEqual(await bodies(ch, 'dq'), []);
});

void test('queue: x-cache-ttl lets an id in again once it expired; a message x-cache-ttl header overrides it', async (t) => {
  const { url } = await startBroker(t);
  const ch = await openConfirmChannel(await connect(t, url));
  await ch.assertQueue('ttl', {
    arguments: { 'x-message-deduplication': true, 'x-cache-ttl': 200 },
  });
  await send(ch, '', 'ttl', 'a1', { [ID]: 'a' });
  // Held for 60 s by its own header, against the queue's 200 ms.
  await send(ch, '', 'ttl', 'b1', { [ID]: 'b', 'x-cache-ttl': 60_000 });
  await send(ch, '', 'ttl', 'a2', { [ID]: 'a' });
  assert.deepEqual(await bodies(ch, 'ttl'), ['a1', 'b1']);
  await sleep(300);
  await send(ch, '', 'ttl', 'a3', { [ID]: 'a' });
  await send(ch, '', 'ttl', 'b2', { [ID]: 'b' });
  // A message's own x-cache-ttl of 0: not held at all.
  await send(ch, '', 'ttl', 'c1', { [ID]: 'c', 'x-cache-ttl': 0 });
  await send(ch, '', 'ttl', 'c2', { [ID]: 'c' });
  assert.deepEqual(await bodies(ch, 'ttl'), ['a3', 'c1', 'c2']);
});

void test('queue: x-cache-size evicts the oldest id first', async (t) => {
  const { url } = await startBroker(t);
  const ch = await openConfirmChannel(await connect(t, url));
  await ch.assertQueue('small', {
    arguments: { 'x-message-deduplication': true, 'x-cache-size': 2 },
  });
  for (const id of ['a', 'b', 'c']) await send(ch, '', 'small', `${id}1`, { [ID]: id });
  // a was evicted by c; b and c are still held (looking an id up does not renew it).
  for (const id of ['b', 'c', 'a']) await send(ch, '', 'small', `${id}2`, { [ID]: id });
  assert.deepEqual(await bodies(ch, 'small'), ['a1', 'b1', 'c1', 'a2']);
});

void test('queue: x-deduplication-header names the header holding the id', async (t) => {
  const { url } = await startBroker(t);
  const ch = await openConfirmChannel(await connect(t, url));
  await ch.assertQueue('custom', {
    arguments: { 'x-message-deduplication': true, 'x-deduplication-header': 'order-id' },
  });
  await send(ch, '', 'custom', 'o1', { 'order-id': 'o-7' });
  await send(ch, '', 'custom', 'o2', { 'order-id': 'o-7' });
  // The default header means nothing here.
  await send(ch, '', 'custom', 'd1', { [ID]: 'x' });
  await send(ch, '', 'custom', 'd2', { [ID]: 'x' });
  assert.deepEqual(await bodies(ch, 'custom'), ['o1', 'd1', 'd2']);
});

void test('exchange: a duplicate is routed to none of the bound queues, confirmed, and not returned (mandatory)', async (t) => {
  const { url } = await startBroker(t);
  const ch = await openConfirmChannel(await connect(t, url));
  await ch.assertExchange('dx', 'topic', {
    durable: true,
    arguments: { 'x-message-deduplication': true, 'x-cache-size': 100 },
  });
  for (const q of ['q1', 'q2']) {
    await ch.assertQueue(q, { durable: true });
    await ch.bindQueue(q, 'dx', '#');
  }
  let returned = 0;
  ch.on('return', () => returned++);
  assert.equal(await send(ch, 'dx', 'k', 'm1', { [ID]: 'm' }, { mandatory: true }), true);
  assert.equal(await send(ch, 'dx', 'k', 'm2', { [ID]: 'm' }, { mandatory: true }), true);
  assert.equal(await send(ch, 'dx', 'other', 'm3', { [ID]: 'm' }, { mandatory: true }), true);
  assert.equal(await send(ch, 'dx', 'k', 'n1', { [ID]: 'n' }, { mandatory: true }), true);
  // Publishing to the queues directly is not deduplicated: the exchange holds the ids.
  assert.equal(await send(ch, '', 'q1', 'direct', { [ID]: 'm' }), true);
  assert.deepEqual(await bodies(ch, 'q1'), ['m1', 'n1', 'direct']);
  assert.deepEqual(await bodies(ch, 'q2'), ['m1', 'n1']);
  assert.equal(returned, 0);
});

void test('restart: the ids of durable queues and exchanges survive a broker restart; transient messages ids do not', async (t) => {
  const b = await startBroker(t);
  let conn = await connect(t, b.url);
  let ch = await openConfirmChannel(conn);
  await ch.assertQueue('dur', {
    durable: true,
    arguments: { 'x-message-deduplication': true, 'x-cache-size': 10 },
  });
  await ch.assertExchange('durx', 'fanout', {
    durable: true,
    arguments: { 'x-message-deduplication': true },
  });
  await ch.assertQueue('behind', { durable: true });
  await ch.bindQueue('behind', 'durx', '');
  await send(ch, '', 'dur', 'p1', { [ID]: 'p' });
  await send(ch, '', 'dur', 't1', { [ID]: 't' }, { persistent: false });
  await send(ch, 'durx', '', 'x1', { [ID]: 'x' });
  await conn.close();
  await b.restart();
  conn = await connect(t, b.url);
  ch = await openConfirmChannel(conn);
  assert.equal(await send(ch, '', 'dur', 'p2', { [ID]: 'p' }), true);
  // The transient message did not survive, and neither did its id: the retry is taken.
  assert.equal(await send(ch, '', 'dur', 't2', { [ID]: 't' }), true);
  assert.equal(await send(ch, 'durx', '', 'x2', { [ID]: 'x' }), true);
  assert.deepEqual(await bodies(ch, 'dur'), ['p1', 't2']);
  assert.deepEqual(await bodies(ch, 'behind'), ['x1']);
  // Deleting a queue deletes its ids: a new queue of the same name starts empty.
  await ch.deleteQueue('dur');
  await ch.assertQueue('dur', { durable: true, arguments: { 'x-message-deduplication': true } });
  await send(ch, '', 'dur', 'p3', { [ID]: 'p' });
  await conn.close();
  await b.restart();
  ch = await openConfirmChannel(await connect(t, b.url));
  await send(ch, '', 'dur', 'p4', { [ID]: 'p' });
  assert.deepEqual(await bodies(ch, 'dur'), ['p3']);
});

void test('bad deduplication arguments are 406 on queues and exchanges', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const on = { 'x-message-deduplication': true };
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ 'x-message-deduplication': 'yes' }, /'x-message-deduplication'.*must be a boolean/],
    [{ ...on, 'x-cache-size': 0 }, /'x-cache-size'.*at least 1/],
    [{ ...on, 'x-cache-size': 'many' }, /'x-cache-size'.*must be an integer/],
    [{ ...on, 'x-cache-size': 1.5 }, /'x-cache-size'.*must be an integer/],
    [{ ...on, 'x-cache-ttl': -1 }, /'x-cache-ttl'.*at least 0/],
    [{ ...on, 'x-deduplication-header': 5 }, /'x-deduplication-header'.*header name/],
    [{ 'x-cache-size': 10 }, /x-message-deduplication must be true/],
  ];
  for (const kind of ['queue', 'exchange'] as const) {
    for (const [args, re] of cases) {
      const ch = await conn.createChannel();
      const err = nextChannelError(ch);
      if (kind === 'queue') ch.assertQueue('bad', { arguments: args }).catch(() => {});
      else ch.assertExchange('bad', 'direct', { arguments: args }).catch(() => {});
      const e = await err;
      assert.ok(hasCode(406)(e), `${kind} ${JSON.stringify(args)}: ${e.message}`);
      assert.match(e.message, re);
      assert.match(e.message, new RegExp(`for ${kind} 'bad'`));
    }
  }
  // The plugin's string form of the numbers is taken.
  const ch = await conn.createChannel();
  await ch.assertQueue('strings', {
    arguments: { ...on, 'x-cache-size': '5', 'x-cache-ttl': '100' },
  });
});
