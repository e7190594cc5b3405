// baton/client request/respond over direct reply-to: round trips, 1,000 concurrent requests
// each with its own reply, timeouts with late replies ignored, remote errors, reconnects.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ERROR_HEADER,
  RemoteError,
  RequestTimeoutError,
  UnroutableError,
  InvalidOptionError,
} from '../../src/client/index.js';
import { eventually } from '../helpers/core.js';
import { connect, startBroker } from '../helpers/server.js';
import { openClient } from '../helpers/client.js';

void test('rpc: a request gets its reply; 1,000 concurrent requests each get their own', async (t) => {
  const { url } = await startBroker(t);
  const server = await openClient(t, url);
  const caller = await openClient(t, url);
  await server.declareQueue('sum');
  await server.respond<{ a: number; b: number }, { sum: number }>(
    'sum',
    (m) => ({ sum: m.body.a + m.body.b }),
    { concurrency: 16 },
  );
  assert.deepEqual(await caller.request('sum', { a: 1, b: 2 }), { sum: 3 });
  const replies = await Promise.all(
    Array.from({ length: 1000 }, (_, i) =>
      caller.request<{ sum: number }>('sum', { a: i, b: 1000 }),
    ),
  );
  replies.forEach((r, i) => assert.equal(r.sum, i + 1000));
  assert.deepEqual([...server.errors, ...caller.errors], []);
});

void test('rpc: a slow reply times out (RequestTimeoutError); the late reply is ignored', async (t) => {
  const { url } = await startBroker(t);
  const client = await openClient(t, url);
  await client.declareQueue('slow');
  let handled = 0;
  await client.respond<number, number>('slow', async (m) => {
    handled++;
    if (m.body === 0) await sleep(400);
    return m.body * 10;
  });
  await assert.rejects(client.request('slow', 0, { timeoutMs: 100 }), (e: unknown) => {
    assert.ok(e instanceof RequestTimeoutError);
    assert.equal(e.timeoutMs, 100);
    return true;
  });
  // The late reply for 0 arrives while this one waits, and must not be taken for it.
  assert.equal(await client.request<number>('slow', 5, { timeoutMs: 5000 }), 50);
  await eventually(() => assert.equal(handled, 2));
  assert.deepEqual(client.errors, []);
});

void test('rpc: a throwing responder rejects the request with RemoteError carrying its message', async (t) => {
  const { url } = await startBroker(t);
  const client = await openClient(t, url);
  await client.declareQueue('fails');
  await client.respond('fails', () => {
    throw new TypeError('no such order 42');
  });
  await assert.rejects(client.request('fails', {}), (e: unknown) => {
    assert.ok(e instanceof RemoteError);
    assert.equal(e.message, 'no such order 42');
    assert.equal(e.remoteName, 'TypeError');
    return true;
  });
  // The request was acked, not requeued.
  const q = await (await (await connect(t, url)).createChannel()).checkQueue('fails');
  assert.equal(q.messageCount, 0);
});

void test('rpc: a request to a missing queue fails with UnroutableError; bad options refused', async (t) => {
  const { url } = await startBroker(t);
  const client = await openClient(t, url);
  await assert.rejects(client.request('nobody', 1), UnroutableError);
  await assert.rejects(client.request('nobody', 1, { timeout: 5 } as never), InvalidOptionError);
});

void test('rpc: a plain client replies the RabbitMQ way; a request without reply-to is acked, result dropped', async (t) => {
  const { url } = await startBroker(t);
  const client = await openClient(t, url);
  await client.declareQueue('svc');
  let calls = 0;
  await client.respond<string, string>('svc', (m) => {
    calls++;
    return m.body.toUpperCase();
  });
  // A raw amqplib requester over direct reply-to, with only a message-id (no correlation-id).
  const ch = await (await connect(t, url)).createChannel();
  const reply = new Promise<{ body: string; correlationId: unknown; error: unknown }>((resolve) => {
    void ch.consume(
      'amq.rabbitmq.reply-to',
      (m) =>
        m &&
        resolve({
          body: m.content.toString(),
          correlationId: m.properties.correlationId,
          error: m.properties.headers?.[ERROR_HEADER],
        }),
      { noAck: true },
    );
  });
  await sleep(50);
  ch.sendToQueue('svc', Buffer.from('hi'), {
    replyTo: 'amq.rabbitmq.reply-to',
    messageId: 'm-1',
    contentType: 'text/plain',
  });
  assert.deepEqual(await reply, { body: 'HI', correlationId: 'm-1', error: undefined });
  // A send (no reply-to) to the service queue: handled, acked, nothing published.
  await client.send('svc', 'fire');
  await eventually(() => assert.equal(calls, 2));
  await eventually(async () => {
    const q = await (await (await connect(t, url)).createChannel()).checkQueue('svc');
    assert.equal(q.messageCount, 0);
  });
  assert.deepEqual(client.errors, []);
});

void test('rpc: typed queue request/respond', async (t) => {
  const { url } = await startBroker(t);
  const client = await openClient(t, url);
  interface Quote {
    sku: string;
    qty: number;
  }
  const quotes = client.queue<Quote>('quotes', { durable: false });
  await quotes.respond((m) => ({ total: m.body.qty * 3 }));
  assert.deepEqual(await quotes.request<{ total: number }>({ sku: 'a', qty: 2 }), { total: 6 });
});

void test('rpc: requests pending across a broker restart are republished and answered', async (t) => {
  const broker = await startBroker(t);
  const reconnect = { initialDelayMs: 20, maxDelayMs: 200 };
  const server = await openClient(t, broker.url, { reconnect });
  const caller = await openClient(t, broker.url, { reconnect });
  await server.declareQueue('echo', { durable: false });
  let gate = true;
  await server.respond<number, number>(
    'echo',
    async (m) => {
      while (gate) await sleep(10);
      return m.body;
    },
    { concurrency: 10 },
  );
  const pending = Array.from({ length: 10 }, (_, i) =>
    caller.request<number>('echo', i, { timeoutMs: 30_000 }),
  );
  await sleep(100);
  const back = new Promise<void>((r) => caller.once('connected', () => r()));
  await broker.restart();
  await back;
  gate = false;
  assert.deepEqual(await Promise.all(pending), [...Array(10).keys()]);
});
