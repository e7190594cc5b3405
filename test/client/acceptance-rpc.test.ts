/**
 * Acceptance (issue 11): request/reply over the broker's direct reply-to, against a real broker
 * on port 0. Replies are checked by content, so a reply matched to the wrong request shows.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BatonClientError,
  RemoteError,
  RequestTimeoutError,
  type Message,
} from '../../src/client/index.js';
import { gate, openClient } from '../helpers/client-acceptance.js';
import { tick, until } from '../helpers/core.js';
import { startBroker } from '../helpers/server.js';

void test('request/reply: round trips of objects, strings and Buffers; the responder sees reply-to and a correlation id', async (t) => {
  const { url } = await startBroker(t);
  const { client: server } = await openClient(t, url);
  const { client, errors } = await openClient(t, url);
  await server.declareQueue('calc');
  const seen: { replyTo: unknown; correlationId: unknown }[] = [];
  const responder = await server.respond<unknown, unknown>('calc', async (msg) => {
    await tick();
    seen.push({ replyTo: msg.replyTo, correlationId: msg.correlationId });
    const body = msg.body;
    if (Buffer.isBuffer(body)) return Buffer.concat([body, body]);
    if (typeof body === 'string') return body.toUpperCase();
    const { a, b } = body as { a: number; b: number };
    return { sum: a + b };
  });
  assert.deepEqual(await client.request('calc', { a: 2, b: 40 }), { sum: 42 });
  assert.equal(await client.request('calc', 'ping ☃'), 'PING ☃');
  const echoed = await client.request<Buffer>('calc', Buffer.from([1, 2, 0]));
  assert.ok(Buffer.isBuffer(echoed));
  assert.deepEqual(echoed, Buffer.from([1, 2, 0, 1, 2, 0]));
  // Sequential round trips on one client, each its own reply.
  for (let i = 0; i < 50; i++)
    assert.deepEqual(await client.request('calc', { a: i, b: 1 }), { sum: i + 1 });
  assert.equal(seen.length, 53);
  for (const s of seen) {
    assert.match(String(s.replyTo), /^amq\.rabbitmq\.reply-to\../, 'direct reply-to address');
    assert.ok(typeof s.correlationId === 'string' && s.correlationId.length > 0);
  }
  assert.equal(new Set(seen.map((s) => s.correlationId)).size, 53, 'a fresh correlation id each');
  await responder.stop();
  assert.deepEqual(errors, []);
});

void test('1,000 concurrent requests from two clients each get their own reply', async (t) => {
  const { url } = await startBroker(t);
  const { client: server } = await openClient(t, url);
  const { client: a } = await openClient(t, url);
  const { client: b } = await openClient(t, url);
  await server.declareQueue('square');
  // Replies go out of order: some handlers take longer than others.
  const responder = await server.respond<{ n: number; from: string }, unknown>(
    'square',
    async (msg) => {
      if (msg.body.n % 7 === 0) await sleep(3);
      else await tick();
      return { n: msg.body.n, sq: msg.body.n * msg.body.n, from: msg.body.from };
    },
    { concurrency: 16 },
  );
  const calls = Array.from({ length: 1000 }, (_, n) => {
    const from = n % 2 === 0 ? 'a' : 'b';
    return (from === 'a' ? a : b).request<{ n: number; sq: number; from: string }>(
      'square',
      { n, from },
      { timeoutMs: 30_000 },
    );
  });
  const replies = await Promise.all(calls);
  replies.forEach((r, n) =>
    assert.deepEqual(r, { n, sq: n * n, from: n % 2 === 0 ? 'a' : 'b' }, `reply to request ${n}`),
  );
  await responder.stop();
});

void test('timeout: RequestTimeoutError; the late reply is ignored and resolves nothing else', async (t) => {
  const { url } = await startBroker(t);
  // Opened in teardown before the clients close: a failing test must not leave the responder's
  // handler blocked (close waits for running handlers).
  const releaseSlow = gate();
  t.after(releaseSlow.open);
  const { client: server } = await openClient(t, url);
  const { client, errors } = await openClient(t, url);
  await server.declareQueue('slow');
  let slowReplied = false;
  let handled = 0;
  const responder = await server.respond<{ name: string }, { echo: string }>(
    'slow',
    async (msg) => {
      handled++;
      if (msg.body.name === 'slow') {
        await releaseSlow.wait;
        slowReplied = true;
        return { echo: 'slow' };
      }
      // The next request's reply waits until the late one is on its way, so the late reply
      // arrives while this request is pending.
      if (msg.body.name === 'next') await until(() => slowReplied, 'the late reply sent');
      return { echo: msg.body.name };
    },
    { concurrency: 2 },
  );
  await assert.rejects(client.request('slow', { name: 'slow' }, { timeoutMs: 300 }), (err) => {
    assert.ok(err instanceof RequestTimeoutError, `got ${String(err)}`);
    assert.ok(err instanceof BatonClientError);
    return true;
  });
  const next = client.request<{ echo: string }>('slow', { name: 'next' }, { timeoutMs: 20_000 });
  await until(() => handled === 2, 'the next request reached the responder');
  releaseSlow.open();
  assert.deepEqual(await next, { echo: 'next' }, 'the late reply did not resolve the next request');
  // Still healthy afterwards.
  for (let i = 0; i < 10; i++)
    assert.deepEqual(await client.request('slow', { name: `after-${i}` }), { echo: `after-${i}` });
  assert.deepEqual(errors, [], 'a late reply is not an error');
  await responder.stop();
});

void test('a throwing responder: request rejects with RemoteError carrying the message; the responder keeps serving', async (t) => {
  const { url } = await startBroker(t);
  const { client: server } = await openClient(t, url);
  const { client } = await openClient(t, url);
  await server.declareQueue('stock');
  const responder = await server.respond<{ sku: string }, { reserved: string }>(
    'stock',
    async (msg) => {
      await tick();
      if (msg.body.sku === 'sku-9') throw new Error('out of stock: sku-9');
      return { reserved: msg.body.sku };
    },
  );
  await assert.rejects(client.request('stock', { sku: 'sku-9' }), (err) => {
    assert.ok(err instanceof RemoteError, `got ${String(err)}`);
    assert.ok(err instanceof BatonClientError);
    assert.match(err.message, /out of stock: sku-9/);
    return true;
  });
  assert.deepEqual(await client.request('stock', { sku: 'sku-1' }), { reserved: 'sku-1' });
  // Errors and successes interleaved, concurrently.
  const settled = await Promise.allSettled(
    ['sku-1', 'sku-9', 'sku-2', 'sku-9'].map((sku) => client.request('stock', { sku })),
  );
  assert.deepEqual(
    settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).constructor.name)),
    [{ reserved: 'sku-1' }, 'RemoteError', { reserved: 'sku-2' }, 'RemoteError'],
  );
  await responder.stop();
});

interface Order {
  id: string;
  qty: number;
  lines: { sku: string; price: number }[];
}

void test('typed queues: client.queue<Order>() sends, consumes, requests and responds with Order', async (t) => {
  const { url } = await startBroker(t);
  const { client } = await openClient(t, url);
  const orders = client.queue<Order>('typed-orders', { durable: true });
  const got: Order[] = [];
  const consumer = await orders.consume(async (msg: Message<Order>) => {
    await tick();
    // Typed: these compile only if msg.body is an Order.
    const total: number = msg.body.lines.reduce((s, l) => s + l.price * msg.body.qty, 0);
    assert.ok(total >= 0);
    got.push(msg.body);
  });
  const order: Order = { id: 'o-1', qty: 2, lines: [{ sku: 'a', price: 3 }] };
  const { messageId } = await orders.send(order);
  assert.ok(messageId.length > 0);
  await until(() => got.length === 1, 'the typed order consumed');
  assert.deepEqual(got, [order]);
  await consumer.stop();

  const quotes = client.queue<Order>('typed-quotes', { durable: false });
  const responder = await quotes.respond(async (msg) => {
    await tick();
    return { id: msg.body.id, total: msg.body.qty * msg.body.lines[0]!.price };
  });
  const quote = await quotes.request<{ id: string; total: number }>(order);
  assert.deepEqual(quote, { id: 'o-1', total: 6 });
  await responder.stop();

  // Compile-time only (never called): a typed queue refuses other shapes.
  const _typeChecks = (): void => {
    // @ts-expect-error: not an Order
    void orders.send({ sku: 'x' });
    // @ts-expect-error: qty must be a number
    void orders.send({ id: 'o', qty: 'two', lines: [] });
  };

  // The package export the README uses.
  const mod = await import('baton/client');
  assert.equal(typeof mod.connect, 'function');
  assert.equal(typeof mod.UnroutableError, 'function');
});
