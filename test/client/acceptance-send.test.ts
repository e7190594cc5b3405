/**
 * Acceptance (issue 11): the client's send side against a real broker on port 0, checked from
 * the outside with amqplib (what is on the wire and in the queue), not from the client's view.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type amqp from 'amqplib';
import {
  BatonClientError,
  NackedError,
  UnroutableError,
  type Codec,
  type Message,
} from '../../src/client/index.js';
import { openChannel } from '../helpers/amqp-raw.js';
import { openClient } from '../helpers/client-acceptance.js';
import { until } from '../helpers/core.js';
import { connect as amqpConnect, startBroker } from '../helpers/server.js';

async function getAll(ch: amqp.Channel, queue: string): Promise<amqp.GetMessage[]> {
  const out: amqp.GetMessage[] = [];
  for (;;) {
    const m = await ch.get(queue, { noAck: true });
    if (m === false) return out;
    out.push(m);
  }
}

void test('confirmed send: resolves once the message is in the queue; JSON, persistent, message-id on the wire', async (t) => {
  const { url } = await startBroker(t);
  const { client } = await openClient(t, url);
  const ch = await openChannel(await amqpConnect(t, url));
  await client.declareQueue('orders', { durable: true });
  const order = { id: 7, items: ['a', 'b'], nested: { ok: true, n: null }, text: 'żółw ✓' };
  const r = await client.send('orders', order);
  assert.equal(typeof r.messageId, 'string');
  assert.ok(r.messageId.length > 0, 'a message-id is generated');
  // Resolved means confirmed: it is already there for any other connection.
  assert.equal((await ch.checkQueue('orders')).messageCount, 1);
  const m = await ch.get('orders', { noAck: true });
  assert.ok(m !== false);
  assert.equal(m.properties.contentType, 'application/json');
  assert.deepEqual(JSON.parse(m.content.toString('utf8')), order);
  assert.equal(m.properties.messageId, r.messageId, 'the id resolved is the id sent');
  assert.equal(m.properties.deliveryMode, 2, 'persistent by default');
});

void test('message-id: generated ones are unique, a given one is kept', async (t) => {
  const { url } = await startBroker(t);
  const { client } = await openClient(t, url);
  const ch = await openChannel(await amqpConnect(t, url));
  await client.declareQueue('ids');
  const generated = await Promise.all(
    Array.from({ length: 200 }, (_, i) => client.send('ids', { i })),
  );
  const ids = new Set(generated.map((r) => r.messageId));
  assert.equal(ids.size, 200, 'every generated id is different');
  const given = await client.send('ids', { i: 'given' }, { messageId: 'order-42' });
  assert.equal(given.messageId, 'order-42');
  const onWire = await getAll(ch, 'ids');
  assert.equal(onWire.length, 201);
  assert.deepEqual(
    new Set(onWire.map((m) => m.properties.messageId as string)),
    new Set([...ids, 'order-42']),
  );
  const last = onWire.find((m) => m.properties.messageId === 'order-42')!;
  assert.deepEqual(JSON.parse(last.content.toString()), { i: 'given' });
});

void test('fire-and-forget: a burst of sends without awaiting each; all confirmed, all consumed once', async (t) => {
  const { url } = await startBroker(t);
  const { client } = await openClient(t, url);
  const ch = await openChannel(await amqpConnect(t, url));
  await client.declareQueue('ff', { durable: true });
  const n = 2000;
  const pending: Promise<{ messageId: string }>[] = [];
  for (let i = 0; i < n; i++) pending.push(client.send('ff', { i }));
  // Transient too: a fire-and-forget notice need not hit the disk.
  pending.push(client.send('ff', { i: 'transient' }, { persistent: false }));
  const results = await Promise.all(pending);
  assert.equal(results.length, n + 1);
  assert.equal((await ch.checkQueue('ff')).messageCount, n + 1);

  const seen = new Map<string, number>();
  let transientMode: unknown;
  const consumer = await client.consume<{ i: number | string }>(
    'ff',
    (msg: Message<{ i: number | string }>) => {
      const key = String(msg.body.i);
      seen.set(key, (seen.get(key) ?? 0) + 1);
      if (key === 'transient') transientMode = msg.properties.deliveryMode;
      return Promise.resolve();
    },
    { concurrency: 4 },
  );
  await until(() => seen.size === n + 1, `${n + 1} distinct messages consumed`);
  await consumer.stop();
  assert.deepEqual(
    [...seen].filter(([, c]) => c !== 1),
    [],
    'each consumed once',
  );
  assert.ok(transientMode === 1 || transientMode === undefined, `deliveryMode ${transientMode}`);
  assert.equal((await ch.checkQueue('ff')).messageCount, 0, 'all acked');
});

void test('default codec: object as JSON, string as text/plain, Buffer as octet-stream; round trip through consume', async (t) => {
  const { url } = await startBroker(t);
  const { client } = await openClient(t, url);
  const ch = await openChannel(await amqpConnect(t, url));
  await client.declareQueue('codec');
  const bytes = Buffer.from([0, 1, 2, 250, 255, 0x7b]);
  const obj = { a: 1, list: [1, 'two', { three: 3 }], unicode: 'ünï ☃', empty: {} };
  await client.send('codec', obj, { messageId: 'obj' });
  await client.send('codec', 'hello ☃ world', { messageId: 'str' });
  await client.send('codec', bytes, { messageId: 'buf' });

  // On the wire.
  const wire = new Map((await getAll(ch, 'codec')).map((m) => [m.properties.messageId, m]));
  assert.equal(wire.get('obj')!.properties.contentType, 'application/json');
  assert.equal(wire.get('str')!.properties.contentType, 'text/plain');
  assert.equal(wire.get('str')!.content.toString('utf8'), 'hello ☃ world');
  assert.equal(wire.get('buf')!.properties.contentType, 'application/octet-stream');
  assert.deepEqual(wire.get('buf')!.content, bytes);

  // And decoded by the client's consumer.
  await client.send('codec', obj, { messageId: 'obj' });
  await client.send('codec', 'hello ☃ world', { messageId: 'str' });
  await client.send('codec', bytes, { messageId: 'buf' });
  const got = new Map<string, Message<unknown>>();
  const consumer = await client.consume<unknown>('codec', (msg) => {
    got.set(msg.messageId!, msg);
    return Promise.resolve();
  });
  await until(() => got.size === 3, 'three messages');
  await consumer.stop();
  const o = got.get('obj')!;
  assert.deepEqual(o.body, obj);
  assert.equal(o.contentType, 'application/json');
  assert.deepEqual(JSON.parse(o.raw.toString()), obj);
  assert.equal(o.queue, 'codec');
  assert.equal(o.redelivered, false);
  const s = got.get('str')!;
  assert.equal(s.body, 'hello ☃ world');
  assert.equal(s.contentType, 'text/plain');
  const b = got.get('buf')!;
  assert.ok(Buffer.isBuffer(b.body), 'a Buffer comes back as a Buffer');
  assert.deepEqual(b.body, bytes);
  assert.deepEqual(b.raw, bytes);
});

void test('a pluggable codec encodes every send and decodes every delivery', async (t) => {
  const { url } = await startBroker(t);
  // Bodies as "key=value;…" lines, a format the default codec does not know.
  const kvCodec: Codec = {
    encode: (body) => ({
      content: Buffer.from(
        Object.entries(body as Record<string, string>)
          .map(([k, v]) => `${k}=${v}`)
          .join(';'),
      ),
      contentType: 'application/x-kv',
    }),
    decode: (content, contentType) => {
      assert.equal(contentType, 'application/x-kv');
      return Object.fromEntries<string>(
        content
          .toString()
          .split(';')
          .map((kv) => kv.split('=') as [string, string]),
      );
    },
  };
  const { client } = await openClient(t, url, { codec: kvCodec });
  const ch = await openChannel(await amqpConnect(t, url));
  await client.declareQueue('kv');
  await client.send('kv', { a: '1', b: 'two' });
  const m = await ch.get('kv', { noAck: true });
  assert.ok(m !== false);
  assert.equal(m.content.toString(), 'a=1;b=two');
  assert.equal(m.properties.contentType, 'application/x-kv');
  await client.send('kv', { c: '3' });
  let body: unknown;
  const consumer = await client.consume('kv', (msg) => {
    body = msg.body;
    return Promise.resolve();
  });
  await until(() => body !== undefined, 'the kv message');
  await consumer.stop();
  assert.deepEqual(body, { c: '3' });
});

void test('send options reach the message: headers, correlation id, priority, TTL, group id, content type', async (t) => {
  const { url } = await startBroker(t);
  const { client } = await openClient(t, url);
  const ch = await openChannel(await amqpConnect(t, url));
  await client.declareQueue('opts', { arguments: { 'x-max-priority': 10 } });
  await client.send(
    'opts',
    { a: 1 },
    {
      messageId: 'm1',
      headers: { tenant: 't1', attempt: 3 },
      correlationId: 'c-1',
      priority: 5,
      ttlMs: 60_000,
      groupId: 'customer-9',
    },
  );
  await client.send('opts', Buffer.from('pb'), {
    messageId: 'm2',
    contentType: 'application/x-protobuf',
  });
  const wire = new Map((await getAll(ch, 'opts')).map((m) => [m.properties.messageId, m]));
  const m1 = wire.get('m1')!;
  assert.equal(m1.properties.headers?.tenant, 't1');
  assert.equal(m1.properties.headers?.attempt, 3);
  assert.equal(m1.properties.correlationId, 'c-1');
  assert.equal(m1.properties.priority, 5);
  assert.equal(m1.properties.expiration, '60000');
  const group = m1.properties.headers?.['x-group-id'] ?? m1.properties.headers?.JMSXGroupID;
  assert.equal(group, 'customer-9', 'the group id is a header the broker groups by');
  assert.equal(wire.get('m2')!.properties.contentType, 'application/x-protobuf');
});

void test('delayMs: a delayed send is not delivered before a later undelayed one, and arrives later', async (t) => {
  const { url } = await startBroker(t);
  const { client } = await openClient(t, url);
  await client.declareQueue('later');
  const order: string[] = [];
  const consumer = await client.consume<{ n: string }>('later', (msg) => {
    order.push(msg.body.n);
    return Promise.resolve();
  });
  await client.send('later', { n: 'delayed' }, { delayMs: 3000 });
  await client.send('later', { n: 'now' });
  await until(() => order.length === 2, 'both messages', 20_000);
  await consumer.stop();
  assert.deepEqual(order, ['now', 'delayed']);
});

void test('send to a missing queue rejects with UnroutableError (312); the client keeps working', async (t) => {
  const { url } = await startBroker(t);
  const { client } = await openClient(t, url);
  const ch = await openChannel(await amqpConnect(t, url));
  await assert.rejects(client.send('no-such-queue', { x: 1 }), (err: unknown) => {
    assert.ok(err instanceof UnroutableError, `got ${String(err)}`);
    assert.ok(err instanceof BatonClientError);
    assert.equal(err.code, 312);
    assert.match(err.message, /no-such-queue|NO_ROUTE|unroutable/i);
    return true;
  });
  // The return is per message: mixed with routable sends, only the unroutable one fails.
  await client.declareQueue('real');
  const settled = await Promise.allSettled([
    client.send('real', { n: 1 }),
    client.send('missing-too', { n: 2 }),
    client.send('real', { n: 3 }),
  ]);
  assert.deepEqual(
    settled.map((s) => s.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  assert.ok((settled[1] as PromiseRejectedResult).reason instanceof UnroutableError);
  assert.equal((await ch.checkQueue('real')).messageCount, 2);
});

void test('a nacked publish (x-overflow reject-publish on a full queue) rejects with NackedError', async (t) => {
  const { url } = await startBroker(t);
  const { client } = await openClient(t, url);
  const ch = await openChannel(await amqpConnect(t, url));
  await client.declareQueue('full', {
    arguments: { 'x-max-length': 2, 'x-overflow': 'reject-publish' },
  });
  await client.send('full', { n: 1 }, { messageId: 'kept-1' });
  await client.send('full', { n: 2 }, { messageId: 'kept-2' });
  await assert.rejects(client.send('full', { n: 3 }), (err: unknown) => {
    assert.ok(err instanceof NackedError, `got ${String(err)}`);
    assert.ok(err instanceof BatonClientError);
    return true;
  });
  // Several in flight: each one is settled by its own confirm.
  const settled = await Promise.allSettled(
    Array.from({ length: 5 }, (_, i) => client.send('full', { n: 10 + i })),
  );
  assert.ok(settled.every((s) => s.status === 'rejected' && s.reason instanceof NackedError));
  assert.deepEqual(
    (await getAll(ch, 'full')).map((m) => String(m.properties.messageId)),
    ['kept-1', 'kept-2'],
  );
  // Room again: accepted again.
  await client.send('full', { n: 99 }, { messageId: 'after' });
  assert.equal((await ch.checkQueue('full')).messageCount, 1);
});
