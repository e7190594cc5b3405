import assert from 'node:assert/strict';
import { test } from 'node:test';
import type amqp from 'amqplib';
import { openConfirmChannel } from '../helpers/amqp-raw.js';
import { tempDir, until } from '../helpers/core.js';
import { connect, killBroker, spawnBroker, startBroker } from '../helpers/server.js';

/** The next message of `queue` (basic.get, polled: a dead letter arrives asynchronously). */
async function next(ch: amqp.Channel, queue: string): Promise<amqp.GetMessage> {
  let got: amqp.GetMessage | false = false;
  await until(async () => (got = await ch.get(queue)) !== false, `a message in '${queue}'`);
  return got as unknown as amqp.GetMessage;
}

void test('dead-lettering: a rejected message goes to the DLX with x-death as RabbitMQ writes it', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await ch.assertExchange('dlx', 'direct', { durable: true });
  await ch.assertQueue('dlq', { durable: true });
  await ch.bindQueue('dlq', 'dlx', 'dead');
  await ch.assertQueue('work', {
    durable: true,
    arguments: { 'x-dead-letter-exchange': 'dlx', 'x-dead-letter-routing-key': 'dead' },
  });
  ch.publish('', 'work', Buffer.from('poison'), {
    persistent: true,
    messageId: 'p1',
    expiration: '60000',
    headers: { kept: 'yes' },
  });
  await ch.waitForConfirms();
  const m = await next(ch, 'work');
  ch.nack(m, false, false);
  const d = await next(ch, 'dlq');
  ch.ack(d);
  assert.equal(d.content.toString(), 'poison');
  assert.equal(d.fields.exchange, 'dlx');
  assert.equal(d.fields.routingKey, 'dead');
  assert.equal(d.properties.messageId, 'p1');
  assert.equal(d.properties.deliveryMode, 2);
  assert.equal(d.properties.expiration, undefined, 'the TTL does not follow it');
  const h = d.properties.headers!;
  assert.equal(h.kept, 'yes');
  assert.equal(h['x-first-death-reason'], 'rejected');
  assert.equal(h['x-first-death-queue'], 'work');
  assert.equal(h['x-first-death-exchange'], '');
  const deaths = h['x-death'] as unknown as Record<string, unknown>[];
  assert.equal(deaths.length, 1);
  const x = deaths[0]!;
  assert.equal(x.count, 1);
  assert.equal(x.reason, 'rejected');
  assert.equal(x.queue, 'work');
  assert.equal(x.exchange, '');
  assert.deepEqual(x['routing-keys'], ['work']);
  assert.equal(x['original-expiration'], '60000');
  assert.ok(x.time instanceof Date || typeof x.time === 'object', 'time is an AMQP timestamp');
  assert.equal((await ch.checkQueue('work')).messageCount, 0);
});

void test('dead-lettering: x-death counts up per (queue, reason) and the newest is first; reject with requeue does not dead-letter', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  // Two queues that dead-letter into each other through the default exchange.
  await ch.assertQueue('ping', {
    arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'pong' },
  });
  await ch.assertQueue('pong', {
    arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'ping' },
  });
  ch.sendToQueue('ping', Buffer.from('ball'));
  await ch.waitForConfirms();
  const first = await next(ch, 'ping');
  ch.nack(first, false, true); // requeue: stays in ping
  const again = await next(ch, 'ping');
  assert.equal(again.fields.redelivered, true);
  assert.equal(again.properties.headers?.['x-death'], undefined);
  ch.reject(again, false);
  ch.reject(await next(ch, 'pong'), false);
  const third = await next(ch, 'ping');
  ch.reject(third, false);
  const last = await next(ch, 'pong');
  ch.ack(last);
  const deaths = last.properties.headers!['x-death'] as unknown as Record<string, unknown>[];
  assert.deepEqual(
    deaths.map((d) => [d.queue, d.reason, d.count]),
    [
      ['ping', 'rejected', 2],
      ['pong', 'rejected', 1],
    ],
  );
  assert.equal(last.properties.headers!['x-first-death-queue'], 'ping');
});

void test('dead-lettering: an unroutable dead letter or a missing DLX drops the message, nothing else breaks', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue('lonely', { arguments: { 'x-dead-letter-exchange': 'no-such-exchange' } });
  ch.sendToQueue('lonely', Buffer.from('x'));
  await ch.waitForConfirms();
  ch.reject(await next(ch, 'lonely'), false);
  await until(async () => (await ch.checkQueue('lonely')).messageCount === 0, 'dropped');
  ch.sendToQueue('lonely', Buffer.from('y'));
  await ch.waitForConfirms();
  assert.equal((await ch.checkQueue('lonely')).messageCount, 1);
});

void test('dead-lettering crash: SIGKILL while messages are dead-lettered, each is in exactly one queue', async (t) => {
  const dataDir = tempDir(t, 'baton-dlx-crash-');
  const N = 600;
  let total = 0;
  for (let cycle = 0; cycle < 10; cycle++) {
    let b = await spawnBroker(t, dataDir);
    let conn = await connect(t, b.url);
    let ch = await openConfirmChannel(conn);
    await ch.assertQueue('dlq', { durable: true });
    await ch.assertQueue('src', {
      durable: true,
      arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'dlq' },
    });
    for (let i = 0; i < N; i++)
      ch.sendToQueue('src', Buffer.from(`${cycle}:${i}`), { persistent: true });
    await ch.waitForConfirms();
    total += N;
    await ch.prefetch(50);
    let rejected = 0;
    const stop = Math.floor(N * (0.1 + 0.08 * cycle));
    await new Promise<void>((resolve) => {
      void ch.consume('src', (m) => {
        if (m === null) return;
        ch.reject(m, false);
        if (++rejected === stop) resolve();
      });
    });
    await killBroker(b.child);
    b = await spawnBroker(t, dataDir);
    conn = await connect(t, b.url);
    ch = await openConfirmChannel(conn);
    const seen = new Map<string, number>();
    for (const q of ['src', 'dlq']) {
      for (;;) {
        const m = await ch.get(q, { noAck: false });
        if (m === false) break;
        const k = m.content.toString();
        seen.set(k, (seen.get(k) ?? 0) + 1);
        // Left unacked: closing the connection puts everything back.
      }
    }
    assert.equal(seen.size, total, `cycle ${cycle}: every confirmed message is somewhere`);
    for (const [k, n] of seen) assert.equal(n, 1, `cycle ${cycle}: ${k} is in one queue only`);
    await conn.close();
    await killBroker(b.child);
  }
});
