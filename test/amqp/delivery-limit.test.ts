import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  deathsOf,
  withDlq,
  hasCode,
  nextChannelError,
  nextMessage,
  openConfirmChannel,
} from '../helpers/amqp-raw.js';
import { expectNothingFor, until } from '../helpers/core.js';
import { connect, startBroker } from '../helpers/server.js';

void test('x-delivery-limit: a poison message is dead-lettered after N failed deliveries, x-delivery-count on each redelivery', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await withDlq(ch);
  await ch.assertQueue('work', {
    durable: true,
    arguments: { 'x-delivery-limit': 2, 'x-dead-letter-exchange': 'dlx' },
  });
  ch.sendToQueue('work', Buffer.from('poison'), { persistent: true, headers: { app: 'a' } });
  await ch.waitForConfirms();
  const c = await conn.createChannel();
  const seen: { redelivered: boolean; count: unknown; app: unknown }[] = [];
  await c.consume('work', (m) => {
    if (m === null) return;
    seen.push({
      redelivered: m.fields.redelivered,
      count: m.properties.headers?.['x-delivery-count'],
      app: m.properties.headers?.app,
    });
    c.nack(m, false, true);
  });
  const d = await nextMessage(ch, 'dlq');
  assert.deepEqual(seen, [
    { redelivered: false, count: undefined, app: 'a' },
    { redelivered: true, count: 1, app: 'a' },
    { redelivered: true, count: 2, app: 'a' },
  ]);
  const x = deathsOf(d)[0]!;
  assert.equal(x.reason, 'delivery_limit');
  assert.equal(x.queue, 'work');
  assert.equal(d.properties.headers?.app, 'a');
  assert.equal(d.properties.headers?.['x-delivery-count'], undefined, 'not stored in the message');
  await expectNothingFor(100, () => assert.equal(seen.length, 3));
  assert.equal((await ch.checkQueue('work')).messageCount, 0);
});

void test('x-delivery-limit without a DLX: dropped; basic.reject and channel close count too', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue('work', { arguments: { 'x-delivery-limit': 1 } });
  ch.sendToQueue('work', Buffer.from('p'));
  await ch.waitForConfirms();
  // Failure 1: the consuming channel closes with it unacked.
  const c1 = await conn.createChannel();
  let got1 = false;
  await c1.consume('work', (m) => m && (got1 = true));
  await until(() => got1, 'first delivery');
  await c1.close();
  // Failure 2: basic.reject with requeue. Over the limit: gone.
  const m = await nextMessage(ch, 'work');
  assert.equal(m.fields.redelivered, true);
  assert.equal(m.properties.headers?.['x-delivery-count'], 1);
  ch.reject(m, true);
  await until(async () => (await ch.checkQueue('work')).messageCount === 0, 'dropped');
  assert.equal(await ch.get('work'), false);
});

void test('x-delivery-limit -1 means no limit; classic queues without one add no header', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue('unlimited', { arguments: { 'x-delivery-limit': -1 } });
  ch.sendToQueue('unlimited', Buffer.from('p'), { headers: { a: 1 } });
  await ch.waitForConfirms();
  for (let i = 0; i < 30; i++) ch.nack(await nextMessage(ch, 'unlimited'), false, true);
  const m = await nextMessage(ch, 'unlimited');
  assert.deepEqual(m.properties.headers, { a: 1 }, 'headers exactly as published');
  assert.equal(m.fields.redelivered, true);
});

void test('quorum queues: default delivery limit 20, durable only (RabbitMQ 4)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue('qq', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  ch.sendToQueue('qq', Buffer.from('p'), { persistent: true });
  await ch.waitForConfirms();
  let n = 0;
  for (;;) {
    const m = await ch.get('qq');
    if (m === false) break;
    n++;
    ch.nack(m, false, true);
  }
  assert.equal(n, 21, 'one delivery plus 20 failed redeliveries');
  const bad = await conn.createChannel();
  const err = nextChannelError(bad);
  bad
    .assertQueue('qq2', { durable: false, arguments: { 'x-queue-type': 'quorum' } })
    .catch(() => {});
  const e = await err;
  assert.ok(hasCode(406)(e));
  assert.match(e.message, /invalid property 'non-durable' for queue 'qq2'/);
});

void test('retry backoff (x-delayed-retry-*): a requeued message is ready again only after its delay', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await withDlq(ch);
  await ch.assertQueue('retry', {
    durable: true,
    arguments: {
      'x-delayed-retry-min': 40,
      'x-delayed-retry-multiplier': 2,
      'x-delayed-retry-max': 100,
      'x-delivery-limit': 3,
      'x-dead-letter-exchange': 'dlx',
    },
  });
  ch.sendToQueue('retry', Buffer.from('p'), { persistent: true });
  await ch.waitForConfirms();
  const c = await conn.createChannel();
  const at: number[] = [];
  await c.consume('retry', (m) => {
    if (m === null) return;
    at.push(Date.now());
    c.nack(m, false, true);
  });
  const d = await nextMessage(ch, 'dlq');
  assert.equal(at.length, 4, 'first delivery and three retries, then the limit');
  assert.equal(deathsOf(d)[0]!.reason, 'delivery_limit');
  // Lower bounds only: a retry may come later on a busy machine, never earlier.
  const gaps = at.slice(1).map((v, i) => v - at[i]!);
  const want = [40, 80, 100];
  gaps.forEach((g, i) =>
    assert.ok(g >= want[i]! - 2, `retry ${i + 1} after ${g} ms (≥ ${want[i]})`),
  );
});

void test('retry backoff: while waiting, the message counts in the queue but is not handed out', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue('retry', { arguments: { 'x-delayed-retry-min': 300 } });
  ch.sendToQueue('retry', Buffer.from('p'));
  await ch.waitForConfirms();
  ch.nack(await nextMessage(ch, 'retry'), false, true);
  const sent = Date.now();
  assert.equal((await ch.checkQueue('retry')).messageCount, 1);
  assert.equal(await ch.get('retry'), false);
  const m = await nextMessage(ch, 'retry');
  assert.ok(Date.now() - sent >= 290);
  assert.equal(m.properties.headers?.['x-delivery-count'], 1);
});

void test('consumer timeout: an unacked delivery closes its channel with 406, the message goes back and counts', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await withDlq(ch);
  await ch.assertQueue('slow', {
    durable: true,
    arguments: {
      'x-consumer-timeout': 150,
      'x-delivery-limit': 1,
      'x-dead-letter-exchange': 'dlx',
    },
  });
  ch.sendToQueue('slow', Buffer.from('p'), { persistent: true });
  await ch.waitForConfirms();
  for (let round = 0; round < 2; round++) {
    const c = await conn.createChannel();
    const closed = nextChannelError(c);
    await c.consume('slow', () => {});
    const e = await closed;
    assert.ok(hasCode(406)(e));
    assert.match(
      e.message,
      /delivery acknowledgement on channel \d+ timed out\. Timeout value used: 150 ms/,
    );
  }
  const d = await nextMessage(ch, 'dlq');
  assert.equal(deathsOf(d)[0]!.reason, 'delivery_limit');
});

void test('consumer timeout: the broker-wide default applies to queues without x-consumer-timeout', async (t) => {
  const { url } = await startBroker(t, { consumerTimeout: 150 });
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue('q');
  ch.sendToQueue('q', Buffer.from('p'));
  await ch.waitForConfirms();
  const c = await conn.createChannel();
  const closed = nextChannelError(c);
  await c.get('q');
  assert.ok(hasCode(406)(await closed));
  const m = await nextMessage(ch, 'q');
  assert.equal(m.fields.redelivered, true);
  ch.ack(m);
});

void test('retry backoff: purge and delete take messages waiting out their delay too', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue('retry', { durable: true, arguments: { 'x-delayed-retry-min': 60000 } });
  for (const b of ['a', 'b']) ch.sendToQueue('retry', Buffer.from(b), { persistent: true });
  await ch.waitForConfirms();
  ch.nack(await nextMessage(ch, 'retry'), false, true);
  assert.equal((await ch.checkQueue('retry')).messageCount, 2);
  assert.equal((await ch.purgeQueue('retry')).messageCount, 2);
  assert.equal((await ch.checkQueue('retry')).messageCount, 0);
  ch.sendToQueue('retry', Buffer.from('c'), { persistent: true });
  await ch.waitForConfirms();
  ch.nack(await nextMessage(ch, 'retry'), false, true);
  assert.equal((await ch.deleteQueue('retry')).messageCount, 1);
});
