// baton/client consume(): decoded messages, at most `concurrency` handlers, ack on resolve,
// nack (requeue) on throw so x-delivery-limit and the dead-letter queue apply, graceful stop.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Message } from '../../src/client/index.js';
import { InvalidOptionError } from '../../src/client/index.js';
import { eventually } from '../helpers/core.js';
import { connect, startBroker } from '../helpers/server.js';
import { openClient } from '../helpers/client.js';

void test('consume: concurrency 8 handles 10,000 messages exactly once, never more than 8 at a time', async (t) => {
  const { url } = await startBroker(t);
  const client = await openClient(t, url);
  await client.declareQueue('work');
  const N = 10_000;
  await Promise.all(Array.from({ length: N }, (_, i) => client.send('work', { i })));
  const seen = new Map<number, number>();
  let running = 0;
  let peak = 0;
  const consumer = await client.consume<{ i: number }>(
    'work',
    async (m) => {
      running++;
      peak = Math.max(peak, running);
      if (m.body.i % 100 === 0) await sleep(1);
      seen.set(m.body.i, (seen.get(m.body.i) ?? 0) + 1);
      running--;
    },
    { concurrency: 8 },
  );
  await eventually(() => assert.equal(seen.size, N), 120_000);
  await consumer.stop();
  assert.ok(peak <= 8, `peak ${peak}`);
  assert.ok(peak > 1, 'handlers ran concurrently');
  for (const [i, n] of seen) assert.equal(n, 1, `message ${i} handled ${n} times`);
  const q = await (await (await connect(t, url)).createChannel()).checkQueue('work');
  assert.equal(q.messageCount, 0);
});

void test('consume: a decoded Message with its properties; deliveryCount from x-delivery-count', async (t) => {
  const { url } = await startBroker(t);
  const client = await openClient(t, url);
  await client.declareQueue('m');
  const { messageId } = await client.send('m', { hello: 'world' }, { correlationId: 'c' });
  const got: Message<{ hello: string }>[] = [];
  await client.consume<{ hello: string }>('m', (msg) => {
    got.push(msg);
    if (got.length === 1) throw new Error('first try fails');
  });
  await eventually(() => assert.equal(got.length, 2));
  const [first, second] = got;
  assert.deepEqual(first!.body, { hello: 'world' });
  assert.equal(first!.messageId, messageId);
  assert.equal(first!.correlationId, 'c');
  assert.equal(first!.contentType, 'application/json');
  assert.equal(first!.queue, 'm');
  assert.equal(first!.redelivered, false);
  assert.equal(first!.deliveryCount, 0);
  assert.equal(second!.redelivered, true);
  assert.equal(second!.deliveryCount, 1);
  assert.ok(Buffer.isBuffer(second!.raw));
});

void test('consume: a handler that always throws is redelivered, then dead-lettered by x-delivery-limit', async (t) => {
  const { url } = await startBroker(t);
  const client = await openClient(t, url);
  await client.declareQueue('orders.dlq');
  await client.declareQueue('orders', {
    deadLetterExchange: '',
    deadLetterRoutingKey: 'orders.dlq',
    deliveryLimit: 2,
  });
  let attempts = 0;
  await client.consume('orders', () => {
    attempts++;
    throw new Error('poison');
  });
  const dead: Message[] = [];
  await client.consume('orders.dlq', (m) => {
    dead.push(m);
  });
  await client.send('orders', { id: 7 });
  await eventually(() => assert.equal(dead.length, 1));
  assert.equal(attempts, 3, 'first delivery and two redeliveries');
  assert.deepEqual(dead[0]!.body, { id: 7 });
});

void test('consume: stop() takes no new messages, waits for running handlers, leaves nothing unacked', async (t) => {
  const { url } = await startBroker(t);
  const client = await openClient(t, url);
  await client.declareQueue('s');
  for (let i = 0; i < 50; i++) await client.send('s', i);
  const started: number[] = [];
  const finished: number[] = [];
  const consumer = await client.consume<number>(
    's',
    async (m) => {
      started.push(m.body);
      await sleep(50);
      finished.push(m.body);
    },
    { concurrency: 4, prefetch: 10 },
  );
  await eventually(() => assert.ok(started.length >= 4));
  await consumer.stop();
  const done = started.length;
  assert.deepEqual([...finished].sort(), [...started].sort(), 'every started handler finished');
  await sleep(100);
  assert.equal(started.length, done, 'nothing started after stop');
  // Handled ones are acked; none is held unacked (all the others are ready in the queue).
  const ch = await (await connect(t, url)).createChannel();
  const q = await ch.checkQueue('s');
  assert.equal(q.messageCount, 50 - done);
  assert.equal(q.consumerCount, 0);
  // A second consumer gets exactly the rest.
  const rest: number[] = [];
  await client.consume<number>('s', (m) => {
    rest.push(m.body);
  });
  await eventually(() => assert.equal(rest.length, 50 - done));
  assert.deepEqual(
    [...started, ...rest].sort((a, b) => a - b),
    [...Array(50).keys()],
  );
});

void test('consume: a missing queue rejects (404); bad options are refused', async (t) => {
  const { url } = await startBroker(t);
  const client = await openClient(t, url);
  await assert.rejects(
    client.consume('none', () => {}),
    (e: unknown) => {
      assert.equal((e as { code?: number }).code, 404);
      return true;
    },
  );
  await assert.rejects(
    client.consume('none', () => {}, { concurrency: 0 }),
    InvalidOptionError,
  );
  await assert.rejects(
    client.consume('none', () => {}, { concurency: 2 } as never),
    InvalidOptionError,
  );
  // The client still works.
  await client.declareQueue('ok');
  await client.send('ok', 1);
});

void test('consume: typed queue sends and consumes its own type', async (t) => {
  const { url } = await startBroker(t);
  const client = await openClient(t, url);
  interface Order {
    id: number;
    item: string;
  }
  const orders = client.queue<Order>('typed-orders', { durable: true });
  await orders.send({ id: 1, item: 'book' });
  const got: Order[] = [];
  await orders.consume((m) => {
    got.push(m.body);
  });
  await eventually(() => assert.deepEqual(got, [{ id: 1, item: 'book' }]));
});
