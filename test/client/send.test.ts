// baton/client send(): confirmed, JSON by default, message-id and dedup header set,
// persistent, mandatory (a missing queue is an UnroutableError), options mapped to AMQP.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type amqp from 'amqplib';
import {
  InvalidOptionError,
  UnroutableError,
  jsonCodec,
  DELAY_EXCHANGE,
} from '../../src/client/index.js';
import { connect, startBroker } from '../helpers/server.js';
import { openClient } from '../helpers/client.js';

async function drain(ch: amqp.Channel, queue: string): Promise<amqp.GetMessage[]> {
  const out: amqp.GetMessage[] = [];
  for (;;) {
    const m = await ch.get(queue, { noAck: true });
    if (m === false) return out;
    out.push(m);
  }
}

void test('send: JSON, text and bytes with their content-type, a uuid message-id, persistent, dedup header', async (t) => {
  const { url } = await startBroker(t);
  const client = await openClient(t, url);
  await client.declareQueue('q');
  const r1 = await client.send('q', { a: 1 });
  assert.match(r1.messageId, /^[0-9a-f-]{36}$/);
  await client.send('q', 'hello');
  await client.send('q', Buffer.from([1, 2, 3]), { messageId: 'm-3' });
  const ch = await (await connect(t, url)).createChannel();
  const [a, b, c] = await drain(ch, 'q');
  assert.equal(a!.properties.contentType, 'application/json');
  assert.deepEqual(JSON.parse(a!.content.toString()), { a: 1 });
  assert.equal(a!.properties.messageId, r1.messageId);
  assert.equal(a!.properties.deliveryMode, 2);
  assert.equal(a!.properties.headers?.['x-deduplication-header'], r1.messageId);
  assert.equal(b!.properties.contentType, 'text/plain');
  assert.equal(b!.content.toString(), 'hello');
  assert.equal(c!.properties.contentType, 'application/octet-stream');
  assert.deepEqual([...c!.content], [1, 2, 3]);
  assert.equal(c!.properties.messageId, 'm-3');
  assert.deepEqual(client.errors, []);
});

void test('send: options map to AMQP properties and headers', async (t) => {
  const { url } = await startBroker(t);
  const client = await openClient(t, url);
  await client.declareQueue('p', { maxPriority: 9 });
  await client.send(
    'p',
    { n: 1 },
    {
      priority: 5,
      ttlMs: 60_000,
      groupId: 'g1',
      correlationId: 'c1',
      headers: { h: 'v' },
      persistent: false,
      contentType: 'application/vnd.order+json',
      deduplicationHeader: 'x-my-id',
    },
  );
  await client.send('p', { n: 2 }, { deduplicationHeader: false });
  const ch = await (await connect(t, url)).createChannel();
  const [a, b] = await drain(ch, 'p');
  const p = a!.properties;
  assert.equal(p.priority, 5);
  assert.equal(p.expiration, '60000');
  assert.equal(p.correlationId, 'c1');
  assert.equal(p.deliveryMode, 1);
  assert.equal(p.contentType, 'application/vnd.order+json');
  assert.equal(p.headers?.['x-group-id'], 'g1');
  assert.equal(p.headers?.h, 'v');
  assert.equal(p.headers?.['x-my-id'], p.messageId);
  assert.equal(p.headers?.['x-deduplication-header'], undefined);
  assert.equal(b!.properties.headers?.['x-deduplication-header'], undefined);
  // The +json content-type still decodes as JSON.
  assert.deepEqual(jsonCodec.decode(a!.content, p.contentType as string), { n: 1 });
});

void test('send: a missing queue rejects with UnroutableError (312), matched to its own send', async (t) => {
  const { url } = await startBroker(t);
  const client = await openClient(t, url);
  await client.declareQueue('here');
  const results = await Promise.allSettled(
    Array.from({ length: 400 }, (_, i) => client.send(i % 3 === 0 ? 'nowhere' : 'here', { i })),
  );
  for (const [i, r] of results.entries()) {
    if (i % 3 === 0) {
      assert.equal(r.status, 'rejected', `send ${i}`);
      const e = (r as PromiseRejectedResult).reason as UnroutableError;
      assert.ok(e instanceof UnroutableError);
      assert.equal(e.code, 312);
      assert.equal(e.queue, 'nowhere');
    } else assert.equal(r.status, 'fulfilled', `send ${i}`);
  }
  const q = await (await (await connect(t, url)).createChannel()).checkQueue('here');
  assert.equal(q.messageCount, 266);
});

void test('send: the same message-id twice on a deduplicating queue is enqueued once', async (t) => {
  const { url } = await startBroker(t);
  const client = await openClient(t, url);
  await client.declareQueue('d', { arguments: { 'x-message-deduplication': true } });
  await client.send('d', 'one', { messageId: 'same' });
  await client.send('d', 'two', { messageId: 'same' });
  await client.send('d', 'three');
  const ch = await (await connect(t, url)).createChannel();
  assert.deepEqual(
    (await drain(ch, 'd')).map((m) => m.content.toString()),
    ['one', 'three'],
  );
});

void test('send: delayMs goes through the baton.delayed exchange and arrives not before its delay', async (t) => {
  const { url } = await startBroker(t);
  const client = await openClient(t, url);
  await client.declareQueue('later');
  const sentAt = Date.now();
  await client.send('later', { x: 1 }, { delayMs: 300 });
  const ch = await (await connect(t, url)).createChannel();
  await ch.checkExchange(DELAY_EXCHANGE);
  const got = await new Promise<amqp.ConsumeMessage>((resolve) => {
    void ch.consume('later', (m) => m && resolve(m), { noAck: true });
  });
  assert.ok(Date.now() - sentAt >= 300, 'not before the delay');
  assert.deepEqual(JSON.parse(got.content.toString()), { x: 1 });
  // A delayed send to a queue that does not exist fails at once.
  await assert.rejects(client.send('nope', 1, { delayMs: 100 }), (e: unknown) => {
    assert.ok(e instanceof UnroutableError);
    assert.equal(e.code, 404);
    return true;
  });
  // The admin channel the refused bind closed is replaced.
  await client.send('later', 2);
});

void test('send: many large sends respect back-pressure and are all confirmed', async (t) => {
  const { url } = await startBroker(t);
  const client = await openClient(t, url);
  await client.declareQueue('big');
  const body = Buffer.alloc(256 * 1024, 7);
  await Promise.all(Array.from({ length: 200 }, () => client.send('big', body)));
  const q = await (await (await connect(t, url)).createChannel()).checkQueue('big');
  assert.equal(q.messageCount, 200);
});

void test('send and connect: unknown options are refused, never ignored', async (t) => {
  const { url } = await startBroker(t);
  const client = await openClient(t, url);
  await assert.rejects(
    client.send('q', 1, { delay: 5 } as never),
    (e: unknown) => e instanceof InvalidOptionError && /delay/.test(e.message),
  );
  await assert.rejects(client.send('q', 1, { priority: 300 }), InvalidOptionError);
  await assert.rejects(client.declareQueue('q', { durabel: true } as never), InvalidOptionError);
  await assert.rejects(
    openClient(t, url, { reconect: {} } as never),
    (e: unknown) => e instanceof InvalidOptionError && /reconect/.test(e.message),
  );
});
