// baton/client reconnect: the broker restarts or the TCP connection is cut mid-stream; the
// client reconnects by itself, re-declares, resends unconfirmed sends with the same id (so a
// deduplicating queue gets no duplicate), resumes its consumers and never acks a stale tag.
import assert from 'node:assert/strict';
import { createServer, connect as netConnect, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ClientClosedError,
  ConnectionClosedError,
  connect as clientConnect,
  type Message,
} from '../../src/client/index.js';
import { eventually } from '../helpers/core.js';
import { connect, startBroker } from '../helpers/server.js';
import { openClient } from '../helpers/client.js';

const FAST = { initialDelayMs: 20, maxDelayMs: 200 };

/** A TCP proxy to the broker whose connections a test can cut (no AMQP close, just gone). */
async function cuttableProxy(t: TestContext, target: number) {
  const sockets = new Set<Socket>();
  let refusing = false;
  const server = createServer((client) => {
    // Away: a new connection is dropped at once (a race-free "broker unreachable").
    if (refusing) return void client.destroy();
    const upstream = netConnect({ host: '127.0.0.1', port: target });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const port = (server.address() as { port: number }).port;
  return {
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    cut: () => {
      for (const s of sockets) s.destroy();
    },
    refuse: (on: boolean) => {
      refusing = on;
    },
  };
}

void test('reconnect: a broker restart mid-stream; every send confirmed, consumed, none duplicated', async (t) => {
  const broker = await startBroker(t);
  const client = await openClient(t, broker.url, { reconnect: FAST });
  const events: string[] = [];
  for (const e of ['connected', 'disconnected', 'reconnecting'] as const)
    client.on(e, () => events.push(e));
  await client.declareQueue('stream', { arguments: { 'x-message-deduplication': true } });
  const seen = new Map<number, Message<number>[]>();
  await client.consume<number>(
    'stream',
    (m) => {
      seen.set(m.body, [...(seen.get(m.body) ?? []), m]);
    },
    { concurrency: 4 },
  );
  const N = 3000;
  let confirmed = 0;
  const producer = (async () => {
    for (let i = 0; i < N; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, j) => client.send('stream', i + j).then(() => confirmed++)),
      );
    }
  })();
  await eventually(() => assert.ok(confirmed >= 500));
  await broker.restart();
  await producer;
  assert.equal(confirmed, N);
  await eventually(() => assert.equal(seen.size, N), 60_000);
  for (const [i, ms] of seen)
    for (const m of ms.slice(1))
      assert.equal(m.redelivered, true, `message ${i} came twice without being a redelivery`);
  assert.ok(events.includes('disconnected') && events.includes('reconnecting'));
  assert.equal(events.filter((e) => e === 'connected').length, 1, 'one reconnect');
});

void test('reconnect: a cut TCP connection; unconfirmed sends resent with the same id, in order', async (t) => {
  const broker = await startBroker(t);
  const proxy = await cuttableProxy(t, broker.port);
  const client = await openClient(t, proxy.url, { reconnect: FAST });
  await client.declareQueue('ordered', { arguments: { 'x-message-deduplication': true } });
  const sends = Array.from({ length: 2000 }, (_, i) => client.send('ordered', i));
  proxy.cut();
  const more = Array.from({ length: 100 }, (_, i) => client.send('ordered', 2000 + i));
  await Promise.all([...sends, ...more]);
  const ch = await (await connect(t, broker.url)).createChannel();
  const got: number[] = [];
  for (;;) {
    const m = await ch.get('ordered', { noAck: true });
    if (m === false) break;
    got.push(JSON.parse(m.content.toString()) as number);
  }
  assert.deepEqual(got, [...Array(2100).keys()], 'each once, in send order');
});

void test('reconnect: a handler running across a cut is not acked on the new channel; redelivered', async (t) => {
  const broker = await startBroker(t);
  const proxy = await cuttableProxy(t, broker.port);
  const client = await openClient(t, proxy.url, { reconnect: FAST });
  await client.declareQueue('slow');
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const seen: Message<string>[] = [];
  await client.consume<string>('slow', async (m) => {
    seen.push(m);
    if (seen.length === 1) await gate;
  });
  await client.send('slow', 'a');
  await eventually(() => assert.equal(seen.length, 1));
  let reconnected = false;
  client.once('connected', () => (reconnected = true));
  proxy.cut();
  await eventually(() => assert.ok(reconnected));
  // The old handler ends after the reconnect: its ack must not go to the new channel (a stale
  // tag there is a 406), and the broker redelivers the message (concurrency 1: once it ends).
  await sleep(100);
  release();
  await eventually(() => assert.equal(seen.length, 2));
  await client.send('slow', 'b');
  await eventually(() => assert.equal(seen.length, 3));
  assert.equal(seen[1]!.redelivered, true);
  assert.equal(seen[2]!.body, 'b');
  assert.deepEqual(client.errors, [], 'no channel error (e.g. 406 unknown delivery tag)');
  const q = await (await (await connect(t, broker.url)).createChannel()).checkQueue('slow');
  assert.equal(q.messageCount, 0);
});

void test('reconnect: non-durable queues are re-declared and their consumers resumed', async (t) => {
  const broker = await startBroker(t);
  const client = await openClient(t, broker.url, { reconnect: FAST });
  await client.declareQueue('temp', { durable: false });
  const got: string[] = [];
  await client.consume<string>('temp', (m) => {
    got.push(m.body);
  });
  await client.send('temp', 'before');
  await eventually(() => assert.deepEqual(got, ['before']));
  const connected = new Promise<void>((r) => client.once('connected', () => r()));
  await broker.restart();
  await connected;
  await client.send('temp', 'after');
  await eventually(() => assert.deepEqual(got, ['before', 'after']));
});

void test('reconnect: close() while the broker is away rejects pending sends with ClientClosedError', async (t) => {
  const broker = await startBroker(t);
  const proxy = await cuttableProxy(t, broker.port);
  const client = await clientConnect(proxy.url, { reconnect: FAST });
  await client.declareQueue('x');
  // Keep it away: every reconnect attempt is dropped at once.
  proxy.refuse(true);
  proxy.cut();
  await eventually(() => assert.equal(client.connected, false));
  const pending = client.send('x', 1);
  await client.close();
  proxy.refuse(false);
  await assert.rejects(pending, ClientClosedError);
  await assert.rejects(client.send('x', 2), ClientClosedError);
});

void test('reconnect: gives up after maxAttempts; error event, then closed; first connect fails fast', async (t) => {
  const broker = await startBroker(t);
  const client = await clientConnect(broker.url, { reconnect: { ...FAST, maxAttempts: 2 } });
  const errors: Error[] = [];
  client.on('error', (e) => errors.push(e));
  await broker.server.stop();
  await eventually(() => assert.ok(errors.some((e) => e instanceof ConnectionClosedError)));
  await assert.rejects(client.send('q', 1), ClientClosedError);
  await assert.rejects(
    clientConnect(broker.url),
    (e: unknown) => e instanceof ConnectionClosedError && /ECONNREFUSED/.test(String(e.message)),
  );
});

void test('reconnect: without an error listener, failures never crash the process', async (t) => {
  const broker = await startBroker(t);
  const client = await clientConnect(broker.url, { reconnect: FAST });
  t.after(() => client.close());
  await client.declareQueue('gone', { durable: false });
  await client.consume('gone', () => {});
  // The broker cancels the consumer (queue deleted) and the client keeps retrying quietly.
  const other = await (await connect(t, broker.url)).createChannel();
  await other.deleteQueue('gone');
  await broker.restart();
  await eventually(() => assert.equal(client.connected, true));
  await client.send('gone', 'still works');
});
