import assert from 'node:assert/strict';
import { test } from 'node:test';
import amqp from 'amqplib';
import type { Channel } from 'amqplib';
import { tempDir, until } from '../helpers/core.js';
import { openChannel, openConfirmChannel } from '../helpers/amqp-raw.js';
import { connect, killBroker, spawnBroker, startBroker } from '../helpers/server.js';

async function drain(ch: Channel, queue: string): Promise<[string, boolean][]> {
  const out: [string, boolean][] = [];
  for (;;) {
    const m = await ch.get(queue);
    if (m === false) return out;
    out.push([m.content.toString(), m.fields.redelivered]);
    ch.ack(m);
  }
}

void test('confirmed persistent messages on a durable queue survive a restart, in order (AMQP 0-9-1 delivery-mode 2)', async (t) => {
  const broker = await startBroker(t);
  const N = 500;
  {
    const conn = await connect(t, broker.url);
    const ch = await openConfirmChannel(conn);
    await ch.assertQueue('keep', { durable: true });
    for (let i = 0; i < N; i++)
      ch.sendToQueue('keep', Buffer.from(`m${i}`), {
        persistent: true,
        messageId: `id${i}`,
        headers: { i },
      });
    await ch.waitForConfirms();
    await conn.close();
  }
  await broker.restart();
  const conn = await connect(t, broker.url);
  const ch = await openChannel(conn);
  assert.equal((await ch.checkQueue('keep')).messageCount, N);
  const got: string[] = [];
  for (;;) {
    // noAck: one write per round trip (an ack + get pair would wait on Nagle's algorithm).
    const m = await ch.get('keep', { noAck: true });
    if (m === false) break;
    assert.equal(m.properties.messageId, `id${got.length}`);
    assert.equal(m.properties.headers?.i, got.length);
    assert.equal(m.properties.deliveryMode, 2);
    assert.equal(m.fields.redelivered, false, 'never delivered before the restart');
    got.push(m.content.toString());
  }
  assert.deepEqual(
    got,
    Array.from({ length: N }, (_, i) => `m${i}`),
  );
});

void test('transient messages do not survive a restart, even on a durable queue (AMQP 0-9-1 delivery-mode 1)', async (t) => {
  const broker = await startBroker(t);
  {
    const conn = await connect(t, broker.url);
    const ch = await openConfirmChannel(conn);
    await ch.assertQueue('mixed', { durable: true });
    for (let i = 0; i < 20; i++)
      ch.sendToQueue('mixed', Buffer.from(`m${i}`), { persistent: i % 2 === 0 });
    await ch.waitForConfirms();
    assert.equal((await ch.checkQueue('mixed')).messageCount, 20);
    await conn.close();
  }
  await broker.restart();
  const ch = await openChannel(await connect(t, broker.url));
  const got = (await drain(ch, 'mixed')).map(([b]) => b);
  assert.deepEqual(
    got,
    Array.from({ length: 10 }, (_, i) => `m${i * 2}`),
  );
});

void test('acked messages stay gone after a restart; delivered-but-unacked ones come back redelivered=true (RabbitMQ)', async (t) => {
  const broker = await startBroker(t);
  {
    const conn = await connect(t, broker.url);
    const ch = await openConfirmChannel(conn);
    await ch.assertQueue('half', { durable: true });
    for (let i = 0; i < 6; i++) ch.sendToQueue('half', Buffer.from(`m${i}`), { persistent: true });
    await ch.waitForConfirms();
    const m0 = await ch.get('half');
    const m1 = await ch.get('half');
    const m2 = await ch.get('half');
    assert.ok(m0 !== false && m1 !== false && m2 !== false);
    ch.ack(m0);
    ch.ack(m2);
    // m1 stays unacked while the broker goes down.
    await ch.checkQueue('half'); // a round trip, so the acks were processed
    await broker.restart();
  }
  const ch = await openChannel(await connect(t, broker.url));
  assert.deepEqual(await drain(ch, 'half'), [
    ['m1', true],
    ['m3', false],
    ['m4', false],
    ['m5', false],
  ]);
});

void test('settlements before a restart hold after it: requeued keeps its place, rejected and no-ack gets stay gone (RabbitMQ)', async (t) => {
  const broker = await startBroker(t);
  {
    const conn = await connect(t, broker.url);
    const ch = await openConfirmChannel(conn);
    await ch.assertQueue('settled', { durable: true });
    for (let i = 0; i < 6; i++)
      ch.sendToQueue('settled', Buffer.from(`m${i}`), { persistent: true });
    await ch.waitForConfirms();
    const m0 = await ch.get('settled');
    const m1 = await ch.get('settled');
    const m2 = await ch.get('settled', { noAck: true });
    const m3 = await ch.get('settled');
    assert.ok(m0 !== false && m1 !== false && m2 !== false && m3 !== false);
    ch.nack(m1, false, true); // back to its place, redelivered
    ch.reject(m3, false); // dropped
    ch.ack(m0);
    await ch.checkQueue('settled');
    await conn.close();
  }
  await broker.restart();
  const ch = await openChannel(await connect(t, broker.url));
  assert.deepEqual(await drain(ch, 'settled'), [
    ['m1', true],
    ['m4', false],
    ['m5', false],
  ]);
});

void test('a purge while one message is unacked drops only the ready ones, also across a restart (RabbitMQ)', async (t) => {
  const broker = await startBroker(t);
  {
    const conn = await connect(t, broker.url);
    const ch = await openConfirmChannel(conn);
    await ch.assertQueue('purge-held', { durable: true });
    for (let i = 0; i < 5; i++)
      ch.sendToQueue('purge-held', Buffer.from(`m${i}`), { persistent: true });
    await ch.waitForConfirms();
    const held = await ch.get('purge-held');
    assert.ok(held !== false);
    assert.deepEqual(await ch.purgeQueue('purge-held'), { messageCount: 4 });
    ch.sendToQueue('purge-held', Buffer.from('m5'), { persistent: true });
    await ch.waitForConfirms();
    // The broker goes down with m0 still unacked.
    await broker.restart();
  }
  const ch = await openChannel(await connect(t, broker.url));
  assert.deepEqual(await drain(ch, 'purge-held'), [
    ['m0', true],
    ['m5', false],
  ]);
});

void test('a purged or deleted durable queue stays empty or gone after a restart (RabbitMQ)', async (t) => {
  const broker = await startBroker(t);
  {
    const conn = await connect(t, broker.url);
    const ch = await openConfirmChannel(conn);
    await ch.assertQueue('purged', { durable: true });
    await ch.assertQueue('deleted', { durable: true });
    for (let i = 0; i < 10; i++) {
      ch.sendToQueue('purged', Buffer.from(`p${i}`), { persistent: true });
      ch.sendToQueue('deleted', Buffer.from(`d${i}`), { persistent: true });
    }
    await ch.waitForConfirms();
    await ch.purgeQueue('purged');
    ch.sendToQueue('purged', Buffer.from('after-purge'), { persistent: true });
    await ch.waitForConfirms();
    await ch.deleteQueue('deleted');
    await conn.close();
  }
  await broker.restart();
  const conn = await connect(t, broker.url);
  const ch = await openChannel(conn);
  assert.deepEqual(await drain(ch, 'purged'), [['after-purge', false]]);
  const ch2 = await openChannel(conn);
  await assert.rejects(ch2.checkQueue('deleted'), (e: { code?: number }) => e.code === 404);
  // Re-creating it does not resurrect the old messages.
  const ch3 = await openChannel(conn);
  await ch3.assertQueue('deleted', { durable: true });
  assert.equal((await ch3.checkQueue('deleted')).messageCount, 0);
});

void test('every confirmed persistent message survives SIGKILL of the broker process (RabbitMQ publisher confirms contract)', async (t) => {
  const dir = tempDir(t);
  const first = await spawnBroker(t, dir);
  const conn = await amqp.connect(first.url);
  conn.on('error', () => {});
  const ch = await conn.createConfirmChannel();
  ch.on('error', () => {});
  await ch.assertQueue('crash', { durable: true });
  const confirmed = new Set<number>();
  let sent = 0;
  // Keep publishing; kill the broker while publishes are still in flight.
  const publishing = (async () => {
    try {
      for (;;) {
        const i = sent++;
        ch.sendToQueue('crash', Buffer.from(String(i)), { persistent: true }, (err) => {
          if (err === null) confirmed.add(i);
        });
        if (i % 50 === 49) await new Promise((r) => setImmediate(r));
      }
    } catch {
      // The channel died with the broker.
    }
  })();
  await until(() => confirmed.size >= 500, '500 confirms before the kill');
  await killBroker(first.child);
  await publishing;
  conn.close().catch(() => {});

  const second = await spawnBroker(t, dir);
  const c2 = await connect(t, second.url);
  const ch2 = await openChannel(c2);
  const present = new Map<number, number>();
  for (;;) {
    const m = await ch2.get('crash', { noAck: true });
    if (m === false) break;
    const i = Number(m.content.toString());
    present.set(i, (present.get(i) ?? 0) + 1);
  }
  const lost = [...confirmed].filter((i) => !present.has(i));
  const dupes = [...present].filter(([, n]) => n > 1);
  const phantom = [...present.keys()].filter((i) => i >= sent);
  assert.deepEqual(lost, [], `${lost.length} of ${confirmed.size} confirmed messages lost`);
  assert.deepEqual(dupes, []);
  assert.deepEqual(phantom, []);
  await killBroker(second.child, 'SIGTERM');
});
