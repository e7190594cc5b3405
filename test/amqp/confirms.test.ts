import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually } from '../helpers/core.js';
import { openChannel, openConfirmChannel } from '../helpers/amqp-raw.js';
import { connect, startBroker } from '../helpers/server.js';

void test('confirm.select: a window of 1,000 outstanding persistent publishes to a durable queue are all acked (RabbitMQ publisher confirms)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue('confirmed', { durable: true });
  const N = 1000;
  const results: unknown[] = [];
  let nacks = 0;
  let maxTag = 0;
  ch.on('nack', () => nacks++);
  ch.on('ack', (f: { deliveryTag: number }) => (maxTag = Math.max(maxTag, f.deliveryTag)));
  const all: Promise<void>[] = [];
  for (let i = 0; i < N; i++) {
    all.push(
      new Promise((resolve) => {
        ch.sendToQueue('confirmed', Buffer.from(`m${i}`), { persistent: true }, (err) => {
          results[i] = err;
          resolve();
        });
      }),
    );
  }
  // Nothing was awaited in between: all 1,000 were in flight at once.
  await Promise.all(all);
  assert.equal(results.length, N);
  assert.equal(
    results.filter((e) => e !== null).length,
    0,
    'every publish callback got an ack (err === null)',
  );
  assert.equal(nacks, 0);
  assert.equal(maxTag, N, 'delivery tags of confirms count publishes from 1 to N');
  await ch.waitForConfirms();
  assert.equal((await ch.checkQueue('confirmed')).messageCount, N);
});

void test('confirm.select: a transient message to a non-durable queue is confirmed too (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue('transient', { durable: false });
  const err = await new Promise((resolve) =>
    ch.sendToQueue('transient', Buffer.from('t'), { persistent: false }, resolve),
  );
  assert.equal(err, null);
  // And a persistent one to the non-durable queue (nothing to write to disk) as well.
  const err2 = await new Promise((resolve) =>
    ch.sendToQueue('transient', Buffer.from('p'), { persistent: true }, resolve),
  );
  assert.equal(err2, null);
  assert.equal((await ch.checkQueue('transient')).messageCount, 2);
});

void test('confirm.select: a publish routed to durable and non-durable queues at once is confirmed once (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await ch.assertExchange('fan', 'fanout', { durable: true });
  await ch.assertQueue('fan-d', { durable: true });
  await ch.assertQueue('fan-t', { durable: false });
  await ch.bindQueue('fan-d', 'fan', '');
  await ch.bindQueue('fan-t', 'fan', '');
  const acks: number[] = [];
  ch.on('ack', (f: { deliveryTag: number }) => acks.push(f.deliveryTag));
  const results = await Promise.all(
    Array.from(
      { length: 50 },
      (_, i) =>
        new Promise((resolve) =>
          ch.publish('fan', '', Buffer.from(String(i)), { persistent: true }, resolve),
        ),
    ),
  );
  assert.ok(results.every((e) => e === null));
  assert.equal(acks.at(-1), 50);
  assert.deepEqual(
    [...acks].sort((a, b) => a - b),
    acks,
    'confirm tags never go backwards',
  );
  assert.equal(new Set(acks).size, acks.length, 'no tag confirmed twice');
  assert.equal((await ch.checkQueue('fan-d')).messageCount, 50);
  assert.equal((await ch.checkQueue('fan-t')).messageCount, 50);
});

void test('confirms on several channels of one connection are independent, each numbered from 1 (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const chans = await Promise.all([0, 1, 2].map(() => openConfirmChannel(conn)));
  await chans[0]!.assertQueue('multi', { durable: true });
  const tags: number[][] = [[], [], []];
  chans.forEach((ch, i) =>
    ch.on('ack', (f: { deliveryTag: number }) => tags[i]!.push(f.deliveryTag)),
  );
  for (let round = 0; round < 100; round++)
    for (const ch of chans)
      ch.sendToQueue('multi', Buffer.from(String(round)), { persistent: true });
  await Promise.all(chans.map((ch) => ch.waitForConfirms()));
  for (const t2 of tags) assert.equal(t2.at(-1), 100);
  assert.equal((await chans[0]!.checkQueue('multi')).messageCount, 300);
});

void test('a plain channel (no confirm.select) gets no basic.ack for its publishes (AMQP 0-9-1)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openChannel(conn);
  await ch.assertQueue('plain', { durable: true });
  let acks = 0;
  ch.on('ack', () => acks++);
  for (let i = 0; i < 10; i++)
    ch.sendToQueue('plain', Buffer.from(String(i)), { persistent: true });
  await eventually(async () => assert.equal((await ch.checkQueue('plain')).messageCount, 10));
  assert.equal(acks, 0);
});
